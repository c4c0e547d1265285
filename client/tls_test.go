package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// tlsPortal is a fake portal served over HTTPS with HTTP/2, as DocSpace's
// nginx serves it, that counts its connections and its full and resumed
// TLS handshakes.
type tlsPortal struct {
	*docspacetest.Portal
	srv                        *httptest.Server
	roots                      func() *x509.CertPool // a new pool of its CA each time, as LoadCA makes
	conns, gone, full, resumed atomic.Int64
	mu                         sync.Mutex
	protocols                  map[string]int // requests by protocol
}

// newTLSPortal serves a portal on 127.0.0.1, or on the address given
// (such as [::1]:0, which the test certificate is valid for too: portals
// on other hosts keep their TLS sessions apart).
func newTLSPortal(t *testing.T, addr ...string) *tlsPortal {
	t.Helper()
	tp := &tlsPortal{Portal: docspacetest.NewPortal(testKey), protocols: map[string]int{}}
	tp.SetSchedule(docspacetest.ScheduleS3)
	tp.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.mu.Lock()
		tp.protocols[r.Proto]++
		tp.mu.Unlock()
		tp.ServeHTTP(w, r)
	}))
	if len(addr) > 0 {
		l, err := net.Listen("tcp", addr[0])
		if err != nil {
			t.Fatal(err)
		}
		tp.srv.Listener.Close()
		tp.srv.Listener = l
	}
	tp.srv.EnableHTTP2 = true
	tp.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			tp.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			tp.gone.Add(1)
		}
	}
	tp.srv.TLS = &tls.Config{VerifyConnection: func(cs tls.ConnectionState) error {
		if cs.DidResume {
			tp.resumed.Add(1)
		} else {
			tp.full.Add(1)
		}
		return nil
	}}
	tp.srv.StartTLS()
	t.Cleanup(func() { tp.Close(); tp.srv.Close() })
	tp.roots = func() *x509.CertPool {
		p := x509.NewCertPool()
		p.AddCert(tp.srv.Certificate())
		return p
	}
	return tp
}

// counts returns the portal's connections and full and resumed handshakes.
func (tp *tlsPortal) counts() [3]int64 {
	return [3]int64{tp.conns.Load(), tp.full.Load(), tp.resumed.Load()}
}

// open returns how many connections the portal has open, once the
// closed ones are seen as closed.
func (tp *tlsPortal) open(want int64) int64 {
	deadline := time.Now().Add(2 * time.Second)
	for tp.conns.Load()-tp.gone.Load() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return tp.conns.Load() - tp.gone.Load()
}

// probe calls the schedule and the progress at once, as a scrape does.
func probe(t *testing.T, c *Client) {
	t.Helper()
	var wg sync.WaitGroup
	for _, path := range []string{schedulePath, docspacetest.PathProgress} {
		wg.Go(func() {
			if _, err := Get[json.RawMessage](testContext(t), c, path, ""); err != nil {
				t.Error(path, err)
			}
		})
	}
	wg.Wait()
}

// Two calls at once to a portal that offers HTTP/2 share one connection.
func TestHTTP2SharesConnection(t *testing.T) {
	tp := newTLSPortal(t)
	tp.SetLatency(100 * time.Millisecond) // the calls overlap
	c := newClient(t, tp.srv.URL, func(c *Config) { c.TLS.RootCAs = tp.roots() })
	probe(t, c)
	if got := tp.counts(); got != [3]int64{1, 1, 0} {
		t.Errorf("two concurrent calls: %d connections, %d full and %d resumed handshakes; want 1, 1, 0", got[0], got[1], got[2])
	}
	if tp.protocols["HTTP/2.0"] != 2 {
		t.Errorf("requests by protocol: %v, want 2 over HTTP/2.0", tp.protocols)
	}
}

