package client

import (
	"container/list"
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// idleConns keeps at most max of a transport's connections open while
// idle, closing the one idle the longest past that. net/http's
// MaxIdleConns bounds HTTP/1.1 connections only: an HTTP/2 connection it
// drops from its idle list stays open, to be used again, until it has been
// idle for IdleConnTimeout, so a fleet of HTTP/2 portals would keep one
// connection (about 40 KiB and a file descriptor) to every portal probed
// more often than that.
type idleConns struct {
	max int

	mu   sync.Mutex
	idle list.List // of *trackedConn, the one idle the longest first
}

// trackedConn is a connection to a portal, under TLS, with the calls
// that use it.
type trackedConn struct {
	net.Conn
	set *idleConns
	// busy counts the calls using the connection; a new one is taken by
	// the call it was opened for until that call has it (fresh).
	busy  int
	fresh bool
	elem  *list.Element // in set.idle while idle
	gone  bool          // closed
}

// dial wraps dial so that the connections it opens are tracked.
func (s *idleConns) dial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &trackedConn{Conn: c, set: s, busy: 1, fresh: true}, nil
	}
}

// use marks the connection a call got (httptrace's GotConnInfo.Conn) as
// used, and returns the function to call when the call is done with it.
func (s *idleConns) use(c net.Conn) (done func()) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tc, ok := c.(*trackedConn)
	if !ok {
		return func() {}
	}
	s.mu.Lock()
	if tc.fresh {
		tc.fresh = false
	} else {
		tc.busy++
	}
	if tc.elem != nil {
		s.idle.Remove(tc.elem)
		tc.elem = nil
	}
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		var evict []*trackedConn
		if tc.busy--; tc.busy == 0 && !tc.gone {
			tc.elem = s.idle.PushBack(tc)
			for s.idle.Len() > s.max {
				oldest := s.idle.Remove(s.idle.Front()).(*trackedConn)
				oldest.elem, oldest.gone = nil, true
				evict = append(evict, oldest)
			}
		}
		s.mu.Unlock()
		for _, c := range evict {
			c.Conn.Close()
		}
	})
}

// Close closes the connection and stops tracking it.
func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	if c.elem != nil {
		c.set.idle.Remove(c.elem)
		c.elem = nil
	}
	c.gone = true
	c.set.mu.Unlock()
	return c.Conn.Close()
}
