package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testKey = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// secrets must appear in no metric, log line or error.
var secrets = append([]string{testKey, docspacetest.ProgressLinkSecret, "acme-backups", "eu-central-1"}, docspacetest.S3SecretValues...)

// stableMetrics are compared with the golden files; the scrape duration
// varies from run to run and is checked separately.
var stableMetrics = []string{
	"docspace_up", "docspace_api_status_code", "docspace_backup_schedule_configured",
	"docspace_backup_schedule_backups_stored", "docspace_backup_schedule_dump_enabled",
	"docspace_backup_schedule_period", "docspace_backup_schedule_hour", "docspace_backup_schedule_day",
	"docspace_backup_schedule_info", "docspace_backup_last_timestamp_seconds",
	"docspace_backup_schedule_next_timestamp_seconds", "docspace_backup_schedule_interval_seconds",
	"docspace_backup_task_running", "docspace_backup_task_progress_ratio", "docspace_backup_task_failed",
	"docspace_backup_task_status", "docspace_backup_task_warning",
	"docspace_collector_success", "docspace_backup_history_interval_seconds", "docspace_backup_history_backups",
	"docspace_backup_history_latest_timestamp_seconds", "docspace_backup_history_oldest_timestamp_seconds",
	"docspace_backup_history_refresh_timestamp_seconds", "docspace_backup_history_never_expiring_backups",
	"docspace_backup_history_earliest_expiry_timestamp_seconds", "docspace_backup_history_latest_expiry_timestamp_seconds",
	"docspace_backup_history_storage_backups",
	"docspace_portal_info", "docspace_portal_tenant_status",
	"docspace_restore_running", "docspace_restore_progress_ratio",
	"docspace_backup_month_backups", "docspace_backup_month_paid_backups",
}

// testNow is the clock of every golden scrape: Wednesday 2026-07-01 12:00 UTC.
var testNow = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	fake   *docspacetest.Portal
	portal *Portal
	logs   *bytes.Buffer
	logger *slog.Logger
}

