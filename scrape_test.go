package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

func TestScrapeTimeout(t *testing.T) {
	const portal = 10 * time.Second
	tests := []struct {
		header string
		offset time.Duration
		want   time.Duration
		err    string
	}{
		{"", 500 * time.Millisecond, portal, ""},
		{"15", 500 * time.Millisecond, portal, ""},
		{"5", 500 * time.Millisecond, 4500 * time.Millisecond, ""},
		{"0.4", 500 * time.Millisecond, 200 * time.Millisecond, ""},
		{"1e10", 0, portal, ""}, // would overflow a Duration
		{"1e300", 0, portal, ""},
		{"9.3e9", time.Second, portal, ""},
		{"0.02", 0, 20 * time.Millisecond, ""},
		{"1e-9", 0, 0, `X-Prometheus-Scrape-Timeout-Seconds header "1e-9" is too small: it leaves 1ns for DocSpace, less than the 10ms any call takes; raise the scrape timeout`},
		{"0.015", 500 * time.Millisecond, 0, `X-Prometheus-Scrape-Timeout-Seconds header "0.015" is too small: it leaves 7.5ms for DocSpace, less than the 10ms any call takes; raise the scrape timeout`},
		{"0", 0, 0, `invalid X-Prometheus-Scrape-Timeout-Seconds header "0": want a positive number of seconds`},
		{"soon", 0, 0, `invalid X-Prometheus-Scrape-Timeout-Seconds header "soon": want a positive number of seconds`},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tt.header != "" {
			r.Header.Set(scrapeTimeoutHeader, tt.header)
		}
		got, err := scrapeTimeout(r, portal, tt.offset)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("header %q, offset %v: %v, %v; want %v", tt.header, tt.offset, got, err, tt.want)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("header %q, offset %v: error %v\nwant %s", tt.header, tt.offset, err, tt.err)
		}
	}
}

// FuzzScrapeTimeout: whatever Prometheus (or anyone) sends as the scrape
// timeout header, the deadline is at least minScrapeTimeout and never
// longer than the portal's timeout, or the header is refused.
func FuzzScrapeTimeout(f *testing.F) {
	for _, seed := range []string{"", "10", "0.4", "2.5", "0", "-1", "NaN", "+Inf", "1e308", "1e10", "1e-9", "0x10", "1_000", " 5", "5s"} {
		f.Add(seed, int64(500*time.Millisecond))
		f.Add(seed, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, offset int64) {
		if offset < 0 || offset > int64(time.Hour) {
			return // refused at start
		}
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Header.Set(scrapeTimeoutHeader, header)
		const portalTimeout = 10 * time.Second
		got, err := scrapeTimeout(r, portalTimeout, time.Duration(offset))
		if err != nil {
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes: %.80s...", len(err.Error()), err)
			}
			return
		}
		if got < minScrapeTimeout || got > portalTimeout {
			t.Errorf("header %q, offset %v: timeout %v, want in [%v, %v]", header, time.Duration(offset), got, minScrapeTimeout, portalTimeout)
		}
	})
}

// healthyTarget starts a fake portal with the S3 schedule (and a completed
// task whose link is signed) and builds its target as a config entry is.
func healthyTarget(t *testing.T, timeout time.Duration) (*docspacetest.Portal, *collector.Portal) {
	t.Helper()
	fake, srv := newFakePortal(t)
	fake.SetProgress(docspacetest.ProgressCompleted)
	keyFile := writeFile(t, "api-key", testKey+"\n")
	target, err := buildTarget(config.Portal{Name: "main", URL: srv.URL, APIKeyFile: keyFile, Timeout: timeout},
		testDefaults, testOptions(collector.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return fake, target
}

func testLogger() (*slog.Logger, *syncBuffer) {
	logs := &syncBuffer{}
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs
}

// scrapeWith sends one request to h and checks that no secret was served.
func scrapeWith(t *testing.T, h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	assertNoLeaks(t, method+" "+target, rec.Body.String())
	return rec
}

func assertNoLeaks(t *testing.T, what, text string) {
	t.Helper()
	assertNoSecrets(t, what, text)
	if strings.Contains(text, docspacetest.ProgressLinkSecret) {
		t.Errorf("%s contains the download link's signature", what)
	}
}

// decodeAs decodes body in format, with expfmt's own decoder, into its
// families by name; a family served twice is an error.
func decodeAs(t *testing.T, body []byte, format expfmt.Format) map[string]*dto.MetricFamily {
	t.Helper()
	dec := expfmt.NewDecoder(bytes.NewReader(body), format)
	fams := map[string]*dto.MetricFamily{}
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding as %s: %v\n%.300q", format, err, body)
		}
		if _, dup := fams[mf.GetName()]; dup {
			t.Errorf("%s served twice", mf.GetName())
		}
		fams[mf.GetName()] = mf
	}
	if len(fams) == 0 {
		t.Fatalf("no metric family decoded as %s from %.300q", format, body)
	}
	return fams
}

