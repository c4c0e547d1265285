package docspacetest

import (
	"net"
	"net/http"
	"strings"
	"sync"
)

// Fleet is an http.Handler serving many fake portals behind one listener, the
// way one DocSpace installation serves many tenants: each request goes to the
// portal registered for its host (X-Forwarded-Host if present, else Host;
// port ignored, case-insensitive). An unknown host gets 404 ProblemDetails.
// Fleet is safe for concurrent use.
type Fleet struct {
	mu      sync.RWMutex
	portals map[string]*Portal
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet {
	return &Fleet{portals: make(map[string]*Portal)}
}

// Add registers p for host; a port in host is ignored. Adding the same host
// again replaces its portal.
func (f *Fleet) Add(host string, p *Portal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.portals[hostKey(host)] = p
}

// Portal returns the portal registered for host, or nil.
func (f *Fleet) Portal(host string) *Portal {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.portals[hostKey(host)]
}

// Close closes every registered portal, releasing their hung requests.
func (f *Fleet) Close() {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, p := range f.portals {
		p.Close()
	}
}

// ServeHTTP dispatches the request to the portal for its host.
func (f *Fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if v := firstForwarded(r.Header.Get("X-Forwarded-Host")); v != "" {
		host = v
	}
	p := f.Portal(host)
	if p == nil {
		NotFoundProblem().ServeHTTP(w, r)
		return
	}
	p.ServeHTTP(w, r)
}

// hostKey lowercases host and strips a port.
func hostKey(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}
