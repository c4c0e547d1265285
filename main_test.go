package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

const testKey = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testTokens are the other credentials DocSpace issues or accepts: a
// personal access token (a JWT), a base64 token with '/', '+' and '=', and
// a token after its scheme.
var testTokens = []string{
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MmFiYyIsImV4cCI6MTc2NDc2MDAwMH0.Xq3vN8kP_2sLw-9RtYbF1cZ7uHgE4mJ0aDoWiQsVnKe",
	"8Kh1Er7vJ/ddf+nF7j3RWFhgZtD8N/eAl3DRcPvQ6pQK3mgRfg+yDI2ZmcpD==",
	"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MmFiYyIsImV4cCI6MTc2NDc2MDAwMH0.Xq3vN8kP_2sLw-9RtYbF1cZ7uHgE4mJ0aDoWiQsVnKe",
}

// assertNoToken fails when text shows a part of token.
func assertNoToken(t *testing.T, what, text, token string) {
	t.Helper()
	token = strings.TrimPrefix(token, "Bearer ")
	if strings.Contains(text, token[:12]) || strings.Contains(text, token[len(token)-14:len(token)-2]) {
		t.Errorf("%s shows the token %s:\n%s", what, token, text)
	}
}

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docspace_exporter-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "docspace_exporter")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the exporter failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exporter is a running exporter binary.
type exporter struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitLog waits up to 5s for the exporter to log s (stderr arrives through
// a pipe) and returns the log.
func (e *exporter) waitLog(s string) string {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.stderr.String(), s) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return e.stderr.String()
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startExporter runs the binary with args and env and waits until it serves.
func startExporter(t *testing.T, scheme string, args []string, env ...string) *exporter {
	t.Helper()
	return startExporterIn(t, "", scheme, args, env...)
}

// startExporterIn is startExporter with the working folder dir.
func startExporterIn(t *testing.T, dir, scheme string, args []string, env ...string) *exporter {
	t.Helper()
	addr := freeAddress(t)
	cmd := exec.Command(binary, append([]string{"--web.listen-address=" + addr}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Dir = dir
	e := &exporter{url: scheme + "://" + addr, cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return e
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the exporter did not start listening; stderr:\n%s", e.stderr)
	return nil
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newFakePortal(t *testing.T) (*docspacetest.Portal, *httptest.Server) {
	t.Helper()
	p := docspacetest.NewPortal(testKey)
	p.SetSchedule(docspacetest.ScheduleS3)
	return p, newServer(t, p)
}

func newServer(t *testing.T, p *docspacetest.Portal) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(p)
	t.Cleanup(func() { p.Close(); srv.Close() })
	return srv
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range append([]string{testKey, "acme-backups"}, docspacetest.S3SecretValues...) {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q", what, s)
		}
	}
}

func TestBinaryServesMetrics(t *testing.T) {
	fake, srv := newFakePortal(t)
	keyFile := writeFile(t, "key", testKey+"\n")
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--log.level=debug"}, "DOCSPACE_API_KEY_FILE="+keyFile)

	code, body := get(t, nil, e.url+"/metrics")
	for _, want := range []string{
		"docspace_up 1\n", "docspace_api_status_code 200\n", "docspace_backup_schedule_backups_stored 7\n",
		`docspace_backup_schedule_info{period="weekly",storage_type="thirdparty_consumer"} 1`,
		"docspace_backup_last_timestamp_seconds 1.782698851e+09\n", "docspace_exporter_build_info{", "go_goroutines ", "process_resident_memory_bytes ",
		"docspace_backup_schedule_next_timestamp_seconds 1.7833032e+09\n", `docspace_collector_success{collector="settings"} 1`,
		"docspace_backup_task_running 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code != 200 {
		t.Errorf("/metrics: HTTP %d", code)
	}
	assertNoSecrets(t, "/metrics", body)
	// One scrape: schedule, progress, settings, the month's backups count
	// and the first history call, each with the key.
	if got := fake.Authorizations(); len(got) != 5 || slices.ContainsFunc(got, func(a string) bool { return a != "Bearer "+testKey }) {
		t.Errorf("the portal saw Authorization %q", got)
	}
	if !strings.Contains(body, "docspace_backup_history_interval_seconds 3600\n") || !strings.Contains(body, `docspace_collector_success{collector="history"} 1`) {
		t.Errorf("the history is not on by default:\n%s", body)
	}

	for _, path := range []string{"/-/healthy", "/-/ready"} {
		if code, body := get(t, nil, e.url+path); code != 200 || body != "OK\n" {
			t.Errorf("%s: HTTP %d %q", path, code, body)
		}
	}
	if n := fake.Requests(docspacetest.PathSchedule); n != 1 {
		t.Errorf("health checks called DocSpace: %d calls", n)
	}
	code, landing := get(t, nil, e.url+"/")
	if code != 200 || !strings.Contains(landing, "DocSpace Exporter") || !strings.Contains(landing, `href="/metrics"`) {
		t.Errorf("landing page: HTTP %d\n%s", code, landing)
	}
	assertNoSecrets(t, "the landing page", landing)
	assertNoSecrets(t, "the log", e.stderr.String())
	if !strings.Contains(e.stderr.String(), "level=DEBUG") && !strings.Contains(e.stderr.String(), "level=INFO") {
		t.Errorf("no log output: %q", e.stderr.String())
	}
}

// Without GOGC in the environment the exporter collects at 50% heap growth,
// as the image and the systemd unit set it; GOGC still decides when set.
func TestBinaryGCPercent(t *testing.T) {
	_, srv := newFakePortal(t)
	keyFile := writeFile(t, "key", testKey+"\n")
	for _, c := range []struct{ env, want string }{
		{"", "go_gc_gogc_percent 50\n"},
		{"GOGC=100", "go_gc_gogc_percent 100\n"},
		{"GOGC=75", "go_gc_gogc_percent 75\n"},
	} {
		env := []string{"DOCSPACE_API_KEY_FILE=" + keyFile}
		if c.env != "" {
			env = append(env, c.env)
		}
		e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL}, env...)
		if _, body := get(t, nil, e.url+"/metrics"); !strings.Contains(body, c.want) {
			t.Errorf("environment %q: want %q in /metrics", c.env, c.want)
		}
	}
}

func TestBinaryFailingPortal(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetOverride(docspacetest.PathSchedule, docspacetest.ForbiddenAccessDenied())
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--web.disable-exporter-metrics", "--log.level=debug", "--log.format=json",
		"--no-collector.progress", "--docspace.timezone=Europe/Berlin"},
		"DOCSPACE_API_KEY="+testKey)
	code, body := get(t, nil, e.url+"/metrics")
	if code != 200 || !strings.Contains(body, "docspace_up 0\n") || !strings.Contains(body, "docspace_api_status_code 403\n") {
		t.Errorf("HTTP %d\n%s", code, body)
	}
	if strings.Contains(body, "go_goroutines") || strings.Contains(body, "build_info") {
		t.Errorf("exporter metrics not disabled:\n%s", body)
	}
	if strings.Contains(body, `collector="progress"`) || strings.Contains(body, `collector="settings"`) {
		t.Errorf("progress or settings collected although off:\n%s", body)
	}
	if n := fake.Requests(docspacetest.PathProgress) + fake.Requests(docspacetest.PathSettings); n != 0 {
		t.Errorf("%d calls to progress or settings, want none", n)
	}
	log := e.waitLog(`"msg":"DocSpace scrape failed"`)
	if !strings.Contains(log, `"msg":"DocSpace scrape failed"`) || !strings.Contains(log, "owner or a DocSpace admin") {
		t.Errorf("log lacks the failure:\n%s", log)
	}
	assertNoSecrets(t, "the log", log)
}

