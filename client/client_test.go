package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

const testKey = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// secrets must never appear in an error text.
var secrets = append([]string{testKey, docspacetest.ProgressLinkSecret}, docspacetest.S3SecretValues...)

func newFake(t *testing.T) (*docspacetest.Portal, *httptest.Server) {
	t.Helper()
	p := docspacetest.NewPortal(testKey)
	srv := httptest.NewServer(p)
	t.Cleanup(func() { p.Close(); srv.Close() })
	return p, srv
}

func newClient(t *testing.T, url string, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: url, Key: StaticKey(testKey), Pool: NewPool(2)}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// schedulePath is the endpoint the transport's tests call.
const schedulePath = "/api/2.0/backup/getbackupschedule"

// testSchedule is the part of the schedule the transport's tests check.
type testSchedule struct {
	BackupsStored *int `json:"backupsStored"`
	CronParams    *struct {
		Hour *int `json:"hour"`
	} `json:"cronParams"`
}

// BackupSchedule calls the schedule endpoint, as the collector does.
func (c *Client) BackupSchedule(ctx context.Context) (*testSchedule, error) {
	return Get[testSchedule](ctx, c, schedulePath, "")
}

// testContext returns a context with the deadline of a scrape.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestBackupScheduleFailures(t *testing.T) {
	redirectTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed (Authorization %q sent elsewhere)", r.Header.Get("Authorization"))
	}))
	defer redirectTarget.Close()

	tests := []struct {
		name     string
		override *docspacetest.Response
		setup    func(p *docspacetest.Portal, cfg *Config)
		query    string
		kind     Kind
		status   int
		contains []string
		absent   []string
	}{
		{name: "401 wrong key", setup: func(_ *docspacetest.Portal, c *Config) { c.Key = StaticKey("sk-wrong") },
			kind: KindUnauthorized, status: 401, contains: []string{"rejected the API key"}},
		{name: "403 access denied", override: docspacetest.ForbiddenAccessDenied(), kind: KindForbidden, status: 403,
			contains: []string{`"Access denied"`, "owner or a DocSpace admin", "*:read"}, absent: []string{"PermissionResolver", "stack", "hresult"}},
		{name: "403 empty (scope)", override: docspacetest.ForbiddenEmpty(), kind: KindForbidden, status: 403, contains: []string{"*:read"}},
		{name: "403 dump on SaaS", setup: func(p *docspacetest.Portal, c *Config) { p.SetSaaS(true) }, query: "Dump=true",
			kind: KindForbidden, status: 403, contains: []string{"dump schedule is not available"}},
		{name: "402 problem", override: docspacetest.PaymentRequired(), kind: KindPaymentRequired, status: 402, contains: []string{"unpaid"}},
		{name: "404 problem", override: docspacetest.NotFoundProblem(), kind: KindNotFound, status: 404, contains: []string{"root of an existing, active portal"}},
		{name: "429", override: docspacetest.RateLimited(), kind: KindRateLimited, status: 429, contains: []string{"retry after 30s"}},
		{name: "500 envelope", override: docspacetest.ServerError("Object reference not set"), kind: KindServerError, status: 500,
			contains: []string{"HTTP 500", "Object reference not set"}, absent: []string{"   at "}},
		{name: "502 html", override: docspacetest.BadGatewayHTML(), kind: KindServerError, status: 502, contains: []string{"HTTP 502"}, absent: []string{"<html"}},
		{name: "503 html", override: docspacetest.ServiceUnavailableHTML(), kind: KindServerError, status: 503, contains: []string{"HTTP 503"}},
		{name: "200 html", override: docspacetest.HTMLPage(), kind: KindNotJSON, status: 200, contains: []string{`"text/html"`, "portal root"}, absent: []string{"DOCTYPE"}},
		{name: "wrong base path gets html", setup: func(_ *docspacetest.Portal, c *Config) { c.URL += "/docspace" },
			kind: KindNotJSON, status: 200, contains: []string{"must be the portal root", "not a page of the web client"}},
		{name: "redirect", override: docspacetest.Redirect(redirectTarget.URL + "/login?token=abc"), kind: KindRedirect, status: 301,
			contains: []string{"redirect to " + redirectTarget.URL, "not followed"}, absent: []string{"token=abc"}},
		{name: "malformed", override: docspacetest.Malformed(), kind: KindMalformed, status: 200, contains: []string{"invalid JSON"}},
		{name: "truncated", override: docspacetest.Truncated(), kind: KindMalformed, status: 200, contains: []string{"truncated"}},
		{name: "wrong types", override: docspacetest.WrongTypes(), kind: KindMalformed, status: 200, contains: []string{"is a JSON string"}},
		{name: "status 1 envelope", override: docspacetest.StatusOneEnvelope(), kind: KindAPIError, status: 200, contains: []string{"envelope's status is 1, not 0"}},
		// Spec-generated answers carry any status; the error names the one received.
		{name: "status 7 envelope", override: docspacetest.StatusEnvelope(7), kind: KindAPIError, status: 200, contains: []string{"envelope's status is 7, not 0"}},
		{name: "status -1 envelope", override: docspacetest.StatusEnvelope(-1), kind: KindAPIError, status: 200, contains: []string{"envelope's status is -1, not 0"}},
		// The spec documents JSON bodies on 401 and 429: read like the empty ones, the message not quoted.
		{name: "401 JSON body", override: docspacetest.UnauthorizedJSON(), kind: KindUnauthorized, status: 401,
			contains: []string{"rejected the API key"}, absent: []string{"stack", "   at "}},
		{name: "429 JSON body", override: docspacetest.RateLimitedJSON(), kind: KindRateLimited, status: 429,
			contains: []string{"retry after 30s"}, absent: []string{"stack", "   at "}},
		{name: "huge streamed", override: docspacetest.Huge(8 << 20), kind: KindTooLarge, status: 200, contains: []string{"limit"}},
		{name: "huge with length", override: docspacetest.HugeWithLength(8 << 20), kind: KindTooLarge, status: 200, contains: []string{"8388608-byte body"}},
		{name: "nested too deep", override: &docspacetest.Response{Status: 200, Header: http.Header{"Content-Type": {docspacetest.ContentTypeJSON}},
			Body: []byte(`{"response":` + strings.Repeat("[", 20000))}, kind: KindMalformed, status: 200, contains: []string{"nested too deep"}},
		{name: "huge headers", override: hugeHeaders(), kind: KindTooLarge, status: 0,
			contains: []string{"headers are over 64 KiB"}, absent: []string{"DNS"}},
		{name: "hung portal", setup: func(p *docspacetest.Portal, c *Config) { p.SetHang(true) },
			kind: KindTimeout, status: 0, contains: []string{"slow or hung"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetSchedule(docspacetest.ScheduleS3)
			if tt.override != nil {
				p.SetOverride(docspacetest.PathSchedule, tt.override)
			}
			cfg := Config{URL: srv.URL, Key: StaticKey(testKey), Pool: NewPool(2)}
			if tt.setup != nil {
				tt.setup(p, &cfg)
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			s, err := Get[testSchedule](ctx, c, schedulePath, tt.query)
			if err == nil {
				t.Fatalf("no error, schedule %+v", s)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("the call took %v", time.Since(start))
			}
			assertError(t, err, tt.kind, tt.status, tt.contains, tt.absent)
		})
	}
}