// newFixture returns a target for a fake portal; mod changes its settings.
func newFixture(t *testing.T, mod ...func(*config.Portal)) *fixture {
	t.Helper()
	fake := docspacetest.NewPortal(testKey)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); srv.Close() })
	keyFile := filepath.Join(t.TempDir(), "api-key")
	if err := os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := config.Portal{Name: "test", URL: srv.URL, APIKeyFile: keyFile, Timeout: time.Second}
	for _, m := range mod {
		m(&settings)
	}
	m := NewMemory()
	m.now = func() time.Time { return testNow }
	portal, err := NewPortal(settings, m, Options{HistoryTimeout: 5 * time.Second, Pool: client.NewPool(2)})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	return &fixture{
		t:      t,
		fake:   fake,
		portal: portal,
		logs:   logs,
		logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// rebuild builds the portal again with o, as a reload does, with the
// same memory.
func (f *fixture) rebuild(o Options) {
	f.t.Helper()
	o.HistoryTimeout, o.Pool = 5*time.Second, client.NewPool(2)
	p, err := NewPortal(f.portal.config, f.portal.memory, o)
	if err != nil {
		f.t.Fatal(err)
	}
	f.portal = p
}

// collector makes one scrape, with a deadline, and returns its metrics.
func (f *fixture) collector(ctx context.Context) *Metrics {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Second)
		f.t.Cleanup(cancel)
	}
	return f.portal.Scrape(ctx, f.logger)
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fixture)
		dump     bool
		logWants string // a log line must contain this; "" means no log line at all
	}{
		{name: "schedule_weekly", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleWeekly) }},
		{name: "schedule_s3", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleS3) }},
		{name: "schedule_monthly", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleMonthly15) }},
		{name: "schedule_postgres", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.SchedulePostgres) }},
		{name: "schedule_dump", dump: true, setup: func(f *fixture) { f.fake.SetDumpSchedule(docspacetest.ScheduleDump) }},
		{name: "never_run", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleNeverRun) }},
		{name: "old_server", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleOldServer) }},
		{name: "unknown_enums", setup: func(f *fixture) {
			f.fake.SetSchedule(`{"storageType":9,"storageParams":{},"cronParams":{"period":7,"hour":5,"day":0},"backupsStored":2,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`)
		}, logWants: "invalid period 7"},
		{name: "no_schedule", setup: func(f *fixture) { f.fake.SetSchedule("") }},
		{name: "unauthorized", setup: override(docspacetest.Unauthorized()), logWants: "rejected the API key"},
		{name: "forbidden", setup: override(docspacetest.ForbiddenAccessDenied()), logWants: "owner or a DocSpace admin"},
		{name: "payment_required", setup: override(docspacetest.PaymentRequired()), logWants: "unpaid"},
		{name: "not_found", setup: override(docspacetest.NotFoundProblem()), logWants: "HTTP 404"},
		// The rate limit applies to every call of the key.
		{name: "rate_limited", setup: func(f *fixture) {
			for _, path := range []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathSettings} {
				f.fake.SetOverride(path, docspacetest.RateLimited())
			}
		}, logWants: "retry after 30s"},
		{name: "server_error", setup: override(docspacetest.ServerError("Object reference not set")), logWants: "HTTP 500"},
		{name: "bad_gateway_html", setup: override(docspacetest.BadGatewayHTML()), logWants: "HTTP 502"},
		{name: "service_unavailable_html", setup: override(docspacetest.ServiceUnavailableHTML()), logWants: "HTTP 503"},
		{name: "html_page", setup: override(docspacetest.HTMLPage()), logWants: "not JSON"},
		{name: "redirect", setup: override(docspacetest.Redirect("https://login.example.net/auth")), logWants: "https://login.example.net"},
		{name: "malformed", setup: override(docspacetest.Malformed()), logWants: "invalid JSON"},
		{name: "truncated", setup: override(docspacetest.Truncated()), logWants: "truncated"},
		{name: "wrong_types", setup: override(docspacetest.WrongTypes()), logWants: "malformed"},
		{name: "huge", setup: override(docspacetest.Huge(4 << 20)), logWants: "limit"},
		{name: "hung", setup: func(f *fixture) { f.fake.SetHang(true) }, logWants: "slow or hung"},
		{name: "task_running", setup: func(f *fixture) { f.fake.SetProgress(docspacetest.ProgressRunning) }},
		{name: "task_completed", setup: func(f *fixture) { f.fake.SetProgress(docspacetest.ProgressCompleted) }},
		{name: "task_failed", setup: func(f *fixture) { f.fake.SetProgress(docspacetest.ProgressFailed) }, logWants: "Access to the path is denied."},
		{name: "task_failted", setup: func(f *fixture) { f.fake.SetProgress(docspacetest.ProgressFailted) }, logWants: "task failed"},
		{name: "task_canceled", setup: func(f *fixture) { f.fake.SetProgress(docspacetest.ProgressCanceled) }},
		{name: "progress_forbidden", setup: func(f *fixture) {
			f.fake.SetOverride(docspacetest.PathProgress, docspacetest.ForbiddenAccessDenied())
		}, logWants: "backup progress"},
		{name: "settings_failing", setup: func(f *fixture) {
			f.fake.SetOverride(docspacetest.PathSettings, docspacetest.ServerError("boom"))
		}, logWants: "time zone is unknown"},
		{name: "settings_unknown_zone", setup: func(f *fixture) {
			f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(`{"timezone":"Mars/Olympus_Mons"}`))
		}, logWants: "Mars/Olympus_Mons"},
		{name: "settings_fixed_offset", setup: func(f *fixture) {
			f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(`{"timezone":"Mars/Olympus_Mons","utcOffset":"05:30:00"}`))
		}, logWants: "utc_offset=+05:30"},
		// A spec-valid answer: no timezone, a utcOffset that is no TimeSpan; utcHoursOffset gives the offset.
		{name: "settings_hours_offset", setup: func(f *fixture) {
			f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(`{"timezone":null,"utcOffset":"-8.5","utcHoursOffset":-8.5,"version":"3.5.0.1","standalone":false,"tenantStatus":0}`))
		}, logWants: "utc_offset=-08:30"},
		// While DocSpace restores a portal, the backup calls get 403 and the settings tell why.
		{name: "portal_restoring", setup: func(f *fixture) { f.fake.SetTenantStatus(docspacetest.TenantRestoring) }, logWants: "HTTP 403"},
		{name: "schedule_unlimited", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleUnlimited) }},
		{name: "schedule_out_of_range", setup: func(f *fixture) { f.fake.SetSchedule(docspacetest.ScheduleOutOfRange) },
			logWants: `out_of_range="hour 1700000000 (want 0-23), day -3 (want 1-7 for a weekly schedule, 1 = Sunday)"`},
		{name: "timezone_berlin", setup: func(f *fixture) { f.fake.SetTimezone("Europe/Berlin") }},
		{name: "timezone_windows", setup: func(f *fixture) { f.fake.SetTimezone("W. Europe Standard Time") }},
		// A restore: every call but getrestoreprogress gets 403.
		{name: "restore_running", setup: func(f *fixture) { f.fake.SetRestore(docspacetest.RestoreRunning) }, logWants: "restoring the portal"},
		// This month (July, UTC): two free backups, one paid, one deleted since.
		{name: "month_backups", setup: func(f *fixture) { f.fake.SetHistory(monthHistory()...) }},
		// DocSpace before 3.5: neither count call; the counts are left out.
		{name: "month_backups_old_server", setup: func(f *fixture) {
			f.fake.SetOverride(docspacetest.PathBackupsCountByPaid, docspacetest.NotFoundProblem())
			f.fake.SetOverride(docspacetest.PathBackupsCount, docspacetest.NotFoundProblem())
		}},
		{name: "never_run_kolkata", setup: func(f *fixture) {
			f.fake.SetTimezone("Asia/Kolkata")
			f.fake.SetSchedule(docspacetest.ScheduleNeverRun)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(p *config.Portal) { p.Dump = tt.dump })
			f.fake.SetSchedule(docspacetest.ScheduleWeekly)
			tt.setup(f)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			compareGolden(t, f.collector(ctx), tt.name)
			checkLogs(t, f.logs.String(), tt.logWants)
		})
	}
}