func TestBinaryConcurrentScrapesShareOneCall(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetLatency(500 * time.Millisecond)
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL}, "DOCSPACE_API_KEY="+testKey)
	var wg sync.WaitGroup
	bodies := make(chan string, 50)
	for range 50 {
		wg.Go(func() {
			resp, err := http.Get(e.url + "/metrics")
			if err != nil {
				bodies <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies <- string(b)
		})
	}
	wg.Wait()
	close(bodies)
	for b := range bodies {
		if !strings.Contains(b, "docspace_up 1\n") {
			t.Fatalf("a scrape failed:\n%s", b)
		}
	}
	if n := fake.Requests(docspacetest.PathSchedule); n != 1 {
		t.Errorf("50 concurrent scrapes made %d calls to DocSpace, want 1", n)
	}
}

// runBinary runs the exporter with args and env (and nothing else in its
// environment) in dir ("" for the test's) until it exits, at most 10s, and
// returns its exit code and output.
func runBinary(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env, cmd.Dir = env, dir
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the exporter did not exit; output:\n%s", out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// Every bad setting stops the exporter at once with exit code 2 and what to
// fix; no message shows a key or a URL's password, wherever it was typed.
func TestBinaryRejectsBadSettings(t *testing.T) {
	keyFile := writeFile(t, "key", testKey)
	emptyKey := writeFile(t, "empty", "\n")
	twoKeys := writeFile(t, "two", testKey+"\n"+otherKey+"\n")
	largeKey := writeFile(t, "large", testKey)
	if err := os.Truncate(largeKey, 100<<20); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	badWebConfig := writeFile(t, "web.yml", "tls_server_config:\n  cert_file: /nonexistent.pem\n")
	const portal = "--docspace.url=https://portal.example.com"
	key := "DOCSPACE_API_KEY=" + testKey
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no url", nil, []string{key}, "--docspace.url"},
		{"bad url", []string{"--docspace.url=portal.example.com"}, []string{key}, "must start with https://"},
		{"address and port without scheme", []string{"--docspace.url=127.0.0.1:8443"}, []string{key}, "--docspace.url: must start with https:// (or http://), e.g. https://portal.example.com"},
		{"API path", []string{"--docspace.url=https://portal.example.com/api/2.0"}, []string{key}, "--docspace.url: drop /api/2.0: give the portal root"},
		{"web client page", []string{"--docspace.url=https://portal.example.com/rooms/shared"}, []string{key}, "--docspace.url: is a page of the DocSpace web client (/rooms/...), not the portal root"},
		{"url with password", []string{"--docspace.url=https://admin:hunter2@portal.example.com"}, []string{key}, "user name or password"},
		{"key as the url's user", []string{"--docspace.url=https://" + testKey + "@portal.example.com"}, []string{key}, "--docspace.url: must not contain a user name or password"},
		{"key in the url's query", []string{"--docspace.url=https://portal.example.com/?key=" + testKey}, []string{key}, "--docspace.url: must not have a query or fragment"},
		{"unparsable url with password", []string{"--docspace.url=https://admin:Hunter2%zz@portal.example.com"}, []string{key}, "--docspace.url: is not a valid URL"},
		{"no key", []string{portal}, nil, "no API key"},
		{"missing key file", []string{portal, "--docspace.api-key-file=/nonexistent/key"}, nil, "--docspace.api-key-file: cannot read the API key file /nonexistent/key: no such file or directory"},
		{"empty key file", []string{portal, "--docspace.api-key-file=" + emptyKey}, nil, "is empty"},
		{"two keys in the key file", []string{portal, "--docspace.api-key-file=" + twoKeys}, nil, "--docspace.api-key-file: the API key file " + twoKeys + " holds 2 lines; keep one key"},
		{"key file is a named pipe", []string{portal, "--docspace.api-key-file=" + fifo}, nil, "--docspace.api-key-file: cannot read the API key file " + fifo + ": is a named pipe, not a regular file"},
		{"key file is /dev/zero", []string{portal, "--docspace.api-key-file=/dev/zero"}, nil, "--docspace.api-key-file: cannot read the API key file /dev/zero: is a character device, not a regular file"},
		{"key file of 100 MiB", []string{portal, "--docspace.api-key-file=" + largeKey}, nil, "is 100 MiB, larger than 4 KiB"},
		{"key as the key file", []string{portal, "--docspace.api-key-file=" + testKey}, nil, "--docspace.api-key-file: this looks like an API key, not a file path"},
		{"key as the key file from the environment", []string{portal}, []string{"DOCSPACE_API_KEY_FILE=" + testKey}, "--docspace.api-key-file: this looks like an API key, not a file path"},
		{"empty key env", []string{portal}, []string{"DOCSPACE_API_KEY= "}, "DOCSPACE_API_KEY: the environment variable DOCSPACE_API_KEY is unset or empty"},
		{"two keys in the key env", []string{portal}, []string{"DOCSPACE_API_KEY=" + testKey + "\n" + otherKey}, "DOCSPACE_API_KEY: the environment variable DOCSPACE_API_KEY holds 2 lines; keep one key"},
		{"two key sources", []string{portal, "--docspace.api-key-file=" + keyFile}, []string{key}, "keep only one"},
		{"unknown flag", []string{"--docspace.key=" + testKey}, nil, "unknown long flag"},
		{"key as a flag", []string{portal, "--docspace.api-key=" + testKey}, nil,
			"unknown long flag '--docspace.api-key': the API key is never given as a flag, which ps shows to everyone: put it in a file and give --docspace.api-key-file, or in the environment variable DOCSPACE_API_KEY"},
		{"key as an argument", []string{portal, testKey}, []string{key}, "<secret>"},
		{"bad timeout", []string{portal, "--docspace.timeout=soon"}, []string{key}, "invalid duration"},
		{"key as the timeout", []string{portal, "--docspace.timeout=" + testKey}, []string{key}, "<secret>"},
		{"zero timeout", []string{portal, "--docspace.timeout=0s"}, []string{key}, "must be positive"},
		{"missing CA file", []string{portal, "--docspace.tls.ca-file=/nonexistent/ca.pem"}, []string{key}, "--docspace.tls.ca-file: cannot read the CA file /nonexistent/ca.pem: no such file or directory"},
		{"CA file is /dev/urandom", []string{portal, "--docspace.tls.ca-file=/dev/urandom"}, []string{key}, "--docspace.tls.ca-file: cannot read the CA file /dev/urandom: is a character device"},
		{"key as the CA file", []string{portal, "--docspace.tls.ca-file=" + testKey}, []string{key}, "--docspace.tls.ca-file: this looks like an API key"},
		{"bad time zone", []string{portal, "--docspace.timezone=Mars/Base"}, []string{key}, "--docspace.timezone: unknown time zone Mars/Base"},
		{"key as the time zone", []string{portal, "--docspace.timezone=" + testKey}, []string{key}, "--docspace.timezone: this looks like an API key, not a time zone"},
		{"bad log level", []string{portal, "--log.level=loud"}, []string{key}, "log level"},
		{"key as the log level", []string{portal, "--log.level=" + testKey}, []string{key}, "<secret>"},
		{"key as the config file", []string{"--config.file=" + testKey}, nil, "configuration file: this looks like an API key, not a file path"},
		{"config file is /dev/zero", []string{"--config.file=/dev/zero"}, nil, "cannot read the configuration file /dev/zero: is a character device, not a regular file"},
		{"config file is a named pipe", []string{"--config.file=" + fifo}, nil, "cannot read the configuration file " + fifo + ": is a named pipe"},
		{"web config is /dev/zero", []string{portal, "--web.config.file=/dev/zero"}, []string{key}, "--web.config.file: /dev/zero: is a character device, not a regular file"},
		{"web config is a named pipe", []string{portal, "--web.config.file=" + fifo}, []string{key}, "--web.config.file: " + fifo + ": is a named pipe, not a regular file"},
		{"bad web config", []string{portal, "--web.config.file=" + badWebConfig, "--web.listen-address=127.0.0.1:0"}, []string{key}, "web.yml"},
		{"history interval too short", []string{portal, "--docspace.history-interval=10s"}, []string{key}, "--docspace.history-interval: 10s is too short: at least 1m0s"},
		{"negative history interval without a flag portal", []string{"--config.file=/nonexistent.yml", "--docspace.history-interval=-1h"}, nil, "--docspace.history-interval: must not be negative"},
		{"zero history timeout", []string{portal, "--docspace.history-timeout=0s"}, []string{key}, "--docspace.history-timeout: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runBinary(t, "", tt.env, tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; output:\n%s", code, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			assertNoSecrets(t, "the output", out)
			for _, secret := range []string{testKey[3:19], otherKey[3:19], "hunter2", "Hunter2"} {
				if strings.Contains(out, secret) {
					t.Errorf("output shows the secret %q:\n%s", secret, out)
				}
			}
		})
	}
}