// checkSample checks that name has exactly one series with exactly labels,
// and that its value is want.
func checkSample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	t.Helper()
	var values []float64
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if maps.Equal(got, labels) {
			values = append(values, m.GetGauge().GetValue()+m.GetCounter().GetValue()+m.GetUntyped().GetValue())
		}
	}
	if len(values) != 1 || values[0] != want {
		t.Errorf("%s %v: values %v, want exactly one of %v", name, labels, values, want)
	}
}

func TestServeFormats(t *testing.T) {
	_, target := healthyTarget(t, 5*time.Second)
	logger, logs := testLogger()
	s := newScrapeHandler(logger, 500*time.Millisecond, nil)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, target, nil) })
	for _, tt := range []struct {
		name, accept string
		format       expfmt.Format
		contentType  string
	}{
		{"no accept", "", expfmt.FmtText, "text/plain; version=0.0.4"},
		{"text", "text/plain;version=0.0.4", expfmt.FmtText, "text/plain; version=0.0.4"},
		{"openmetrics", "application/openmetrics-text;version=1.0.0", expfmt.FmtOpenMetrics_1_0_0, "application/openmetrics-text; version=1.0.0"},
		{"protobuf", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
			expfmt.FmtProtoDelim, "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := scrapeWith(t, handler, http.MethodGet, "/metrics", map[string]string{"Accept": tt.accept, scrapeTimeoutHeader: "10"})
			ct := rec.Header().Get("Content-Type")
			if rec.Code != http.StatusOK || !strings.HasPrefix(ct, tt.contentType) || expfmt.ResponseFormat(rec.Header()) != tt.format {
				t.Fatalf("HTTP %d, Content-Type %q; want 200, %q", rec.Code, ct, tt.contentType)
			}
			if enc := rec.Header().Get("Content-Encoding"); enc != "" {
				t.Errorf("Content-Encoding %q with compression disabled", enc)
			}
			body := rec.Body.String()
			if tt.format == expfmt.FmtOpenMetrics_1_0_0 && !strings.HasSuffix(body, "# EOF\n") {
				t.Errorf("OpenMetrics without the # EOF terminator:\n%s", body)
			}
			if tt.format == expfmt.FmtProtoDelim && strings.Contains(body, "# HELP") {
				t.Errorf("the protobuf answer is text:\n%s", body)
			}
			fams := decodeAs(t, rec.Body.Bytes(), tt.format)
			checkSample(t, fams, "docspace_up", nil, 1)
			checkSample(t, fams, "docspace_api_status_code", nil, 200)
			checkSample(t, fams, "docspace_backup_schedule_info", map[string]string{"period": "weekly", "storage_type": "thirdparty_consumer"}, 1)
			checkSample(t, fams, "docspace_backup_task_failed", nil, 0)
		})
	}
	assertNoLeaks(t, "the log", logs.String())
}