// A probe after the idle connection was closed, by the same client or by
// the portal's next one made by a reload, resumes the TLS session rather
// than making a full handshake. A portal with other TLS settings does not
// get the session.
func TestTLSSessionResumption(t *testing.T) {
	tp := newTLSPortal(t)
	pool := NewPool(2)
	c := newClient(t, tp.srv.URL, func(c *Config) { c.Pool = pool; c.TLS.RootCAs = tp.roots() })
	probe(t, c)
	pool.transport(TLSConfig{RootCAs: tp.roots()}).CloseIdleConnections()
	probe(t, c)
	if got := tp.counts(); got != [3]int64{2, 1, 1} {
		t.Errorf("a second probe after the connection was closed: %d connections, %d full and %d resumed handshakes; want 2, 1, 1", got[0], got[1], got[2])
	}

	pool.transport(TLSConfig{RootCAs: tp.roots()}).CloseIdleConnections()
	reloaded := newClient(t, tp.srv.URL, func(c *Config) { c.Pool = pool; c.TLS.RootCAs = tp.roots() })
	probe(t, reloaded)
	if got := tp.counts(); got != [3]int64{3, 1, 2} {
		t.Errorf("the portal's client rebuilt by a reload: %d connections, %d full and %d resumed handshakes; want 3, 1, 2", got[0], got[1], got[2])
	}

	insecure := newClient(t, tp.srv.URL, func(c *Config) { c.Pool = pool; c.TLS.InsecureSkipVerify = true })
	probe(t, insecure)
	if got := tp.counts(); got != [3]int64{4, 2, 2} {
		t.Errorf("the portal with other TLS settings: %d connections, %d full and %d resumed handshakes; want 4, 2, 2", got[0], got[1], got[2])
	}
}

// The limits on the answer hold over HTTP/2 as over HTTP/1.1.
func TestHTTP2Limits(t *testing.T) {
	for _, tt := range []struct {
		name     string
		override *docspacetest.Response
		status   int
		contains string
	}{
		{"huge headers", hugeHeaders(), 0, "headers are over 64 KiB"},
		{"many headers", manyHeaders(), 0, "headers are over 64 KiB"},
		{"huge streamed", docspacetest.Huge(8 << 20), 200, "over the 1048576-byte limit"},
		{"huge with length", docspacetest.HugeWithLength(8 << 20), 200, "8388608-byte body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTLSPortal(t)
			tp.SetOverride(docspacetest.PathSchedule, tt.override)
			c := newClient(t, tp.srv.URL, func(c *Config) { c.TLS.RootCAs = tp.roots() })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := c.BackupSchedule(ctx)
			assertError(t, err, KindTooLarge, tt.status, []string{tt.contains}, nil)
			if tp.protocols["HTTP/2.0"] != 1 {
				t.Errorf("requests by protocol: %v, want 1 over HTTP/2.0", tp.protocols)
			}
		})
	}
}

// manyHeaders is an answer with 100 headers of 1 KiB each: under HTTP/2,
// over the limit of all headers together but not of one.
func manyHeaders() *docspacetest.Response {
	resp := docspacetest.HTMLPage()
	for i := range 100 {
		resp.Header.Set(fmt.Sprintf("X-Padding-%d", i), strings.Repeat("a", 1<<10))
	}
	return resp
}

// The pool's bound holds for HTTP/2 connections too, which net/http's own
// bound leaves open: probing portals a, b, a through a pool of one idle
// connection closes a's connection to keep b's, and a gets a new one,
// resuming its session; a pool of two keeps both.
func TestPoolBoundHTTP2(t *testing.T) {
	for _, tt := range []struct {
		maxIdle  int
		want     [3]int64 // a's connections, full and resumed handshakes
		wantOpen int64
	}{{2, [3]int64{1, 1, 0}, 1}, {1, [3]int64{2, 1, 1}, 1}} {
		pool := NewPool(tt.maxIdle)
		a, b := newTLSPortal(t), newTLSPortal(t, "[::1]:0")
		ca := newClient(t, a.srv.URL, func(c *Config) { c.Pool = pool; c.TLS.RootCAs = a.roots() })
		cb := newClient(t, b.srv.URL, func(c *Config) { c.Pool = pool; c.TLS.RootCAs = b.roots() })
		for _, c := range []*Client{ca, cb, ca} {
			probe(t, c)
		}
		if got := a.counts(); got != tt.want {
			t.Errorf("a pool of %d idle connections: portal a got %d connections, %d full and %d resumed handshakes for 2 probes, want %v",
				tt.maxIdle, got[0], got[1], got[2], tt.want)
		}
		if open := a.open(tt.wantOpen); open != tt.wantOpen {
			t.Errorf("a pool of %d idle connections: portal a has %d connections open after the probes, want %d", tt.maxIdle, open, tt.wantOpen)
		}
	}
}