// A port in use is an operator's mistake like any other: exit code 2 and
// the flag to change.
func TestBinaryListenAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, out := runBinary(t, "", []string{"DOCSPACE_API_KEY=" + testKey},
		"--docspace.url=https://portal.example.com", "--web.listen-address="+l.Addr().String())
	want := "docspace_exporter: error: --web.listen-address: listen tcp " + l.Addr().String() + ": bind: address already in use: " +
		"another program (another exporter?) listens there; stop it or choose another address with --web.listen-address\n"
	if code != 2 || !strings.HasSuffix(out, want) {
		t.Errorf("exit code %d, output:\n%s\nwant exit code 2 and\n%s", code, out, want)
	}
}

// A key sent over plain http to another host is warned of at start, naming
// the portal, never the key; a portal on this host is not.
func TestBinaryWarnsOfPlainHTTP(t *testing.T) {
	e := startExporter(t, "http", []string{"--docspace.url=http://portal.example.test:8080/docspace", "--docspace.timezone=UTC"}, "DOCSPACE_API_KEY="+testKey)
	log := e.waitLog("plain http")
	want := `level=WARN source=fleet.go`
	if !strings.Contains(log, `msg="--docspace.url: http://portal.example.test:8080 is plain http: the API key is sent unencrypted over the network; use https://"`) ||
		!strings.Contains(log, want) {
		t.Errorf("log lacks the warning:\n%s", log)
	}
	assertNoSecrets(t, "the log", log)

	_, srv := newFakePortal(t)
	e = startExporter(t, "http", []string{"--docspace.url=" + srv.URL}, "DOCSPACE_API_KEY="+testKey)
	if code, body := get(t, nil, e.url+"/metrics"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Fatalf("HTTP %d\n%s", code, body)
	}
	if log := e.stderr.String(); strings.Contains(log, "WARN") {
		t.Errorf("a warning for a portal on 127.0.0.1:\n%s", log)
	}
}

