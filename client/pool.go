package client

import (
	"crypto/tls"
	"net/http"
	"sync"
)

// maxIdlePerPortal is how many idle connections a portal keeps at most: a
// scrape calls two endpoints at once.
const maxIdlePerPortal = 2

// maxSessions is how many TLS sessions a transport keeps to resume, the
// most recently used: one for each portal of a fleet of up to 10,000, at
// about 2 KiB each, 20 MiB at most. Past it, a fleet probed in turn finds
// none left (the cache is LRU). A portal whose connection was closed resumes its session
// on the next one rather than making a full handshake, skipping the
// certificate checks, which with the key exchange cost the most CPU of a
// probe over HTTPS. A transport holds one set of TLS settings, so a session
// is never offered to a portal of other TLS settings; within it sessions
// are kept by host name.
const maxSessions = 10000

// Pool holds the connections to DocSpace that are kept alive between
// scrapes, shared by the clients of many portals. At most maxIdle
// connections stay idle for all the portals with the same TLS settings
// together, and at most two for one portal; past that, the one idle the
// longest is closed. So a fleet too big to keep a connection to every
// portal open costs a bounded amount of memory and file descriptors, and
// pays a new connection (and TLS handshake) for the portals whose
// connections were closed.
type Pool struct {
	maxIdle int

	mu         sync.Mutex
	transports []*transport // one per distinct TLS settings
}

// transport is an http.Transport with the bound of its idle connections
// (see idleConns).
type transport struct {
	*http.Transport
	idle *idleConns
}

// NewPool returns a pool that keeps at most maxIdle idle connections per
// TLS settings; with 0 it keeps none, every call opening a connection.
func NewPool(maxIdle int) *Pool {
	return &Pool{maxIdle: max(maxIdle, 0)}
}

// transport returns the transport for the TLS settings cfg, made on first use.
func (p *Pool) transport(cfg TLSConfig) *transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.transports {
		// Equal takes a nil pool, the system's CAs, as equal to nil only.
		if c := t.TLSClientConfig; c.InsecureSkipVerify == cfg.InsecureSkipVerify && c.RootCAs.Equal(cfg.RootCAs) {
			return t
		}
	}
	t := &transport{Transport: http.DefaultTransport.(*http.Transport).Clone(), idle: &idleConns{max: p.maxIdle}}
	t.DialContext = t.idle.dial(t.DialContext)
	t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // an explicit operator choice
		ClientSessionCache: tls.NewLRUClientSessionCache(maxSessions)}
	// HTTP/2 where the portal offers it, as DocSpace's nginx does: the
	// calls of a scrape share one connection. The clone of net/http's
	// default transport asks for it already; a TLSClientConfig of one's
	// own would turn it off otherwise.
	t.ForceAttemptHTTP2 = true
	// net/http takes MaxIdleConns 0 for no limit: 0 here turns keep-alive off.
	t.MaxIdleConns = p.maxIdle
	t.MaxIdleConnsPerHost = maxIdlePerPortal
	t.DisableKeepAlives = p.maxIdle == 0
	// Requests and answers are small; an exporter probing many portals
	// keeps many connections open, so small buffers add up.
	t.ReadBufferSize = 2 << 10
	t.MaxResponseHeaderBytes = MaxHeaderSize
	t.WriteBufferSize = 1 << 10
	p.transports = append(p.transports, t)
	return t
}