// hugeHeaders is an answer with 2 MiB of headers, within net/http's
// default limit of 10 MiB.
func hugeHeaders() *docspacetest.Response {
	resp := docspacetest.HTMLPage()
	resp.Header.Set("X-Padding", strings.Repeat("a", 2<<20))
	return resp
}

func assertError(t *testing.T, err error, kind Kind, status int, contains, absent []string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *client.Error", err)
	}
	if e.Kind != kind {
		t.Errorf("kind = %v, want %v (%v)", e.Kind, kind, err)
	}
	if got := StatusCode(err); got != status {
		t.Errorf("status = %d, want %d", got, status)
	}
	msg := err.Error()
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	for _, s := range append(absent, secrets...) {
		if strings.Contains(msg, s) {
			t.Errorf("error %q contains %q", msg, s)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newClient(t, url).BackupSchedule(testContext(t))
	assertError(t, err, KindNetwork, 0, []string{"cannot reach the portal"}, nil)
}

func TestTLS(t *testing.T) {
	p := docspacetest.NewPortal(testKey)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	srv := httptest.NewTLSServer(p)
	defer srv.Close()

	_, err := newClient(t, srv.URL).BackupSchedule(testContext(t))
	assertError(t, err, KindTLS, 0, []string{"not signed by a CA this system trusts", "give its CA file (tls.ca_file)"}, nil)
	// The advice names the setting as the operator gives it.
	_, err = newClient(t, srv.URL, func(c *Config) { c.CAKey = "--docspace.tls.ca-file" }).BackupSchedule(testContext(t))
	assertError(t, err, KindTLS, 0, []string{"give its CA file (--docspace.tls.ca-file)"}, nil)

	// A CA file that does not sign the portal's certificate.
	otherCA, err := LoadCA(writeTemp(t, "other-ca.pem", selfSignedCA(t)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newClient(t, srv.URL, func(c *Config) { c.TLS.RootCAs = otherCA }).BackupSchedule(testContext(t))
	assertError(t, err, KindTLS, 0, []string{"CA file given for this portal does not sign the portal's certificate"}, []string{"system trusts"})

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	der := srv.Certificate().Raw
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := LoadCA(caFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newClient(t, srv.URL, func(c *Config) { c.TLS.RootCAs = pool }).BackupSchedule(testContext(t))
	if err != nil || s == nil || *s.BackupsStored != 7 {
		t.Fatalf("with CA file: %+v, %v", s, err)
	}
	// The right CA, but a host name the certificate is not for.
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err = newClient(t, localhost, func(c *Config) { c.TLS.RootCAs = pool }).BackupSchedule(testContext(t))
	assertError(t, err, KindTLS, 0, []string{"not valid for its host name"}, nil)
	s, err = newClient(t, srv.URL, func(c *Config) { c.TLS.InsecureSkipVerify = true }).BackupSchedule(testContext(t))
	if err != nil || s == nil {
		t.Fatalf("insecure: %+v, %v", s, err)
	}
}

// http:// to a TLS port, and https:// to a plain HTTP port, say which
// scheme the port takes.
func TestSchemeMixUps(t *testing.T) {
	p := docspacetest.NewPortal(testKey)
	tlsSrv := httptest.NewTLSServer(p)
	defer tlsSrv.Close()
	_, err := newClient(t, strings.Replace(tlsSrv.URL, "https://", "http://", 1)).BackupSchedule(testContext(t))
	assertError(t, err, KindHTTPStatus, 400, []string{"answers HTTPS on this port", "use https://"}, []string{"unexpected"})

	// nginx's answer.
	nginx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "<html><center>The plain HTTP request was sent to HTTPS port</center></html>")
	}))
	defer nginx.Close()
	_, err = newClient(t, nginx.URL).BackupSchedule(testContext(t))
	assertError(t, err, KindHTTPStatus, 400, []string{"use https://"}, nil)

	plain := httptest.NewServer(p)
	defer plain.Close()
	_, err = newClient(t, strings.Replace(plain.URL, "http://", "https://", 1)).BackupSchedule(testContext(t))
	assertError(t, err, KindTLS, 0, []string{"answers plain HTTP, not HTTPS", "use http:// (only on loopback"}, []string{"cannot reach"})
}

func TestNewRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"relative URL", Config{URL: "portal.example.com", Key: StaticKey("k")}, "https://"},
		{"ftp", Config{URL: "ftp://portal.example.com", Key: StaticKey("k")}, "https://"},
		{"no host", Config{URL: "https://", Key: StaticKey("k")}, "no host"},
		{"user info", Config{URL: "https://admin:hunter2@portal.example.com", Key: StaticKey("k")}, "user name or password"},
		{"query", Config{URL: "https://portal.example.com/?a=b", Key: StaticKey("k")}, "query"},
		{"host and port without scheme", Config{URL: "127.0.0.1:8443", Key: StaticKey("k")}, "must start with https:// (or http://), e.g. https://portal.example.com"},
		{"host name and port without scheme", Config{URL: "portal.example.com:8443", Key: StaticKey("k")}, "must start with https:// (or http://), e.g. https://portal.example.com"},
		{"API path", Config{URL: "https://portal.example.com/api/2.0", Key: StaticKey("k")}, "drop /api/2.0: give the portal root"},
		{"API path below a prefix", Config{URL: "https://example.com/docspace/API/2.0/", Key: StaticKey("k")}, "drop /api/2.0: give the portal root"},
		{"web client page", Config{URL: "https://portal.example.com/rooms/shared", Key: StaticKey("k")},
			"is a page of the DocSpace web client (/rooms/...), not the portal root: give the address up to the host name, e.g. https://portal.example.com"},
		{"web client settings", Config{URL: "https://portal.example.com/portal-settings/backup/auto-backup", Key: StaticKey("k")}, "is a page of the DocSpace web client (/portal-settings/...)"},
		{"no key", Config{URL: "https://portal.example.com"}, "no API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	for path, want := range map[string]string{"/nonexistent/ca.pem": "cannot read the CA file", bad: "holds no PEM certificate"} {
		if _, err := LoadCA(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadCA(%s) = %v; want an error containing %q", path, err, want)
		}
	}
}