// A key file others may read (a Kubernetes secret mount is 0644) is warned
// of at start and by --config.check, with its mode and the fix, and still
// used.
func TestBinaryWarnsOfSharedKeyFile(t *testing.T) {
	_, srv := newFakePortal(t)
	keyFile := writeFile(t, "api-key", testKey)
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "the API key file " + keyFile + " has mode 0644: others on this host may read or change the key; run chmod 600 " + keyFile
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--docspace.api-key-file=" + keyFile})
	if log := e.waitLog("chmod 600"); !strings.Contains(log, `level=WARN source=fleet.go`) || !strings.Contains(log, `msg="--docspace.api-key-file: `+want+`"`) {
		t.Errorf("log lacks the warning:\n%s", log)
	}
	if code, body := get(t, nil, e.url+"/metrics"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("HTTP %d\n%s", code, body)
	}
	cfg := writeFile(t, "portals.yml", "portals:\n  - {name: main, url: '"+srv.URL+"', api_key_file: '"+keyFile+"'}\n")
	code, out := runBinary(t, "", nil, "--config.file="+cfg, "--config.check")
	if code != 0 || !strings.Contains(out, "warning: "+cfg+`:2: portal "main": api_key_file: `+want+"\n") || !strings.HasSuffix(out, "ok\n") {
		t.Errorf("--config.check: exit code %d\n%s", code, out)
	}
}

