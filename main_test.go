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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

const testKey = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

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
	addr := freeAddress(t)
	cmd := exec.Command(binary, append([]string{"--web.listen-address=" + addr}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
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
	// One scrape: schedule, progress, settings and the first history call,
	// each with the key.
	if got := fake.Authorizations(); len(got) != 4 || got[0] != "Bearer "+testKey || got[1] != got[0] || got[2] != got[0] || got[3] != got[0] {
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

func TestBinaryRejectsBadSettings(t *testing.T) {
	keyFile := writeFile(t, "key", testKey)
	emptyKey := writeFile(t, "empty", "\n")
	badWebConfig := writeFile(t, "web.yml", "tls_server_config:\n  cert_file: /nonexistent.pem\n")
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no url", nil, []string{"DOCSPACE_API_KEY=" + testKey}, "--docspace.url"},
		{"bad url", []string{"--docspace.url=portal.example.com"}, []string{"DOCSPACE_API_KEY=" + testKey}, "must start with https://"},
		{"url with password", []string{"--docspace.url=https://admin:hunter2@portal.example.com"}, []string{"DOCSPACE_API_KEY=" + testKey}, "user name or password"},
		{"no key", []string{"--docspace.url=https://portal.example.com"}, nil, "no API key"},
		{"missing key file", []string{"--docspace.url=https://portal.example.com", "--docspace.api-key-file=/nonexistent/key"}, nil, "no such file"},
		{"empty key file", []string{"--docspace.url=https://portal.example.com", "--docspace.api-key-file=" + emptyKey}, nil, "is empty"},
		{"empty key env", []string{"--docspace.url=https://portal.example.com"}, []string{"DOCSPACE_API_KEY= "}, "DOCSPACE_API_KEY: the environment variable DOCSPACE_API_KEY is unset or empty"},
		{"two key sources", []string{"--docspace.url=https://portal.example.com", "--docspace.api-key-file=" + keyFile}, []string{"DOCSPACE_API_KEY=" + testKey}, "keep only one"},
		{"unknown flag", []string{"--docspace.key=" + testKey}, nil, "unknown long flag"},
		{"bad timeout", []string{"--docspace.url=https://portal.example.com", "--docspace.timeout=soon"}, []string{"DOCSPACE_API_KEY=" + testKey}, "invalid duration"},
		{"zero timeout", []string{"--docspace.url=https://portal.example.com", "--docspace.timeout=0s"}, []string{"DOCSPACE_API_KEY=" + testKey}, "must be positive"},
		{"history interval too short", []string{"--docspace.url=https://portal.example.com", "--docspace.history-interval=10s"}, []string{"DOCSPACE_API_KEY=" + testKey}, "--docspace.history-interval: 10s is too short: at least 1m0s"},
		{"negative history interval without a flag portal", []string{"--config.file=/nonexistent.yml", "--docspace.history-interval=-1h"}, nil, "--docspace.history-interval: must not be negative"},
		{"zero history timeout", []string{"--docspace.url=https://portal.example.com", "--docspace.history-timeout=0s"}, []string{"DOCSPACE_API_KEY=" + testKey}, "--docspace.history-timeout: must be positive"},
		{"missing CA file", []string{"--docspace.url=https://portal.example.com", "--docspace.tls.ca-file=/nonexistent/ca.pem"}, []string{"DOCSPACE_API_KEY=" + testKey}, "--docspace.tls.ca-file: cannot read the CA file"},
		{"bad time zone", []string{"--docspace.url=https://portal.example.com", "--docspace.timezone=Mars/Base"}, []string{"DOCSPACE_API_KEY=" + testKey}, "--docspace.timezone: unknown time zone Mars/Base"},
		{"bad log level", []string{"--docspace.url=https://portal.example.com", "--log.level=loud"}, []string{"DOCSPACE_API_KEY=" + testKey}, "log level"},
		{"bad web config", []string{"--docspace.url=https://portal.example.com", "--web.config.file=" + badWebConfig, "--web.listen-address=127.0.0.1:0"}, []string{"DOCSPACE_API_KEY=" + testKey}, "web.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			cmd.Env = tt.env
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the exporter did not exit")
			}
			if err == nil || cmd.ProcessState.ExitCode() == 0 {
				t.Errorf("exit code 0, want non-zero; output:\n%s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			assertNoSecrets(t, "the output", string(out))
			if strings.Contains(string(out), "hunter2") {
				t.Errorf("output leaks the URL password:\n%s", out)
			}
		})
	}
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
	if n := proxied.Load(); n != 2 {
		t.Errorf("the proxy carried %d calls, want 2 (schedule and history)", n)
	}
}