func TestURLWithPathAndTrailingSlash(t *testing.T) {
	p := docspacetest.NewPortal(testKey)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	mux := http.NewServeMux()
	mux.Handle("/docspace/", http.StripPrefix("/docspace", p))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, srv.URL+"/docspace/")
	if c.base.String() != srv.URL+"/docspace" {
		t.Errorf("the portal root is %q", c.base)
	}
	if s, err := c.BackupSchedule(testContext(t)); err != nil || *s.CronParams.Hour != 2 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	tests := []struct{ key, want string }{
		{testKey, "Bearer " + testKey},
		{"aBcD+/=token", "Bearer aBcD+/=token"},
		{"Bearer abc", "Bearer abc"},
		{"Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"},
		// DocSpace compares the scheme case-sensitively.
		{"bearer " + testKey, "Bearer " + testKey},
		{"BEARER abc", "Bearer abc"},
		{"basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"},
		{"Negotiate abc", "Negotiate abc"},
	}
	for _, tt := range tests {
		if got := authorization(tt.key); got != tt.want {
			t.Errorf("authorization(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	p, srv := newFake(t)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	if _, err := newClient(t, srv.URL).BackupSchedule(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if got := p.Authorizations(); len(got) != 1 || got[0] != "Bearer "+testKey {
		t.Errorf("Authorization headers = %q", got)
	}
}

func TestFileKeyRotation(t *testing.T) {
	p, srv := newFake(t)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("  sk-old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := NewFileKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, func(c *Config) { c.Key = key })
	_, err = c.BackupSchedule(testContext(t))
	assertError(t, err, KindUnauthorized, 401, nil, []string{"sk-old"})

	// Rotate: write the right key with a new modification time.
	if err := os.WriteFile(path, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(path, future, future)
	if _, err := c.BackupSchedule(testContext(t)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if got := p.Authorizations(); got[len(got)-1] != "Bearer "+testKey || got[0] != "Bearer sk-old" {
		t.Errorf("Authorization headers = %q", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = c.BackupSchedule(testContext(t))
	assertError(t, err, KindKey, 0, []string{"API key file"}, nil)
}

func TestNewFileKeyErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte(" \n\t"), 0o600)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file",
		empty:                         "is empty",
		dir:                           "is a folder, not a regular file",
	} {
		if _, err := NewFileKey(path, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewFileKey(%s) = %v, want %q", path, err, want)
		}
	}
	if _, err := StaticKey("  ").Key(); err == nil {
		t.Error("an empty static key was accepted")
	}
	if k, _ := StaticKey(" sk-x \n").Key(); k != "sk-x" {
		t.Errorf("static key = %q, want trimmed", k)
	}
}

// While one call is in flight, concurrent callers share it.
func TestConcurrentCallsShareOneRequest(t *testing.T) {
	p, srv := newFake(t)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	p.SetLatency(300 * time.Millisecond)
	c := newClient(t, srv.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			s, err := c.BackupSchedule(testContext(t))
			if err == nil && *s.BackupsStored != 7 {
				err = errors.New("wrong schedule")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Requests(docspacetest.PathSchedule); n != 1 {
		t.Errorf("the fake saw %d requests, want 1", n)
	}
	// A later call is not served from the earlier one.
	if _, err := c.BackupSchedule(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if n := p.Requests(docspacetest.PathSchedule); n != 2 {
		t.Errorf("the fake saw %d requests, want 2", n)
	}
}

// A caller whose deadline is shorter than the shared call's gives up on time.
func TestCallerDeadline(t *testing.T) {
	p, srv := newFake(t)
	p.SetHang(true)
	c := newClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.BackupSchedule(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v", d)
	}
	assertError(t, err, KindTimeout, 0, []string{"slow or hung"}, nil)
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2026-06-29T02:07:31", time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), false},
		{"2026-06-29T02:07:31.1234567", time.Date(2026, 6, 29, 2, 7, 31, 123456700, time.UTC), false},
		{"2026-06-29T02:07:31.123456Z", time.Date(2026, 6, 29, 2, 7, 31, 123456000, time.UTC), false},
		{"2026-06-29T05:07:31+03:00", time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), false},
		{"2026-06-29 02:07:31", time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), false},
		{"2026-06-29 02:07:31+00", time.Time{}, true},
		{"0001-01-01T00:00:00", time.Time{}, false},
		{"0001-01-01T00:00:00Z", time.Time{}, false},
		{"-infinity", time.Time{}, false},
		{"infinity", time.Time{}, false},
		{"9999-12-31T23:59:59", time.Time{}, false},
		{"9999-12-31T23:59:59.9999999", time.Time{}, false},
		{"1500-01-01T00:00:00", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2026-13-01T00:00:00", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("ParseDateTime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// writeTemp writes content to a new file and returns its path.
func writeTemp(t *testing.T, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSignedCA returns the PEM of a new CA certificate.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "another CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// The spec lists X-RateLimit-* on every answer: on a 200, even one saying
// nothing remains, they hold no call back; only a 429 or 503 with
// Retry-After does.
func TestRateLimitHeadersOn200(t *testing.T) {
	p, srv := newFake(t)
	p.SetSchedule(docspacetest.ScheduleS3)
	p.SetRateLimitHeaders(true)
	c, err := New(Config{URL: srv.URL, Key: StaticKey(testKey), Pool: NewPool(2)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if s, err := Get[testSchedule](context.Background(), c, schedulePath, ""); err != nil || s == nil {
			t.Fatalf("call %d: %+v, %v", i, s, err)
		}
	}
	if n := p.Requests(schedulePath); n != 2 {
		t.Errorf("%d requests reached the portal, want 2", n)
	}
	resp, err := http.Get(srv.URL + schedulePath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("the fake sent no X-RateLimit-* headers: %v", resp.Header)
	}
}