// The README promises that a rotated key works without a restart, however
// the file was rewritten; a key file that breaks says so at every scrape,
// and never blocks the exporter.
func TestBinaryKeyRotation(t *testing.T) {
	fake, srv := newFakePortal(t)
	dir := t.TempDir()
	// Kubernetes mounts a secret as key -> ..data/key, ..data -> a folder
	// swapped by rename.
	for _, d := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, link string) {
		_ = os.Remove(link + ".tmp")
		if err := os.Symlink(target, link+".tmp"); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(link+".tmp", link); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "v1", "api-key"), otherKey+"\n") // the portal does not know it
	write(filepath.Join(dir, "v2", "api-key"), testKey+"\n")
	symlink("v1", filepath.Join(dir, "..data"))
	symlink("..data/api-key", filepath.Join(dir, "api-key"))
	keyFile := filepath.Join(dir, "api-key")

	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--docspace.timezone=UTC", "--no-collector.progress", "--log.level=debug"},
		"DOCSPACE_API_KEY_FILE="+keyFile)
	scrape := func(want string) {
		t.Helper()
		done := make(chan string, 1)
		go func() {
			resp, err := http.Get(e.url + "/metrics")
			if err != nil {
				done <- err.Error()
				return
			}
			defer resp.Body.Close()
			done <- readAll(resp)
		}()
		select {
		case body := <-done:
			if !strings.Contains(body, want) {
				t.Errorf("scrape lacks %q:\n%s", want, body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the scrape blocks")
		}
	}
	scrape("docspace_api_status_code 401\n")

	symlink("v2", filepath.Join(dir, "..data")) // a Kubernetes secret update
	scrape("docspace_up 1\n")

	// Rewritten in place with the same size and modification time.
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	write(keyFile, otherKey+"\n")
	if err := os.Chtimes(keyFile, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	scrape("docspace_api_status_code 401\n")
	write(keyFile, testKey+"\n")
	if err := os.Chtimes(keyFile, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	scrape("docspace_up 1\n")

	// Two keys: the scrape says what is wrong with the file.
	write(keyFile, testKey+"\n"+otherKey+"\n")
	scrape("docspace_up 0\n")
	if log := e.waitLog("holds 2 lines"); !strings.Contains(log, "the API key file "+filepath.Join(dir, "v2", "api-key")+" holds 2 lines; keep one key") &&
		!strings.Contains(log, "the API key file "+keyFile+" holds 2 lines; keep one key") {
		t.Errorf("the log lacks the key file's problem:\n%s", log)
	}
	write(keyFile, "\uFEFF"+testKey+"\r\n") // Windows Notepad: a byte order mark and CRLF
	scrape("docspace_up 1\n")
	write(keyFile, "bearer "+testKey+"\r\n")
	scrape("docspace_up 1\n")
	if got := fake.Authorizations(); got[len(got)-1] != "Bearer "+testKey {
		t.Errorf("the key of \"bearer sk-...\" was sent as %.20q", got[len(got)-1])
	}

	// Swapped to a named pipe: the scrape fails at once; swapped back, the
	// next scrape works.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	symlink(fifo, keyFile)
	scrape("docspace_up 0\n")
	e.waitLog("is a named pipe")
	symlink("..data/api-key", keyFile)
	scrape("docspace_up 1\n")

	log := e.stderr.String()
	if strings.Contains(log, "cannot reach the portal") {
		t.Errorf("a key problem was blamed on the network:\n%s", log)
	}
	assertNoSecrets(t, "the log", log)
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "docspace_exporter, version") || !strings.Contains(string(out), "go version:") {
		t.Errorf("--version: %v\n%s", err, out)
	}
}

// The exporter's own endpoints can be served over TLS with basic auth
// through --web.config.file (exporter-toolkit).
func TestBinaryWebConfigTLSAndBasicAuth(t *testing.T) {
	_, srv := newFakePortal(t)
	certPEM, keyPEM := selfSignedCert(t)
	certFile := writeFile(t, "cert.pem", string(certPEM))
	keyFile := writeFile(t, "key.pem", string(keyPEM))
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash))
	e := startExporter(t, "https", []string{"--docspace.url=" + srv.URL, "--web.config.file=" + webConfig}, "DOCSPACE_API_KEY="+testKey)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	if code, _ := get(t, c, e.url+"/metrics"); code != http.StatusUnauthorized {
		t.Errorf("without credentials: HTTP %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
	req.SetBasicAuth("prometheus", "scrape-password")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "docspace_up 1\n") {
		t.Errorf("with credentials: HTTP %d\n%s", resp.StatusCode, body)
	}
	// Plain HTTP gets the TLS server's 400 ("client sent an HTTP request to an HTTPS server").
	if code, body := get(t, nil, strings.Replace(e.url, "https", "http", 1)+"/metrics"); code != http.StatusBadRequest || strings.Contains(body, "docspace_up") {
		t.Errorf("plain HTTP to the TLS listener: HTTP %d\n%s", code, body)
	}
}

func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// Proxy settings from the environment are honoured: the portal's host does
// not resolve; only the proxy knows it.
func TestBinaryUsesProxyFromEnvironment(t *testing.T) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleWeekly)
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host != "docspace.example.test" {
			http.Error(w, "unexpected proxy target "+r.URL.Host, http.StatusBadGateway)
			return
		}
		proxied.Add(1)
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { fake.Close(); proxy.Close() })
	e := startExporter(t, "http", []string{"--docspace.url=http://docspace.example.test", "--docspace.timezone=UTC", "--no-collector.progress"},
		"DOCSPACE_API_KEY="+testKey, "HTTP_PROXY="+proxy.URL)
	if code, body := get(t, nil, e.url+"/metrics"); code != 200 || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("HTTP %d\n%s", code, body)
	}
	if n := proxied.Load(); n != 3 {
		t.Errorf("the proxy carried %d calls, want 3 (schedule, history and the month's backups count)", n)
	}
}