func override(r *docspacetest.Response) func(*fixture) {
	return func(f *fixture) { f.fake.SetOverride(docspacetest.PathSchedule, r) }
}

func compareGolden(t *testing.T, c *Metrics, name string) {
	t.Helper()
	golden := filepath.Join("testdata", name+".prom")
	if *update {
		writeGolden(t, c, golden)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./collector -update to create it)", err)
	}
	if err := testutil.CollectAndCompare(c, bytes.NewReader(want), stableMetrics...); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(c, "docspace_scrape_duration_seconds"); n != 1 {
		t.Errorf("docspace_scrape_duration_seconds appears %d times, want 1", n)
	}
	for _, s := range secrets {
		if bytes.Contains(want, []byte(s)) {
			t.Errorf("golden file %s contains the secret %q", golden, s)
		}
	}
}

// writeGolden writes the collector's exposition without the scrape duration.
func writeGolden(t *testing.T, c *Metrics, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(withoutDurations(exposition(t, c))), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exposition(t *testing.T, c *Metrics) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func checkLogs(t *testing.T, logs, want string) {
	t.Helper()
	if want == "" {
		// The calls of a scrape are logged at debug level: no other line.
		for line := range strings.Lines(logs) {
			if !strings.Contains(line, " level=DEBUG ") {
				t.Errorf("unexpected log output: %s", logs)
				break
			}
		}
	} else if !strings.Contains(logs, want) {
		t.Errorf("want a log line containing %q, got:\n%s", want, logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log output contains the secret %q:\n%s", s, logs)
		}
	}
	for _, s := range []string{"stack", "PermissionResolver", "<html", "X-Amz"} {
		if strings.Contains(logs, s) {
			t.Errorf("log output contains %q:\n%s", s, logs)
		}
	}
}

func TestConnectionFailures(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	tlsServer := httptest.NewTLSServer(docspacetest.NewPortal(testKey))
	defer tlsServer.Close()

	for name, url := range map[string]string{"refused": refusedURL, "tls": tlsServer.URL} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(p *config.Portal) { p.URL = url })
			compareGolden(t, f.collector(context.Background()), "no_response")
			checkLogs(t, f.logs.String(), map[string]string{"refused": "cannot reach", "tls": "TLS"}[name])
		})
	}
}

