package docspacetest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// CountConnections makes srv, an httptest.Server not yet started, count
// the client connections it holds open, and returns a function that tells
// how many there are. It replaces srv.Config.ConnState.
func CountConnections(srv *httptest.Server) func() int {
	var (
		mu   sync.Mutex
		open = map[net.Conn]bool{}
	)
	srv.Config.ConnState = func(c net.Conn, state http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch state {
		case http.StateNew:
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(open)
	}
}