// A scrape timeout header too large to fit a Duration does not fail the
// scrape; one too small is blamed on the header, not on the portal.
func TestBinaryScrapeTimeoutHeader(t *testing.T) {
	fake, srv := newFakePortal(t)
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--docspace.timeout-offset=0", "--docspace.timezone=UTC"}, "DOCSPACE_API_KEY="+testKey)
	scrape := func(header string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readAll(resp)
	}
	if _, body := scrape("1e10"); !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("header 1e10:\n%s", body)
	}
	before := fake.Requests(docspacetest.PathSchedule)
	if code, body := scrape("1e-9"); code != http.StatusBadRequest || !strings.Contains(body, `X-Prometheus-Scrape-Timeout-Seconds header "1e-9" is too small`) {
		t.Errorf("header 1e-9: %d\n%s", code, body)
	}
	// A bad header is the client's fault: each value is refused, and
	// logged above debug level once, never as the portal's error.
	for i := range 50 {
		if code, body := scrape(fmt.Sprintf("soon%d", i)); code != http.StatusBadRequest || !strings.Contains(body, "want a positive number of seconds") {
			t.Fatalf("header soon%d: %d\n%s", i, code, body)
		}
	}
	if n := fake.Requests(docspacetest.PathSchedule); n != before {
		t.Errorf("a scrape with a bad timeout header called DocSpace")
	}
	if _, body := scrape("5"); !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("header 5 after the bad ones:\n%s", body)
	}
	e.waitLog("bad scrape request")
	time.Sleep(100 * time.Millisecond) // any further line arrives
	log := e.stderr.String()
	if n := strings.Count(log, "bad scrape request"); n != 1 || !strings.Contains(log, `header \"1e-9\" is too small`) {
		t.Errorf("%d log lines of bad requests, want 1 for the first:\n%s", n, log)
	}
	if strings.Contains(log, "cannot start") || strings.Contains(log, "level=ERROR") {
		t.Errorf("a bad request is logged as the portal's error:\n%s", log)
	}
}