func TestServeMergesExporterMetrics(t *testing.T) {
	for _, withRegisterer := range []bool{true, false} {
		t.Run(fmt.Sprintf("registerer %v", withRegisterer), func(t *testing.T) {
			_, target := healthyTarget(t, 5*time.Second)
			self := prometheus.NewRegistry()
			gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "docspace_exporter_test_gauge", Help: "A test gauge."})
			gauge.Set(42)
			self.MustRegister(gauge)
			var registerer prometheus.Registerer
			if withRegisterer {
				registerer = self
			}
			logger, _ := testLogger()
			s := newScrapeHandler(logger, 500*time.Millisecond, registerer)
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, target, self) })
			for scrape := 1; scrape <= 2; scrape++ { // promhttp registers its counter again on each scrape
				rec := scrapeWith(t, handler, http.MethodGet, "/metrics", map[string]string{"Accept": string(expfmt.FmtProtoDelim)})
				fams := decodeAs(t, rec.Body.Bytes(), expfmt.FmtProtoDelim)
				checkSample(t, fams, "docspace_up", nil, 1)
				checkSample(t, fams, "docspace_exporter_test_gauge", nil, 42)
				const errorsTotal = "promhttp_metric_handler_errors_total"
				if _, ok := fams[errorsTotal]; ok != withRegisterer {
					t.Errorf("scrape %d: %s served: %v, want %v", scrape, errorsTotal, ok, withRegisterer)
				}
				if withRegisterer {
					checkSample(t, fams, errorsTotal, map[string]string{"cause": "gathering"}, 0)
					checkSample(t, fams, errorsTotal, map[string]string{"cause": "encoding"}, 0)
				}
			}
		})
	}
}

func TestServeInvalidTimeoutHeader(t *testing.T) {
	fake, target := healthyTarget(t, 5*time.Second)
	logger, logs := testLogger()
	s := newScrapeHandler(logger, 500*time.Millisecond, nil)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, target, nil) })
	rec := scrapeWith(t, handler, http.MethodGet, "/metrics", map[string]string{scrapeTimeoutHeader: "soon"})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `header "soon": want a positive number of seconds`) {
		t.Errorf("HTTP %d, want 400 with the reason:\n%s", rec.Code, rec.Body)
	}
	for _, path := range []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathSettings} {
		if n := fake.Requests(path); n != 0 {
			t.Errorf("DocSpace was called %d times on %s", n, path)
		}
	}
	if log := logs.String(); !strings.Contains(log, scrapeTimeoutHeader) || !strings.Contains(log, "soon") {
		t.Errorf("the log does not name the header and its value:\n%s", log)
	}
	assertNoLeaks(t, "the log", logs.String())
}

func TestServeHungPortalAnswersBeforeDeadline(t *testing.T) {
	fake, target := healthyTarget(t, 10*time.Second)
	fake.SetHang(true)
	logger, logs := testLogger()
	s := newScrapeHandler(logger, 500*time.Millisecond, nil)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, target, nil) })
	start := time.Now()
	rec := scrapeWith(t, handler, http.MethodGet, "/metrics", map[string]string{scrapeTimeoutHeader: "1"})
	// The deadline is 1s - 0.5s offset; Prometheus would give up at 1s.
	if d := time.Since(start); d >= time.Second || d < 400*time.Millisecond {
		t.Errorf("answered after %v, want about 500ms", d)
	}
	if fake.Requests(docspacetest.PathSchedule) == 0 {
		t.Error("the hung portal was never called")
	}
	if rec.Code != http.StatusOK {
		t.Errorf("HTTP %d, want 200", rec.Code)
	}
	checkSample(t, decodeAs(t, rec.Body.Bytes(), expfmt.FmtText), "docspace_up", nil, 0)
	assertNoLeaks(t, "the log", logs.String())
}

func TestProbeHandler(t *testing.T) {
	fake, target := healthyTarget(t, 5*time.Second)
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	var asked []string
	lookup := func(name string) *collector.Portal {
		asked = append(asked, name)
		if name == "main" {
			return target
		}
		return nil
	}
	logger, logs := testLogger()
	probe := newScrapeHandler(logger, 500*time.Millisecond, nil).probe(lookup)
	for _, tt := range []struct {
		query    string
		code     int
		want     string
		asked    []string
		requests int // calls of the fake's schedule so far
	}{
		{"", http.StatusBadRequest, "missing target", nil, 0},
		{"?target=nope", http.StatusBadRequest, `unknown target "nope"`, []string{"nope"}, 0},
		{"?target=https://evil.example.com", http.StatusBadRequest, "never a URL", []string{"https://evil.example.com"}, 0},
		{"?target=" + url.QueryEscape(evil.URL), http.StatusBadRequest, "never a URL", []string{evil.URL}, 0},
		{"?target=main", http.StatusOK, "docspace_up 1\n", []string{"main"}, 1},
	} {
		asked = nil
		rec := scrapeWith(t, probe, http.MethodGet, "/probe"+tt.query, nil)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("/probe%s: HTTP %d %q, want %d with %q", tt.query, rec.Code, rec.Body.String(), tt.code, tt.want)
		}
		if !equalStrings(asked, tt.asked) {
			t.Errorf("/probe%s: looked up %q, want %q", tt.query, asked, tt.asked)
		}
		if n := fake.Requests(docspacetest.PathSchedule); n != tt.requests {
			t.Errorf("after /probe%s: the portal was called %d times, want %d", tt.query, n, tt.requests)
		}
	}
	if n := evilHits.Load(); n != 0 {
		t.Errorf("the URL given as target was called %d times", n)
	}
	assertNoLeaks(t, "the log", logs.String())
}

