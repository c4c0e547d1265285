package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
	note := "note: the keys of api_key_env (ARCHIVE_KEY) were checked in the environment this check runs in, which may not be the exporter's " +
		"(a systemd unit's Environment=, a container's env): run the check there to be sure\n"
	if code, out := runBinary(t, "", []string{"ARCHIVE_KEY=" + otherKey}, "--config.file="+configFile, "--config.check"); code != 0 || out != note+"ok\n" {
		t.Errorf("good file: exit %d %q", code, out)
	}
	code, out := runBinary(t, "", nil, "--config.file="+configFile, "--config.check")
	if want := "portal \"archive\": api_key_env: the environment variable ARCHIVE_KEY is unset or empty: put the API key in it\n"; code != 1 ||
		!strings.HasPrefix(out, note) || !strings.HasSuffix(out, want) {
		t.Errorf("unset key variable: exit %d %q", code, out)
	}
	bad := writeFile(t, "bad.yml", "portals:\n  - name: x\n    url: https://p.example.com\n    api_key: "+testKey+"\n")
	code, out = runBinary(t, "", nil, "--config.file="+bad, "--config.check")
	if code != 1 || !strings.Contains(out, "bad.yml:4:") || !strings.Contains(out, "api_key_file") {
		t.Errorf("key in the file: exit %d %q", code, out)
	}
	assertNoSecrets(t, "--config.check output", out)
	if code, out := runBinary(t, "", nil, "--config.check"); code != 2 || !strings.Contains(out, "needs --config.file") {
		t.Errorf("no file: exit %d %q", code, out)
	}
	// Serving with a bad file fails at start.
	if code, out := runBinary(t, "", nil, "--config.file="+bad); code != 2 || !strings.Contains(out, "api_key_file") {
		t.Errorf("serving a bad file: exit %d %q", code, out)
	}
}

// --config.check reports every problem of a file at once, each on its own
// line: what cannot be decoded together with the settings' problems, and a
// YAML mistake on the line where it is.
func TestConfigCheckReportsEverything(t *testing.T) {
	file := writeFile(t, "portals.yml", `portals:
  - name: a
    url: https://portal.example.com/api/2.0
    api_key_env: KEY
    timeout: soon
  - name: b
    url: 127.0.0.1:8443
    api_key_file: `+testKey+`
    dump: maybe
`)
	code, out := runBinary(t, "", nil, "--config.file="+file, "--config.check")
	want := strings.Join([]string{
		file + `:5: portal "a": expected a duration such as 15s or 1m here, not a string`,
		file + `:9: portal "b": expected true or false here, not a string`,
		file + `:3: portal "a": url: drop /api/2.0: give the portal root, e.g. https://portal.example.com; the API paths are added to it`,
		file + `:7: portal "b": url: must start with https:// (or http://), e.g. https://portal.example.com`,
		file + `:8: portal "b": api_key_file: this looks like an API key, not a file path: put the key in a file and give the file's path`,
	}, "\n") + "\n"
	if code != 1 || out != want {
		t.Errorf("exit %d, output:\n%s\nwant exit 1 and\n%s", code, out, want)
	}

	writeConfig(t, file, "portals:\n  - name: a\n    url: https://portal.example.com\n   api_key_env: KEY\n")
	code, out = runBinary(t, "", nil, "--config.file="+file, "--config.check")
	if want := file + ":4: invalid YAML: did not find expected '-' indicator (in the block that starts at line 1)\n"; code != 1 || out != want {
		t.Errorf("indentation: exit %d, output:\n%s\nwant\n%s", code, out, want)
	}
}