// withoutDurations drops the lines of the duration metrics, which vary.
func withoutDurations(text string) string {
	var keep []string
	for _, line := range strings.SplitAfter(text, "\n") {
		if !strings.Contains(line, "duration_seconds") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// helpOf returns the help text of d.
func helpOf(d *prometheus.Desc) string {
	_, help, _ := strings.Cut(d.String(), `help: "`)
	help, _, _ = strings.Cut(help, `"`)
	return help
}

// The next-slot values, worked out by hand for testNow (Wednesday
// 2026-07-01 12:00 UTC).
func TestNextBackupValues(t *testing.T) {
	tests := []struct {
		name, timezone, schedule string
		next                     string
		interval                 float64
		settings                 string // the settings answer, when not the fake's own
	}{
		// Last run Monday 2026-06-29 02:07:31 UTC; next Monday 02:00 local.
		{"weekly UTC", "UTC", docspacetest.ScheduleWeekly, "2026-07-06T02:00:00Z", 604800, ""},
		{"weekly Berlin", "Europe/Berlin", docspacetest.ScheduleWeekly, "2026-07-06T02:00:00+02:00", 604800, ""},
		// A DocSpace server on Windows without ICU sends Windows ids.
		{"weekly Windows id", "W. Europe Standard Time", docspacetest.ScheduleWeekly, "2026-07-06T02:00:00+02:00", 604800, ""},
		// An unknown zone: its UTC offset, fixed. The last run was on
		// Sunday 22:37:31 local time, so Monday 02:00 was due.
		{"weekly fixed offset", "", docspacetest.ScheduleWeekly, "2026-06-29T02:00:00-03:30", 604800,
			`{"timezone":"Atlantis Standard Time","utcOffset":"-03:30:00"}`},
		// Never run: base is 2026-06-30 23:59:59 as local wall clock.
		{"never run Kolkata", "Asia/Kolkata", docspacetest.ScheduleNeverRun, "2026-07-06T02:00:00+05:30", 604800, ""},
		// Daily 03:00, last run 2026-06-29 03:04:10 UTC: due 2026-06-30 03:00, overdue.
		{"daily overdue", "UTC", docspacetest.ScheduleDaily, "2026-06-30T03:00:00Z", 86400, ""},
		// Monthly on the 15th at 01:00, last run 2026-06-15 01:02:44 UTC.
		{"monthly Tokyo", "Asia/Tokyo", docspacetest.ScheduleMonthly15, "2026-07-15T01:00:00+09:00", 30 * 86400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetTimezone(tt.timezone)
			if tt.settings != "" {
				f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(tt.settings))
			}
			f.fake.SetSchedule(tt.schedule)
			want, err := time.Parse(time.RFC3339, tt.next)
			if err != nil {
				t.Fatal(err)
			}
			exp := fmt.Sprintf(`# HELP docspace_backup_schedule_next_timestamp_seconds %s
# TYPE docspace_backup_schedule_next_timestamp_seconds gauge
docspace_backup_schedule_next_timestamp_seconds %d
# HELP docspace_backup_schedule_interval_seconds %s
# TYPE docspace_backup_schedule_interval_seconds gauge
docspace_backup_schedule_interval_seconds %g
`, helpOf(nextBackupDesc), want.Unix(), helpOf(intervalDesc), tt.interval)
			if err := testutil.CollectAndCompare(f.collector(context.Background()), strings.NewReader(exp),
				"docspace_backup_schedule_next_timestamp_seconds", "docspace_backup_schedule_interval_seconds"); err != nil {
				t.Error(err)
			}
		})
	}
}

// The time zone is read with the first scrape and then at most once an
// hour; after a failure it is tried again after a few minutes, not on
// every scrape.
func TestTimezoneReadAtMostHourly(t *testing.T) {
	f := newFixture(t)
	f.fake.SetTimezone("Europe/Berlin")
	scrape := func() { testutil.CollectAndCount(f.collector(context.Background())) }
	settingsCalls := func() int { return f.fake.Requests(docspacetest.PathSettings) }
	for range 3 {
		scrape()
	}
	if n := settingsCalls(); n != 1 {
		t.Fatalf("3 scrapes read the settings %d times, want 1", n)
	}
	tc := &f.portal.memory.zone
	if next := tc.next.Sub(testNow); next != time.Hour {
		t.Errorf("next read in %v, want an hour", next)
	}

	// An hour later: read again; a failure keeps the known zone.
	tc.next = testNow.Add(-time.Second)
	f.fake.SetOverride(docspacetest.PathSettings, docspacetest.ServerError("down"))
	scrape()
	if n := settingsCalls(); n != 2 {
		t.Fatalf("after an hour: %d settings reads, want 2", n)
	}
	if tc.location == nil || tc.location.String() != "Europe/Berlin" {
		t.Errorf("a failed refresh dropped the known zone: %v", tc.location)
	}
	if next := tc.next.Sub(testNow); next != timezoneRetry {
		t.Errorf("after a failure the next read is in %v, want at most %v", next, timezoneRetry)
	}
	scrape()
	if n := settingsCalls(); n != 2 {
		t.Errorf("a scrape right after the failure read the settings again (%d reads)", n)
	}
}

