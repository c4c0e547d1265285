package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/docspace-exporter/docspace_exporter/config"
)

// The exporter's server drops idle and slow clients, and still lets the
// longest scrape answer.
func TestServerTimeouts(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout = %v, want a few seconds", s.ReadHeaderTimeout)
	}
	// Kept alive past a 1m scrape interval; freed within minutes.
	if s.IdleTimeout <= time.Minute || s.IdleTimeout > 5*time.Minute {
		t.Errorf("IdleTimeout = %v, want over a minute and at most 5m", s.IdleTimeout)
	}
	// A request refused by basic auth waits for its announced body this long.
	if s.ReadTimeout <= 0 || s.ReadTimeout > 30*time.Second {
		t.Errorf("ReadTimeout = %v, want a few seconds", s.ReadTimeout)
	}
	if s.WriteTimeout <= config.MaxTimeout {
		t.Errorf("WriteTimeout = %v, want more than the longest scrape (%v)", s.WriteTimeout, config.MaxTimeout)
	}
}

// rawRequest sends req on a new connection to e and returns all the server
// sent until it closed the connection; it fails when the connection is
// still open after 5s.
func rawRequest(t *testing.T, e *exporter, req string) string {
	t.Helper()
	return rawRequestWithin(t, e, req, 5*time.Second)
}

// rawRequestWithin is rawRequest that waits up to wait.
func rawRequestWithin(t *testing.T, e *exporter, req string, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the connection is still open (%v); got so far %q", err, b)
	}
	return string(b)
}

// A client that announces a body and never sends it cannot hold the
// connection: the request is refused and the connection closed.
func TestBinaryRefusesRequestBodies(t *testing.T) {
	e := startExporter(t, "http", []string{"--docspace.url=http://portal.example.test", "--docspace.timezone=UTC"}, "DOCSPACE_API_KEY="+testKey)
	for _, req := range []string{
		"GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab",
		"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab",
	} {
		got := rawRequest(t, e, req)
		if !strings.HasPrefix(got, "HTTP/1.1 413 ") || !strings.Contains(got, "request body") {
			t.Errorf("%q: got %q, want a 413 that names the body", req, got)
		}
	}
	// Without a body, as Prometheus and curl -X POST send, all is as before.
	if got := rawRequest(t, e, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Errorf("got %q, want 200", got)
	}
}

// A request with 100 KiB of headers is refused with 431; Prometheus sends
// under 1 KiB.
func TestBinaryRefusesHugeHeaders(t *testing.T) {
	e := startExporter(t, "http", []string{"--docspace.url=http://portal.example.test", "--docspace.timezone=UTC"}, "DOCSPACE_API_KEY="+testKey)
	req := "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	if got := rawRequest(t, e, req); !strings.HasPrefix(got, "HTTP/1.1 431 ") {
		t.Errorf("got %.100q, want 431", got)
	}
	req = "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: " + strings.Repeat("a", 8<<10) + "\r\n\r\n"
	if got := rawRequest(t, e, req); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Errorf("an 8 KiB cookie: got %.100q, want 200", got)
	}
}

// An answer may take longer than ReadTimeout, which bounds only the reading
// of the request: the longest scrape is not cut.
func TestServerAnswersPastReadTimeout(t *testing.T) {
	s := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(400 * time.Millisecond):
			io.WriteString(w, "answered")
		case <-r.Context().Done():
			io.WriteString(w, "cancelled: "+context.Cause(r.Context()).Error())
		}
	}))
	s.ReadTimeout = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	code, body := get(t, nil, "http://"+ln.Addr().String()+"/")
	if code != http.StatusOK || body != "answered" {
		t.Errorf("HTTP %d %q, want 200 answered", code, body)
	}
}

// With basic auth on, exporter-toolkit answers 401 before noBody sees the
// request; a body that never arrives still cannot hold the connection past
// ReadTimeout.
func TestBinaryBasicAuthRefusesRequestBodies(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, "web.yml", fmt.Sprintf("basic_auth_users:\n  prometheus: %s\n", hash))
	e := startExporter(t, "http", []string{"--docspace.url=http://portal.example.test", "--docspace.timezone=UTC", "--web.config.file=" + webConfig}, "DOCSPACE_API_KEY="+testKey)
	got := rawRequestWithin(t, e, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab", readTimeout+5*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 401 ") {
		t.Errorf("got %q, want 401", got)
	}
}