// Relative paths in the file are taken from the file's folder, whatever the
// working folder; --config.check reads key files as they stand and names
// each problem's file and reason, warns of plain http, and says where keys
// from the environment were looked for.
func TestConfigFileRelativePaths(t *testing.T) {
	_, srv := newFakePortal(t)
	dir := t.TempDir()
	for _, d := range []string{"conf/keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(t, filepath.Join(dir, "conf/keys/main.key"), testKey+"\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "conf/keys/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := fmt.Sprintf("portals:\n  - name: main\n    url: %s\n    api_key_file: keys/main.key\n", srv.URL)
	writeConfig(t, filepath.Join(dir, "conf/portals.yml"), good)
	if code, out := runBinary(t, dir, nil, "--config.file=conf/portals.yml", "--config.check"); code != 0 || out != "ok\n" {
		t.Errorf("--config.check: exit %d %q", code, out)
	}
	e := startExporterIn(t, dir, "http", []string{"--config.file=conf/portals.yml"})
	if code, body := get(t, nil, e.url+"/probe?target=main"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("probe: HTTP %d\n%s", code, body)
	}

	writeConfig(t, filepath.Join(dir, "conf/portals.yml"), good+`  - name: plain
    url: http://portal.example.test
    api_key_file: keys/main.key
  - name: folder
    url: https://folder.example.com
    api_key_file: keys
  - name: pipe
    url: https://pipe.example.com
    api_key_file: keys/fifo
  - name: missing
    url: https://missing.example.com
    api_key_file: keys/missing.key
  - name: env
    url: https://env.example.com
    api_key_env: DSX_UNSET
`)
	code, out := runBinary(t, dir, nil, "--config.file=conf/portals.yml", "--config.check")
	want := strings.Join([]string{
		`warning: conf/portals.yml:6: portal "plain": url: http://portal.example.test is plain http: the API key is sent unencrypted over the network; use https://`,
		`note: the keys of api_key_env (DSX_UNSET) were checked in the environment this check runs in, which may not be the exporter's (a systemd unit's Environment=, a container's env): run the check there to be sure`,
		`conf/portals.yml:10: portal "folder": api_key_file: cannot read the API key file conf/keys: is a folder, not a regular file`,
		`conf/portals.yml:13: portal "pipe": api_key_file: cannot read the API key file conf/keys/fifo: is a named pipe, not a regular file`,
		`conf/portals.yml:16: portal "missing": api_key_file: cannot read the API key file conf/keys/missing.key: no such file or directory`,
		`conf/portals.yml:19: portal "env": api_key_env: the environment variable DSX_UNSET is unset or empty: put the API key in it`,
	}, "\n") + "\n"
	if code != 1 || out != want {
		t.Errorf("exit %d, output:\n%s\nwant exit 1 and\n%s", code, out, want)
	}
}

// Two names for the same portal and dump are warned of by --config.check,
// at start and at each reload.
func TestDuplicatePortalWarned(t *testing.T) {
	_, srv := newFakePortal(t)
	file := writeFile(t, "portals.yml", fmt.Sprintf("portals:\n  - {name: a, url: '%s', api_key_env: KEY}\n  - {name: b, url: '%s/', api_key_env: KEY}\n", srv.URL, srv.URL))
	want := file + `:3: portal "b": url: the portal "a" at line 2 has the same url and dump: its alerts would fire twice`
	code, out := runBinary(t, "", []string{"KEY=" + testKey}, "--config.file="+file, "--config.check")
	if code != 0 || !strings.HasPrefix(out, "warning: "+want) || !strings.HasSuffix(out, "ok\n") {
		t.Errorf("--config.check: exit %d, output:\n%s\nwant a warning starting %q", code, out, want)
	}
	e := startExporter(t, "http", []string{"--config.file=" + file}, "KEY="+testKey)
	if log := e.waitLog("same url and dump"); !strings.Contains(log, "level=WARN") || !strings.Contains(log, strings.ReplaceAll(want, `"`, `\"`)) {
		t.Errorf("the start's log lacks the warning:\n%s", log)
	}
}

// What is not a regular file, named by the configuration file or as the
// configuration file, fails a reload at once and keeps the last good
// configuration; the next good file reloads.
func TestReloadRefusesWhatIsNoFile(t *testing.T) {
	_, _, configFile, mainURL := twoPortals(t)
	e := startExporter(t, "http", []string{"--config.file=" + configFile}, "ARCHIVE_KEY="+otherKey)
	client := &http.Client{Timeout: 10 * time.Second}
	post := func() (int, string) {
		t.Helper()
		resp, err := client.Post(e.url+"/-/reload", "", nil)
		if err != nil {
			t.Fatalf("POST /-/reload: %v", err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readAll(resp)
	}
	reloaded := func() string {
		t.Helper()
		_, m := get(t, client, e.url+"/metrics")
		for _, l := range strings.Split(m, "\n") {
			if strings.HasPrefix(l, "docspace_exporter_config_last_reload_successful ") {
				return strings.TrimPrefix(l, "docspace_exporter_config_last_reload_successful ")
			}
		}
		return ""
	}
	good, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	replace := func(target string) {
		t.Helper()
		tmp := filepath.Join(dir, "portals.tmp")
		_ = os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, configFile); err != nil {
			t.Fatal(err)
		}
	}

	writeConfig(t, configFile, string(good)+fmt.Sprintf("  - name: third\n    url: %s\n    api_key_file: %s\n", mainURL, fifo))
	if code, body := post(); code != http.StatusInternalServerError || !strings.Contains(body, "api_key_file: cannot read the API key file "+fifo+": is a named pipe, not a regular file") {
		t.Errorf("a named pipe as a key file: HTTP %d %q", code, body)
	}
	if got := reloaded(); got != "0" {
		t.Errorf("reload successful %q after a failed reload", got)
	}
	if code, _ := get(t, client, e.url+"/probe?target=main"); code != 200 {
		t.Errorf("the last good configuration was dropped: HTTP %d", code)
	}

	replace(fifo)
	if code, body := post(); code != http.StatusInternalServerError || !strings.Contains(body, "is a named pipe, not a regular file") {
		t.Errorf("a named pipe as the config file: HTTP %d %q", code, body)
	}
	replace("/dev/urandom")
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if log := e.waitLog("/dev/urandom: is a character device"); !strings.Contains(log, "is a character device, not a regular file") {
		t.Errorf("SIGHUP with /dev/urandom as the config file:\n%s", log)
	}

	if err := os.Remove(configFile); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, configFile, string(good))
	if code, body := post(); code != 200 {
		t.Errorf("reload of the good file: HTTP %d %q", code, body)
	}
	if got := reloaded(); got != "1" {
		t.Errorf("reload successful %q after a good reload", got)
	}
	if code, body := get(t, client, e.url+"/probe?target=main"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("probe after the good reload: HTTP %d\n%s", code, body)
	}
}

// A key written where the configuration file does not want one (in a URL,
// as a label) is shown nowhere: not by --config.check, at start, in the
// answer of /-/reload or in the log.
func TestURLCredentialsNeverShown(t *testing.T) {
	_, _, configFile, _ := twoPortals(t)
	good, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	bad := string(good) + `  - name: user
    url: https://` + testKey + `@portal.example.com
    api_key_env: ARCHIVE_KEY
  - name: unparsable
    url: https://admin:Hunter2%zz@portal.example.com
    api_key_env: ARCHIVE_KEY
  - name: query
    url: https://portal.example.com/?key=` + testKey + `
    api_key_env: ARCHIVE_KEY
  - name: labelled
    url: https://portal.example.com
    api_key_env: ARCHIVE_KEY
    labels: {` + testKey + `: prod}
  - name: jwt
    url: https://portal.example.com
    api_key_file: '` + testTokens[0] + `'
    labels: {env: '` + testTokens[1] + `'}
`
	want := []string{
		`portal "user": url: must not contain a user name or password`,
		`portal "unparsable": url: is not a valid URL`,
		`portal "query": url: must not have a query or fragment`,
		`portal "labelled": labels: a label looks like an API key (not shown)`,
		`portal "jwt": api_key_file: this looks like an API key, not a file path`,
		`portal "jwt": labels: a label looks like an API key (not shown)`,
	}
	check := func(what, text string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", what, w, text)
			}
		}
		for _, secret := range []string{testKey[3:19], "Hunter2", "admin"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %q:\n%s", what, secret, text)
			}
		}
		for _, token := range testTokens {
			assertNoToken(t, what, text, token)
		}
	}
	badFile := writeFile(t, "bad.yml", bad)
	_, out := runBinary(t, "", []string{"ARCHIVE_KEY=" + otherKey}, "--config.file="+badFile, "--config.check")
	check("--config.check", out)
	_, out = runBinary(t, "", []string{"ARCHIVE_KEY=" + otherKey}, "--config.file="+badFile)
	check("the start", out)

	e := startExporter(t, "http", []string{"--config.file=" + configFile}, "ARCHIVE_KEY="+otherKey)
	writeConfig(t, configFile, bad)
	resp, err := http.Post(e.url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	resp.Body.Close()
	check("the answer of /-/reload", body)
	check("the log", strings.ReplaceAll(e.waitLog("reloading the config file failed"), `\"`, `"`))

	resp, err = http.Get(e.url + "/probe?target=" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, testKey[3:19]) || !strings.Contains(body, "looks like an API key") {
		t.Errorf("/probe?target=<key>: HTTP %d %q", resp.StatusCode, body)
	}
	for _, token := range testTokens {
		code, body := get(t, nil, e.url+"/probe?target="+url.QueryEscape(token))
		if code != http.StatusBadRequest || !strings.Contains(body, "looks like an API key") {
			t.Errorf("/probe?target=<token>: HTTP %d %q", code, body)
		}
		assertNoToken(t, "/probe?target=<token>", body, token)
	}
	if code, body := get(t, nil, e.url+"/probe?target=customer-department-production-01"); code != http.StatusBadRequest || !strings.Contains(body, `unknown target "customer-department-production-01"`) {
		t.Errorf("/probe?target=customer-department-production-01: HTTP %d %q", code, body)
	}
	resp, err = http.Get(e.url + "/probe?target=https://admin:Hunter2@portal.example.com")
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "Hunter2") || !strings.Contains(body, "never a URL") {
		t.Errorf("/probe?target=<URL with a password>: HTTP %d %q", resp.StatusCode, body)
	}
}

// Without a config file, SIGHUP does not stop the exporter, /probe says
// why it has no portals and there is no /-/reload.
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
	if code, body := get(t, nil, e.url+"/probe?target=main"); code != http.StatusBadRequest || !strings.Contains(body, "/probe serves the portals of --config.file") {
		t.Errorf("/probe without --config.file: HTTP %d %q, want 400 and why", code, body)
	}
	if code, _ := get(t, nil, e.url+"/-/reload"); code != http.StatusNotFound {
		t.Errorf("/-/reload without --config.file: HTTP %d, want 404", code)
	}
	if _, landing := get(t, nil, e.url+"/"); strings.Contains(landing, "/probe") {
		t.Error("the landing page offers /probe without --config.file")
	}
}
