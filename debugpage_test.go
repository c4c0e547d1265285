package main

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// stackFrames are parts of the server stack traces in the fake portal's
// error envelopes: never shown.
var stackFrames = []string{"PermissionResolver", "BackupService.GetScheduleAsync", "ActionMethodExecutor", "AuthorizingException"}

func assertNoDebugLeaks(t *testing.T, what, text string) {
	t.Helper()
	assertNoLeaks(t, what, text)
	for _, s := range stackFrames {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the server stack trace (%q)", what, s)
		}
	}
}

// A debug request answers with the account of the scrape: each call, its
// status, duration, error kind and advice, then the metrics; never a
// secret of the portal's answers or a stack trace of its errors.
func TestProbeDebug(t *testing.T) {
	fake, srv := newFakePortal(t)                    // S3 storageParams
	fake.SetProgress(docspacetest.ProgressCompleted) // a signed download link
	fake.SetOverride(docspacetest.PathSettings, docspacetest.ServerError("Object reference not set to an instance of an object."))
	fake.SetOverride(docspacetest.PathHistory, docspacetest.ForbiddenAccessDenied())
	keyFile := writeFile(t, "api-key", testKey+"\n")
	target, err := buildTarget(config.Portal{Name: "main", URL: srv.URL, APIKeyFile: keyFile, Timeout: 5 * time.Second},
		config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}, testOptions(collector.Options{HistoryTimeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil)) // the exporter's log at info level
	probe := newScrapeHandler(logger, 500*time.Millisecond, nil).probe(func(name string) *collector.Portal {
		if name == "main" {
			return target
		}
		return nil
	})

	rec := scrapeWith(t, probe, http.MethodGet, "/probe?target=main&debug=true", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("HTTP %d, Content-Type %q, want 200 text/plain", rec.Code, rec.Header().Get("Content-Type"))
	}
	log, metrics, ok := strings.Cut(body, "\nMetrics that would have been served:\n")
	if !ok {
		t.Fatalf("no metrics section:\n%s", body)
	}
	for _, want := range []string{
		`Scrape of portal "main" (http://127.0.0.1:`,
		"deadline 5s.",
		`msg="schedule call succeeded" portal=main configured_at=`,
		"path=/api/2.0/backup/getbackupschedule status_code=200 duration=",
		`msg="progress call succeeded"`,
		`msg="settings call failed"`,
		"path=/api/2.0/settings status_code=500",
		`kind=server_error advice="HTTP 500 (\"Object reference not set to an instance of an object.\"): the portal has a server-side problem; check the DocSpace services"`,
		"path=/api/2.0/backup/getbackuphistory interval=1h0m0s",
		"last_call_status_code=403",
		`kind=forbidden advice="HTTP 403 (\"Access denied\"): the key's creator must be the portal owner or a DocSpace admin`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	for _, want := range []string{"# TYPE docspace_up gauge\ndocspace_up 1\n", `docspace_collector_success{collector="settings"} 0`,
		`docspace_collector_success{collector="history"} 0`, `storage_type="thirdparty_consumer"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the metrics lack %q:\n%s", want, metrics)
		}
	}
	assertNoDebugLeaks(t, "the debug answer", body)
	// The exporter's log gets the errors at its own level: no debug lines.
	if l := logs.String(); strings.Contains(l, "call succeeded") {
		t.Errorf("a debug request's lines reached the exporter's info log:\n%s", l)
	}

	// A portal that refuses the key, with the error envelope and its stack.
	fake.SetOverride(docspacetest.PathSchedule, docspacetest.ForbiddenAccessDenied())
	rec = scrapeWith(t, probe, http.MethodGet, "/probe?target=main&debug=true", nil)
	body = rec.Body.String()
	for _, want := range []string{`msg="schedule call failed"`, "status_code=403", "kind=forbidden", "docspace_up 0\n", "docspace_api_status_code 403\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("the debug answer for a 403 lacks %q:\n%s", want, body)
		}
	}
	assertNoDebugLeaks(t, "the debug answer for a 403", body)

	// An invalid scrape timeout header is told, and nothing is called.
	before := fake.Requests(docspacetest.PathSchedule)
	rec = scrapeWith(t, probe, http.MethodGet, "/probe?target=main&debug=true", map[string]string{scrapeTimeoutHeader: "soon"})
	if body := rec.Body.String(); rec.Code != http.StatusBadRequest || !strings.Contains(body, "invalid X-Prometheus-Scrape-Timeout-Seconds header") {
		t.Errorf("the debug answer for a bad header: %d, does not say why:\n%s", rec.Code, body)
	}
	if n := fake.Requests(docspacetest.PathSchedule) - before; n != 0 {
		t.Errorf("the portal was called %d times for a scrape that cannot start", n)
	}
	// debug=false and other values are ordinary scrapes.
	rec = scrapeWith(t, probe, http.MethodGet, "/probe?target=main&debug=false", nil)
	if strings.Contains(rec.Body.String(), "Log of the scrape") || !strings.Contains(rec.Body.String(), "docspace_up 0\n") {
		t.Errorf("debug=false is not an ordinary scrape:\n%s", rec.Body.String())
	}
	assertNoDebugLeaks(t, "the exporter's log", logs.String())
}

// /metrics?debug=true gives the account of the scrape of the portal of
// --docspace.url, without the exporter's own metrics.
func TestBinaryMetricsDebug(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetProgress(docspacetest.ProgressCompleted)
	fake.SetOverride(docspacetest.PathHistory, docspacetest.ServerError("Could not find a part of the path."))
	keyFile := writeFile(t, "api-key", testKey+"\n")
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--docspace.api-key-file=" + keyFile})

	code, body := get(t, nil, e.url+"/metrics?debug=true")
	if code != http.StatusOK {
		t.Errorf("HTTP %d", code)
	}
	for _, want := range []string{`Scrape of portal "default" (http://127.0.0.1:`, "configured at --docspace.url", `msg="schedule call succeeded"`,
		"last_call_status_code=500", "kind=server_error", "Metrics that would have been served:", "docspace_up 1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics?debug=true lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "go_goroutines") || strings.Contains(body, "docspace_exporter_build_info") {
		t.Errorf("/metrics?debug=true shows the exporter's own metrics:\n%s", body)
	}
	assertNoDebugLeaks(t, "/metrics?debug=true", body)
	assertNoDebugLeaks(t, "the exporter's log", e.stderr.String())
}

// The debug page tells why the latest task failed, and the times as people
// read them: the next backup overdue, the newest stored backup's age.
func TestProbeDebugInWords(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetProgress(docspacetest.ProgressFailed)
	fake.SetHistory(docspacetest.HistoryWeekly...)
	keyFile := writeFile(t, "api-key", testKey+"\n")
	target, err := buildTarget(config.Portal{Name: "main", URL: srv.URL, APIKeyFile: keyFile, Timeout: 5 * time.Second, Timezone: "UTC"},
		config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}, testOptions(collector.Options{HistoryTimeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	probe := newScrapeHandler(slog.New(slog.DiscardHandler), 500*time.Millisecond, nil).probe(func(string) *collector.Portal { return target })
	body := scrapeWith(t, probe, http.MethodGet, "/probe?target=main&debug=true", nil).Body.String()
	for _, want := range []string{`task_error="Access to the path is denied."`, "\nIn words:\n",
		"next scheduled backup: ", ", overdue by ", "last scheduled backup started: 2026-", " ago\n", "newest stored backup: "} {
		if !strings.Contains(body, want) {
			t.Errorf("the debug page lacks %q:\n%s", want, body)
		}
	}
	assertNoDebugLeaks(t, "the debug page", body)
}

func TestRoughly(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 12 * time.Second: "12s", 4*time.Minute + 10*time.Second: "4m 10s", 3*time.Hour + 5*time.Minute + 7*time.Second: "3h 5m",
		54*time.Hour + 30*time.Minute: "2d 6h", 48 * time.Hour: "2d 0h",
	} {
		if got := roughly(d); got != want {
			t.Errorf("roughly(%v) = %q, want %q", d, got, want)
		}
	}
}