func equalStrings(a, b []string) bool {
	return len(a) == len(b) && strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestMethods(t *testing.T) {
	_, target := healthyTarget(t, 5*time.Second)
	configFile := writeFile(t, "portals.yml", fmt.Sprintf("portals:\n  - name: main\n    url: %s\n    api_key_file: %s\n",
		strings.TrimSuffix(target.Config().URL, "/"), target.Config().APIKeyFile))
	portals, err := config.NewHolder(configFile, func(cfg *config.Config) (*fleet, error) {
		return newFleet(cfg, nil, testDefaults, testOptions(collector.Options{}))
	})
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := testLogger()
	build := func(portals *config.Holder[*fleet], reload func() error) http.Handler {
		self := prometheus.NewRegistry()
		mux, err := newMux(routes{metricsPath: "/metrics", portal: target, portals: portals, self: self, selfMetrics: true,
			scrapes: newScrapeHandler(logger, 500*time.Millisecond, self), reload: reload})
		if err != nil {
			t.Fatal(err)
		}
		return mux
	}
	reloads := 0
	withFile := build(portals, func() error { reloads++; return portals.Reload() })
	withoutFile := build(nil, func() error { t.Error("reload called without a config file"); return nil })

	for _, tt := range []struct {
		name         string
		mux          http.Handler
		method, path string
		code         int
		allow, want  string
	}{
		{"POST metrics", withFile, http.MethodPost, "/metrics", http.StatusMethodNotAllowed, "GET, HEAD", "use GET"},
		{"PUT metrics", withoutFile, http.MethodPut, "/metrics", http.StatusMethodNotAllowed, "GET, HEAD", "use GET"},
		{"HEAD metrics", withFile, http.MethodHead, "/metrics", http.StatusOK, "", ""},
		{"GET metrics", withFile, http.MethodGet, "/metrics", http.StatusOK, "", "docspace_up 1\n"},
		{"POST probe", withFile, http.MethodPost, "/probe?target=main", http.StatusMethodNotAllowed, "GET, HEAD", "use GET"},
		{"GET probe", withFile, http.MethodGet, "/probe?target=main", http.StatusOK, "", "docspace_up 1\n"},
		{"GET reload", withFile, http.MethodGet, "/-/reload", http.StatusMethodNotAllowed, "POST", "reload with POST"},
		{"POST reload", withFile, http.MethodPost, "/-/reload", http.StatusOK, "", "ok\n"},
		{"no probe without a file", withoutFile, http.MethodGet, "/probe?target=main", http.StatusBadRequest, "",
			"/probe serves the portals of --config.file, and this exporter has none: scrape /metrics for the portal of --docspace.url"},
		{"no reload without a file", withoutFile, http.MethodPost, "/-/reload", http.StatusNotFound, "", ""},
	} {
		rec := scrapeWith(t, tt.mux, tt.method, tt.path, nil)
		if rec.Code != tt.code || rec.Header().Get("Allow") != tt.allow || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: HTTP %d, Allow %q, body %.200q; want %d, Allow %q, %q",
				tt.name, rec.Code, rec.Header().Get("Allow"), rec.Body.String(), tt.code, tt.allow, tt.want)
		}
	}
	if reloads != 1 {
		t.Errorf("reload called %d times, want 1", reloads)
	}
	assertNoLeaks(t, "the log", logs.String())
}
