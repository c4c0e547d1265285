package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

const otherKey = "sk-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

// twoPortals starts two fake portals, each accepting only its own key, and
// returns a config file for them.
func twoPortals(t *testing.T) (main, archive *docspacetest.Portal, configFile string, mainURL string) {
	t.Helper()
	main, mainSrv := newFakePortal(t)
	archive = docspacetest.NewPortal(otherKey)
	archive.SetDumpSchedule(docspacetest.ScheduleDump)
	archive.SetProgress(docspacetest.ProgressFailed)
	archiveSrv := newServer(t, archive)
	keyFile := writeFile(t, "main.key", testKey+"\n")
	configFile = writeFile(t, "portals.yml", fmt.Sprintf(`portals:
  - name: main
    url: %s
    api_key_file: %s
  - name: archive
    url: %s
    api_key_env: ARCHIVE_KEY
    dump: true
    timezone: Europe/Berlin
    timeout: 3s
`, mainSrv.URL, keyFile, archiveSrv.URL))
	return main, archive, configFile, mainSrv.URL
}

func TestProbe(t *testing.T) {
	main, archive, configFile, _ := twoPortals(t)
	e := startExporter(t, "http", []string{"--config.file=" + configFile}, "ARCHIVE_KEY="+otherKey)

	code, body := get(t, nil, e.url+"/probe?target=main")
	if code != 200 || !strings.Contains(body, "docspace_up 1\n") || !strings.Contains(body, `storage_type="thirdparty_consumer"`) {
		t.Errorf("probe main: HTTP %d\n%s", code, body)
	}
	if strings.Contains(body, "go_goroutines") || strings.Contains(body, "docspace_exporter_build_info") {
		t.Errorf("probe carries exporter self-metrics:\n%s", body)
	}
	assertNoSecrets(t, "probe main", body)

	code, body = get(t, nil, e.url+"/probe?target=archive")
	for _, want := range []string{"docspace_up 1\n", "docspace_backup_schedule_dump_enabled 1\n", "docspace_backup_task_failed 1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("probe archive lacks %q (HTTP %d):\n%s", want, code, body)
		}
	}
	if strings.Contains(body, `collector="settings"`) {
		t.Error("the archive portal has a fixed time zone but its settings were read")
	}

	for _, tt := range []struct{ query, want string }{
		{"", "missing target"},
		{"?target=nope", `unknown target "nope"`},
		{"?target=" + strings.TrimPrefix(e.url, "http://"), "never a URL"},
		{"?target=https://evil.example.com", "never a URL"},
	} {
		code, body := get(t, nil, e.url+"/probe"+tt.query)
		if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Errorf("/probe%s: HTTP %d %q, want 400 with %q", tt.query, code, body, tt.want)
		}
	}

	// Each key only ever went to its own portal.
	for name, tc := range map[string]struct {
		p   *docspacetest.Portal
		key string
	}{"main": {main, testKey}, "archive": {archive, otherKey}} {
		got := tc.p.Authorizations()
		if len(got) == 0 {
			t.Errorf("%s was never called", name)
		}
		for _, a := range got {
			if a != "Bearer "+tc.key {
				t.Errorf("portal %s saw Authorization %q", name, a)
			}
		}
	}

	// /metrics has the exporter's metrics and the reload state, no portal.
	_, metrics := get(t, nil, e.url+"/metrics")
	for _, want := range []string{"docspace_exporter_config_last_reload_successful 1\n", "docspace_exporter_build_info{"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "docspace_up") {
		t.Errorf("/metrics has portal metrics without --docspace.url:\n%s", metrics)
	}
	assertNoSecrets(t, "the log", e.stderr.String())
	if strings.Contains(e.stderr.String(), otherKey) {
		t.Error("the log has the archive key")
	}
}