// A token of any form, given to a flag that takes a path or a name, is
// refused without being shown.
func TestBinaryNeverShowsAToken(t *testing.T) {
	portal := "--docspace.url=https://portal.example.com"
	for _, token := range testTokens {
		for flag, want := range map[string]string{
			"--docspace.api-key-file": "--docspace.api-key-file: this looks like an API key, not a file path",
			"--docspace.tls.ca-file":  "--docspace.tls.ca-file: this looks like an API key, not a file path",
			"--docspace.timezone":     "--docspace.timezone: this looks like an API key, not a time zone",
			"--config.file":           "configuration file: this looks like an API key, not a file path",
			"--log.level":             "<secret>",
		} {
			env := []string{"DOCSPACE_API_KEY=" + testKey}
			if flag == "--docspace.api-key-file" {
				env = nil
			}
			code, out := runBinary(t, "", env, portal, flag+"="+token)
			if code != 2 || !strings.Contains(out, want) {
				t.Errorf("%s=<%.12s...>: exit code %d, output lacks %q:\n%s", flag, token, code, want, out)
			}
			assertNoToken(t, flag, out, token)
		}
	}
}

// What the operator typed may be echoed by a message (kingpin's, for one):
// a word that looks like a key is hidden, nothing else.
func TestHideKeys(t *testing.T) {
	for in, want := range map[string]string{
		"unexpected " + testKey:                                                                     "unexpected <secret>",
		`time: invalid duration "` + testKey + `"`:                                                  `time: invalid duration "<secret>"`,
		"--docspace.timeout=" + testKey:                                                             "--docspace.timeout=<secret>",
		"open /etc/" + testKey + ": no such file":                                                   "open <secret>: no such file",
		"open " + testTokens[0] + ": no such file":                                                  "open <secret>: no such file",
		"open /run/" + testTokens[1] + ": no such":                                                  "open <secret>==: no such", // the padding is no secret
		"unexpected " + testTokens[2]:                                                               "unexpected Bearer <secret>",
		"customer-department-production-01 ABCDEF0123456789ABCDEF0123456789":                        "customer-department-production-01 ABCDEF0123456789ABCDEF0123456789",
		"the key has a space at byte 8: keep only the key, or a scheme and the key (Bearer sk-...)": "the key has a space at byte 8: keep only the key, or a scheme and the key (Bearer sk-...)",
		"--docspace.url: http://portal.example.com is plain http":                                   "--docspace.url: http://portal.example.com is plain http",
	} {
		if got := hideKeys(in); got != want {
			t.Errorf("hideKeys(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every mistake of one command line is shown at once: the URL, the key
// file, the timeout, the time zone and the CA file, each once.
func TestBinaryShowsEveryFlagProblemAtOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing")
	code, out := runBinary(t, "", nil, "--docspace.url=https://portal.example.com/api/2.0", "--docspace.api-key-file="+missing+"/key",
		"--docspace.timeout=1h", "--docspace.timezone=Mars/Olympus", "--docspace.tls.ca-file="+missing+"/ca.pem", "--docspace.history-timeout=0s")
	for _, want := range []string{
		"--docspace.url: drop /api/2.0",
		"--docspace.api-key-file: cannot read the API key file",
		"--docspace.timeout: 1h0m0s is too long",
		"--docspace.timezone: unknown time zone Mars/Olympus",
		"--docspace.tls.ca-file: cannot read the CA file",
		"--docspace.history-timeout: must be positive",
	} {
		if n := strings.Count(out, want); code != 2 || n != 1 {
			t.Errorf("exit code %d; %q shown %d times, want once:\n%s", code, want, n, out)
		}
	}
}