// A failed task's error text is logged once per task, not once per scrape.
func TestTaskFailureLoggedOncePerTask(t *testing.T) {
	f := newFixture(t)
	scrape := func() { testutil.CollectAndCount(f.collector(context.Background())) }
	f.fake.SetProgress(docspacetest.ProgressFailed)
	for range 3 {
		scrape()
	}
	if n := strings.Count(f.logs.String(), "the latest DocSpace backup task failed"); n != 1 {
		t.Errorf("3 scrapes of one failed task logged it %d times, want 1:\n%s", n, f.logs)
	}
	f.fake.SetProgress(docspacetest.ProgressFailted) // another task
	scrape()
	scrape()
	if n := strings.Count(f.logs.String(), "the latest DocSpace backup task failed"); n != 2 {
		t.Errorf("a second failed task: %d log lines in all, want 2:\n%s", n, f.logs)
	}
}

// After a 429 with Retry-After, scrapes answer docspace_up 0 with status
// 429 without calling DocSpace until that time has passed.
func TestRetryAfterScrapes(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	f.fake.SetOverride(docspacetest.PathSchedule, docspacetest.RateLimited())
	f.fake.SetOverride(docspacetest.PathProgress, docspacetest.RateLimited())
	calls := func() int {
		return f.fake.Requests(docspacetest.PathSchedule) + f.fake.Requests(docspacetest.PathProgress) + f.fake.Requests(docspacetest.PathSettings)
	}
	want := `# HELP docspace_up ` + helpOf(upDesc) + `
# TYPE docspace_up gauge
docspace_up 0
# HELP docspace_api_status_code ` + helpOf(statusCodeDesc) + `
# TYPE docspace_api_status_code gauge
docspace_api_status_code 429
`
	for i := range 3 {
		if err := testutil.CollectAndCompare(f.collector(context.Background()), strings.NewReader(want),
			"docspace_up", "docspace_api_status_code"); err != nil {
			t.Errorf("scrape %d: %v", i+1, err)
		}
		if i == 0 {
			first := calls()
			if first < 1 {
				t.Fatalf("the first scrape made %d calls", first)
			}
			defer func() {
				if n := calls(); n != first {
					t.Errorf("the scrapes after the 429 made %d calls, want none", n-first)
				}
			}()
		}
	}
}