// A hung portal never delays another.
func TestProbeIsolation(t *testing.T) {
	_, archive, configFile, _ := twoPortals(t)
	archive.SetHang(true)
	e := startExporter(t, "http", []string{"--config.file=" + configFile}, "ARCHIVE_KEY="+otherKey)

	var wg sync.WaitGroup
	wg.Go(func() {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/probe?target=archive", nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "3")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	})
	time.Sleep(100 * time.Millisecond) // the hung probe is in flight
	start := time.Now()
	for range 5 {
		if code, body := get(t, nil, e.url+"/probe?target=main"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
			t.Fatalf("probe main while archive hangs: HTTP %d\n%s", code, body)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("5 probes of the healthy portal took %v while another portal hung", d)
	}
	wg.Wait()
}

func TestReload(t *testing.T) {
	_, _, configFile, mainURL := twoPortals(t)
	e := startExporter(t, "http", []string{"--config.file=" + configFile}, "ARCHIVE_KEY="+otherKey)
	post := func() (int, string) {
		resp, err := http.Post(e.url+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = fmt.Fprint(b, readAll(resp))
		return resp.StatusCode, b.String()
	}
	reloadMetric := func() string {
		_, m := get(t, nil, e.url+"/metrics")
		for _, l := range strings.Split(m, "\n") {
			if strings.HasPrefix(l, "docspace_exporter_config_last_reload_successful ") {
				return l
			}
		}
		return ""
	}

	if code, _ := get(t, nil, e.url+"/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: HTTP %d, want 405", code)
	}

	// A good change: a third portal appears.
	good, _ := os.ReadFile(configFile)
	keyFile := writeFile(t, "third.key", testKey)
	withThird := string(good) + fmt.Sprintf("  - name: third\n    url: %s\n    api_key_file: %s\n", mainURL, keyFile)
	writeConfig(t, configFile, withThird)
	if code, body := post(); code != 200 {
		t.Fatalf("reload: HTTP %d %s", code, body)
	}
	if code, body := get(t, nil, e.url+"/probe?target=third"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("probe third after reload: HTTP %d\n%s", code, body)
	}

	// A bad change is refused and the last good configuration stays.
	writeConfig(t, configFile, withThird+"    surprise: true\n")
	code, body := post()
	if code != http.StatusInternalServerError || !strings.Contains(body, "surprise") || !strings.Contains(body, "portals.yml:14:") {
		t.Errorf("bad reload: HTTP %d %q", code, body)
	}
	if got := reloadMetric(); got != "docspace_exporter_config_last_reload_successful 0" {
		t.Errorf("after a bad reload: %q", got)
	}
	if code, _ := get(t, nil, e.url+"/probe?target=third"); code != 200 {
		t.Errorf("the last good configuration was dropped: HTTP %d", code)
	}

	// SIGHUP reloads too.
	writeConfig(t, configFile, string(good))
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reloadMetric() != "docspace_exporter_config_last_reload_successful 1" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get(t, nil, e.url+"/probe?target=third"); code != http.StatusBadRequest {
		t.Errorf("after SIGHUP with third removed: HTTP %d, want 400", code)
	}
	if !strings.Contains(e.waitLog("reloaded the config file"), "reloaded the config file") {
		t.Errorf("no reload in the log:\n%s", e.stderr)
	}
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheck(t *testing.T) {
	_, _, configFile, _ := twoPortals(t)
	run := func(env []string, args ...string) (int, string) {
		cmd := exec.Command(binary, args...)
		cmd.Env = env
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := run([]string{"ARCHIVE_KEY=" + otherKey}, "--config.file="+configFile, "--config.check"); code != 0 || out != "ok\n" {
		t.Errorf("good file: exit %d %q", code, out)
	}
	code, out := run(nil, "--config.file="+configFile, "--config.check")
	if code != 1 || !strings.Contains(out, "ARCHIVE_KEY") || !strings.Contains(out, "archive") {
		t.Errorf("unset key variable: exit %d %q", code, out)
	}
	bad := writeFile(t, "bad.yml", "portals:\n  - name: x\n    url: https://p.example.com\n    api_key: "+testKey+"\n")
	code, out = run(nil, "--config.file="+bad, "--config.check")
	if code != 1 || !strings.Contains(out, "bad.yml:4:") || !strings.Contains(out, "api_key_file") {
		t.Errorf("key in the file: exit %d %q", code, out)
	}
	assertNoSecrets(t, "--config.check output", out)
	if code, out := run(nil, "--config.check"); code != 2 || !strings.Contains(out, "needs --config.file") {
		t.Errorf("no file: exit %d %q", code, out)
	}
	// Serving with a bad file fails at start.
	if code, out := run(nil, "--config.file="+bad); code != 2 || !strings.Contains(out, "api_key_file") {
		t.Errorf("serving a bad file: exit %d %q", code, out)
	}
}

// Without a config file, SIGHUP does not stop the exporter and there is no
// /probe or /-/reload.
func TestSingleportalSIGHUP(t *testing.T) {
	_, srv := newFakePortal(t)
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL}, "DOCSPACE_API_KEY="+testKey)
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e.waitLog("nothing to reload")
	if code, body := get(t, nil, e.url+"/metrics"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("after SIGHUP: HTTP %d\n%s", code, body)
	}
	for _, path := range []string{"/probe?target=main", "/-/reload"} {
		if code, _ := get(t, nil, e.url+path); code != http.StatusNotFound {
			t.Errorf("%s without --config.file: HTTP %d, want 404", path, code)
		}
	}
	if _, landing := get(t, nil, e.url+"/"); strings.Contains(landing, "/probe") {
		t.Error("the landing page offers /probe without --config.file")
	}
}
