package client

import (
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// countingPortal is a fake portal that counts the connections opened to it.
type countingPortal struct {
	url   string
	conns atomic.Int64
}

func newCountingPortal(t *testing.T) *countingPortal {
	t.Helper()
	p := docspacetest.NewPortal(testKey)
	p.SetSchedule(docspacetest.ScheduleS3)
	cp := &countingPortal{}
	srv := httptest.NewUnstartedServer(p)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cp.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() { p.Close(); srv.Close() })
	cp.url = srv.URL
	return cp
}

// TestPoolBound calls portals a, b, a in turn through clients sharing a
// pool, and counts the connections a got: a pool with room for both keeps
// a's connection for the second call; a pool of one closes it to keep b's;
// a pool of none opens one per call.
func TestPoolBound(t *testing.T) {
	for _, tt := range []struct {
		maxIdle int
		want    int64 // connections to a
	}{{2, 1}, {1, 2}, {0, 2}} {
		pool := NewPool(tt.maxIdle)
		a, b := newCountingPortal(t), newCountingPortal(t)
		ca := newClient(t, a.url, func(c *Config) { c.Pool = pool })
		cb := newClient(t, b.url, func(c *Config) { c.Pool = pool })
		for _, c := range []*Client{ca, cb, ca} {
			if _, err := c.BackupSchedule(testContext(t)); err != nil {
				t.Fatal(err)
			}
		}
		if got := a.conns.Load(); got != tt.want {
			t.Errorf("a pool of %d idle connections: portal a got %d connections for 2 calls, want %d", tt.maxIdle, got, tt.want)
		}
	}
}

// TestPoolSharesTransports: portals with the same TLS settings share one
// transport, and so one bound; others get their own.
func TestPoolSharesTransports(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	roots := func() *x509.CertPool { // a new pool of the same CA each time, as LoadCA makes
		p := x509.NewCertPool()
		p.AddCert(srv.Certificate())
		return p
	}
	pool := NewPool(10)
	system := pool.transport(TLSConfig{})
	for _, tt := range []struct {
		name string
		cfg  TLSConfig
		same bool
	}{
		{"system roots", TLSConfig{}, true},
		{"insecure", TLSConfig{InsecureSkipVerify: true}, false},
		{"own CA", TLSConfig{RootCAs: roots()}, false},
	} {
		if got := pool.transport(tt.cfg) == system; got != tt.same {
			t.Errorf("%s: shares the transport of the system roots: %t, want %t", tt.name, got, tt.same)
		}
	}
	first, second := pool.transport(TLSConfig{RootCAs: roots()}), pool.transport(TLSConfig{RootCAs: roots()})
	if first != second {
		t.Error("two portals with the same CA file do not share a transport")
	}
	if n := len(pool.transports); n != 3 {
		t.Errorf("%d transports for 3 distinct TLS settings", n)
	}
	if tr := pool.transport(TLSConfig{}); tr.MaxIdleConns != 10 || tr.MaxIdleConnsPerHost != maxIdlePerPortal || tr.DisableKeepAlives {
		t.Errorf("transport: MaxIdleConns %d, MaxIdleConnsPerHost %d, DisableKeepAlives %t", tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.DisableKeepAlives)
	}
}

// A portal's next client, built by a reload on the same pool, uses the
// connection the last one left idle: a reload costs no new connection.
func TestPoolOutlivesClients(t *testing.T) {
	pool := NewPool(2)
	a := newCountingPortal(t)
	for range 3 {
		c := newClient(t, a.url, func(c *Config) { c.Pool = pool })
		if _, err := c.BackupSchedule(testContext(t)); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.conns.Load(); got != 1 {
		t.Errorf("3 clients of one portal on one pool opened %d connections, want 1", got)
	}
}