// With a rejected key, DocSpace answers the settings without a time zone:
// that is the same failure as the schedule's, logged once, and the log
// blames the key, not the portal's time zone.
func TestTimezoneWithRejectedKey(t *testing.T) {
	f := newFixture(t, func(p *config.Portal) {
		p.APIKeyFile = filepath.Join(t.TempDir(), "wrong-key")
		if err := os.WriteFile(p.APIKeyFile, []byte("sk-wrong\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	testutil.CollectAndCount(f.collector(context.Background()))
	logs := f.logs.String()
	for _, want := range []string{"rejected the API key", `call="backup schedule, backup progress, settings, backups count"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "level=ERROR"); n != 1 {
		t.Errorf("%d error lines, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "timezone setting") || strings.Contains(logs, "time zone in the portal") {
		t.Errorf("the log blames the portal's time zone for a rejected key:\n%s", logs)
	}
}

// A failing portal is logged when its state changes: the first failure,
// a change of cause, a reminder every 15 minutes while it stays failed, and
// its recovery; not on every scrape.
func TestFailuresLoggedOnChange(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	clock := testNow
	f.portal.memory.now = func() time.Time { return clock }
	scrape := func() { testutil.CollectAndCount(f.collector(context.Background())) }
	fail := func(r *docspacetest.Response) {
		f.fake.SetOverride(docspacetest.PathSchedule, r)
		f.fake.SetOverride(docspacetest.PathProgress, r)
	}
	// lines returns the new log lines at info and above: the debug lines
	// tell each scrape's calls, for the debug page.
	lines := func() []string {
		var out []string
		for line := range strings.Lines(f.logs.String()) {
			if !strings.Contains(line, "level=DEBUG") {
				out = append(out, line)
			}
		}
		f.logs.Reset()
		return out
	}
	// expect checks that the log has n new lines, holding each of want.
	expect := func(step string, n int, want ...string) {
		t.Helper()
		got := lines()
		if len(got) != n {
			t.Errorf("%s: %d log lines, want %d:\n%s", step, len(got), n, strings.Join(got, ""))
		}
		for _, w := range want {
			if !strings.Contains(strings.Join(got, ""), w) {
				t.Errorf("%s: the log lacks %q:\n%s", step, w, strings.Join(got, ""))
			}
		}
	}

	fail(docspacetest.Unauthorized())
	for range 10 {
		scrape()
	}
	expect("10 scrapes of a portal rejecting the key", 1, `level=ERROR msg="DocSpace scrape failed" portal=test`,
		`call="backup schedule, backup progress"`)
	clock = clock.Add(14 * time.Minute)
	scrape()
	expect("14 minutes later", 0)

	fail(docspacetest.ServerError("boom"))
	scrape()
	scrape()
	expect("another cause", 1, `msg="DocSpace scrape failed"`, "HTTP 500")

	clock = clock.Add(15 * time.Minute)
	scrape()
	scrape()
	expect("15 minutes later", 1, `level=ERROR msg="DocSpace scrape still failing"`, "since=2026-07-01T12:14:00Z")

	// Calls that fail differently are logged apart.
	f.fake.SetOverride(docspacetest.PathProgress, docspacetest.ForbiddenAccessDenied())
	scrape()
	expect("two causes", 2, `call="backup schedule"`, `call="backup progress"`)

	clock = clock.Add(3 * time.Minute)
	fail(nil)
	for range 3 {
		scrape()
	}
	expect("recovered", 1, `level=INFO msg="DocSpace scrape works again"`, "failed_for=3m0s")
}

// A failing time zone read is one of the scrape's failures: logged with
// what it costs and what to do, then a reminder every 15 minutes, and its
// recovery.
func TestTimezoneFailuresLoggedOnChange(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	clock := time.Now()
	f.portal.memory.now = func() time.Time { return clock }
	f.fake.SetOverride(docspacetest.PathSettings, docspacetest.ServerError("down"))
	for range 4 { // a read every timezoneRetry
		testutil.CollectAndCount(f.collector(context.Background()))
		clock = clock.Add(timezoneRetry)
	}
	if n := f.fake.Requests(docspacetest.PathSettings); n != 4 {
		t.Fatalf("%d settings reads, want 4", n)
	}
	if n := strings.Count(f.logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("4 failed reads over 20 minutes logged %d lines, want 2 (the first and a reminder):\n%s", n, f.logs)
	}
	if n := strings.Count(f.logs.String(), "next scheduled backup is not computed; give it in the portal's timezone setting"); n != 2 {
		t.Errorf("the advice appears %d times, want 2:\n%s", n, f.logs)
	}
	f.fake.SetOverride(docspacetest.PathSettings, nil)
	testutil.CollectAndCount(f.collector(context.Background()))
	if !strings.Contains(f.logs.String(), `msg="DocSpace scrape works again" portal=test configured_at="" failed="settings: server_error (HTTP 500)"`) {
		t.Errorf("no recovery line:\n%s", f.logs)
	}
}

// When the portal fails, the settings call fails for the same reason as the
// schedule call: one failure, one log line with one advice, and never the
// time zone's advice for what is the key's, the URL's or the portal's fault.
func TestOneFailureOneMessage(t *testing.T) {
	tests := []struct {
		name   string
		answer *docspacetest.Response
		hang   bool
		want   string
	}{
		{name: "wrong key", answer: docspacetest.Unauthorized(), want: "rejected the API key"},
		{name: "not found", answer: docspacetest.NotFoundProblem(), want: "HTTP 404"},
		{name: "HTML page", answer: docspacetest.HTMLPage(), want: "not JSON"},
		{name: "redirect", answer: docspacetest.Redirect("https://login.example.net/auth"), want: "redirect"},
		{name: "hung", hang: true, want: "slow or hung"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.hang {
				f.fake.SetHang(true)
			} else {
				for _, path := range []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathSettings} {
					f.fake.SetOverride(path, tt.answer)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			testutil.CollectAndCount(f.collector(ctx))
			var lines []string
			for line := range strings.Lines(f.logs.String()) {
				if !strings.Contains(line, "level=DEBUG") {
					lines = append(lines, line)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), strings.Join(lines, ""))
			}
			for _, want := range []string{tt.want, `call="backup schedule, backup progress, settings"`} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("the log line lacks %q:\n%s", want, lines[0])
				}
			}
			if strings.Contains(lines[0], "time zone") || strings.Contains(lines[0], "timezone") {
				t.Errorf("the log line gives the time zone's advice:\n%s", lines[0])
			}
		})
	}
}

// What stays wrong is logged when it changes, not on every scrape: a
// schedule whose next slot cannot be computed.
func TestPersistentProblemsLoggedOnce(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(`{"storageType":0,"storageParams":{},"cronParams":{"period":7,"hour":5,"day":0},"backupsStored":2,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`)
	for range 3 {
		testutil.CollectAndCount(f.collector(context.Background()))
	}
	if n := strings.Count(f.logs.String(), "cannot compute the next scheduled backup"); n != 1 {
		t.Errorf("3 scrapes of an invalid schedule logged it %d times, want 1:\n%s", n, f.logs)
	}
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	testutil.CollectAndCount(f.collector(context.Background()))
	f.fake.SetSchedule(`{"storageType":0,"storageParams":{},"cronParams":{"period":7,"hour":5,"day":0},"backupsStored":2,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`)
	testutil.CollectAndCount(f.collector(context.Background()))
	if n := strings.Count(f.logs.String(), "cannot compute the next scheduled backup"); n != 2 {
		t.Errorf("the problem came back and was logged %d times in all, want 2:\n%s", n, f.logs)
	}

}

// Every timestamp series goes through unixSeconds: it holds outside the
// years 1678 to 2262, where UnixNano overflows.
func TestUnixSeconds(t *testing.T) {
	for _, tt := range []struct {
		t    time.Time
		want float64
	}{
		{time.Date(2026, 6, 29, 2, 7, 31, 500000000, time.UTC), 1782698851.5},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), 253402300799},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), -14831769600},
	} {
		if got := unixSeconds(tt.t); got != tt.want {
			t.Errorf("unixSeconds(%v) = %g, want %g", tt.t, got, tt.want)
		}
	}
}

// The labels of the exporter's metrics are reserved as the collector
// describes them: no portal's labels may use them.
func TestMetricLabelsReserved(t *testing.T) {
	_, err := config.Parse([]byte("portals:\n  - {name: main, url: 'https://x', api_key_env: K, labels: {collector: a, period: b, storage_type: c, env: d}}\n"), "portals.yml")
	for _, label := range []string{"collector", "period", "storage_type"} {
		if want := "labels." + label + ": is a label of the exporter's metrics"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse = %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "labels.env") {
		t.Errorf("env is refused: %v", err)
	}
}

// An endpoint is one entry of the table: with it, a scrape makes its call
// and sends its samples, its collector_success and collector_duration, its
// debug line and its --collector switch, which turns it off.
func TestAnEndpointIsATableEntry(t *testing.T) {
	sizeDesc := desc("test_settings_bytes", "Size of the settings answer, for this test.")
	quota := &endpoint{
		name: "quota", call: "quota", path: settingsPath, flag: "Collect the test endpoint.",
		fetch: func(s *scrape) answer {
			return timed(func() (*json.RawMessage, error) {
				return client.Get[json.RawMessage](s.ctx, s.portal.client, settingsPath, "")
			})
		},
		collect: func(s *scrape, a answer) { s.send(sizeDesc, float64(len(*a.value.(*json.RawMessage)))) },
	}
	saved := endpoints
	endpoints = append(slices.Clone(saved), quota)
	t.Cleanup(func() { endpoints = saved })
	if sw := Switches(); !slices.Contains(sw, Switch{Name: "quota", Help: "Collect the test endpoint."}) {
		t.Errorf("Switches() = %v, want the quota switch", sw)
	}

	f := newFixture(t, func(p *config.Portal) { p.Timezone = "UTC" })
	f.rebuild(Options{})
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	text := exposition(t, f.collector(context.Background()))
	for _, want := range []string{`docspace_collector_success{collector="quota"} 1`, `docspace_collector_duration_seconds{collector="quota"}`, "docspace_test_settings_bytes "} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(f.logs.String(), `msg="quota call succeeded" portal=test configured_at="" path=/api/2.0/settings status_code=200`) {
		t.Errorf("the debug log lacks the quota call:\n%s", f.logs)
	}

	f.rebuild(Options{Off: map[string]bool{"quota": true}})
	f.logs.Reset()
	text = exposition(t, f.collector(context.Background()))
	if strings.Contains(text, `collector="quota"`) || strings.Contains(text, "docspace_test_settings_bytes") {
		t.Errorf("the switched-off endpoint was scraped:\n%s", text)
	}
	if !strings.Contains(f.logs.String(), `msg="quota not called: the quota collector is off"`) {
		t.Errorf("the debug log lacks the switched-off endpoint:\n%s", f.logs)
	}
}

// After a wrong key is fixed, the portal recovers at once: at the first
// scrape that works, the settings and history backoffs end, nothing is
// blamed on the key, the all-clear names the old failure; at the second,
// every series is back.
func TestRecoveryAfterAFixedKey(t *testing.T) {
	f, _ := historyFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	f.fake.SetTimezone("Europe/Berlin")
	keyFile := f.portal.config.APIKeyFile
	wrong := "sk-" + strings.Repeat("0", 64)
	if err := os.WriteFile(keyFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.scrape()
	f.waitHistory()
	if !strings.Contains(f.logs.String(), `msg="DocSpace scrape failed"`) {
		t.Fatalf("the wrong key was not reported:\n%s", f.logs)
	}

	if err := os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.logs.Reset()
	first := exposition(t, f.collector(context.Background()))
	if !strings.Contains(first, "docspace_up 1\n") {
		t.Fatalf("the first scrape after the fix:\n%s", first)
	}
	logs := f.logs.String()
	if strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, `msg="DocSpace scrape works again" portal=test configured_at="" failed="backup schedule, backup progress, settings, backups count: unauthorized (HTTP 401)"`) {
		t.Errorf("the first scrape after the fix logged:\n%s", logs)
	}
	f.waitHistory()
	second := exposition(t, f.collector(context.Background()))
	for _, want := range []string{`docspace_collector_success{collector="settings"} 1`, `docspace_collector_success{collector="history"} 1`,
		"docspace_backup_schedule_next_timestamp_seconds ", "docspace_backup_history_backups "} {
		if !strings.Contains(second, want) {
			t.Errorf("the second scrape after the fix lacks %q:\n%s", want, second)
		}
	}
	if strings.Contains(f.logs.String(), "rejected the API key") {
		t.Errorf("after the fix, the key is still blamed:\n%s", f.logs)
	}
}

// A newly failing portal logs one line for one failure: the first history
// call failing for the same reason as the scrape's calls is named in the
// scrape's line, and a later history call failing alike is not logged
// again; a history failing for a reason of its own is.
func TestOneFailureOneLine(t *testing.T) {
	f, clock := historyFixture(t)
	if err := os.WriteFile(f.portal.config.APIKeyFile, []byte("sk-"+strings.Repeat("0", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.scrape()
	f.waitHistory()
	logs := f.logs.String()
	if n := strings.Count(logs, "level=ERROR"); n != 1 || !strings.Contains(logs, `call="backup schedule, backup progress, settings, backups count, history"`) {
		t.Errorf("a newly failing portal logged %d ERROR lines, want 1 naming every call:\n%s", n, logs)
	}
	clock.add(time.Hour)
	f.logs.Reset()
	f.scrape()
	f.waitHistory()
	if strings.Contains(f.logs.String(), "reading the DocSpace backup history failed") {
		t.Errorf("a history call failing as the scrape does was logged again:\n%s", f.logs)
	}

	g, _ := historyFixture(t)
	g.fake.SetSchedule(docspacetest.ScheduleWeekly)
	g.fake.SetOverride(docspacetest.PathHistory, docspacetest.ForbiddenAccessDenied())
	g.scrape()
	g.waitHistory()
	if n := strings.Count(g.logs.String(), `msg="reading the DocSpace backup history failed"`); n != 1 {
		t.Errorf("a history failing on its own was logged %d times, want 1:\n%s", n, g.logs)
	}
}

// The task's status is exported as a number and its warning as 0/1; after
// cancelbackup DocSpace reports no job at all, and nothing claims the old
// task failed or ran.
func TestTaskStatusAndCancel(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	f.fake.SetProgress(docspacetest.ProgressFailted)
	text := exposition(t, f.collector(context.Background()))
	for _, want := range []string{"docspace_backup_task_status 4\n", "docspace_backup_task_warning 0\n", "docspace_backup_task_failed 1\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("a failed task: the scrape lacks %q:\n%s", want, text)
		}
	}
	f.fake.SetProgress(docspacetest.ProgressWarning)
	if text := exposition(t, f.collector(context.Background())); !strings.Contains(text, "docspace_backup_task_warning 1\n") || !strings.Contains(text, "docspace_backup_task_status 2\n") {
		t.Errorf("a task with a warning:\n%s", text)
	}

	f.fake.SetProgress(docspacetest.ProgressFailted)
	req, err := http.NewRequest(http.MethodPost, f.portal.config.URL+docspacetest.PathCancel, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	text = exposition(t, f.collector(context.Background()))
	if !strings.Contains(text, "docspace_backup_task_running 0\n") {
		t.Errorf("after cancelbackup the task runs:\n%s", text)
	}
	for _, absent := range []string{"docspace_backup_task_failed", "docspace_backup_task_status", "docspace_backup_task_progress_ratio"} {
		if strings.Contains(text, absent+" ") {
			t.Errorf("after cancelbackup the scrape still shows %s:\n%s", absent, text)
		}
	}
}
