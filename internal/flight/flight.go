// Package flight shares calls among concurrent callers, like
// golang.org/x/sync/singleflight, but a shared call lives only as long as
// someone waits for it.
package flight

import (
	"context"
	"sync"
)

// Group shares calls among concurrent callers: each caller
// waits no longer than its own context, and when the last one leaves, the
// call's context is cancelled and the call is forgotten, so the next caller
// starts a fresh one instead of joining a call nobody waits for any more.
type Group struct {
	mu    sync.Mutex
	calls map[string]*call
}

// call is one call in flight and the callers waiting for it.
type call struct {
	cancel  context.CancelFunc
	waiters int           // callers still waiting; guarded by Group.mu
	done    chan struct{} // closed when val and err are set
	val     any
	err     error
}

// Do returns the result of fn, called once for all the callers of key
// that wait at the same time. fn gets a context that carries the values of
// the caller that started the call, is not cancelled when that caller
// leaves, and is cancelled when every waiting caller has left. When ctx
// ends first, do returns ctx's error.
func (g *Group) Do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	g.mu.Lock()
	c, ok := g.calls[key]
	if !ok {
		callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call{cancel: cancel, done: make(chan struct{})}
		if g.calls == nil {
			g.calls = make(map[string]*call)
		}
		g.calls[key] = c
		go g.run(callCtx, key, c, fn)
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		g.leave(key, c)
		return nil, ctx.Err()
	}
}

// run makes the call and hands its result to the callers waiting.
func (g *Group) run(ctx context.Context, key string, c *call, fn func(context.Context) (any, error)) {
	c.val, c.err = fn(ctx)
	g.mu.Lock()
	g.forget(key, c)
	g.mu.Unlock()
	c.cancel()
	close(c.done)
}

// leave is called by a caller that stops waiting for c; the last one to
// leave cancels the call.
func (g *Group) leave(key string, c *call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters == 0 {
		g.forget(key, c)
		c.cancel()
	}
}

// forget removes c from the calls that can be joined, unless a newer call
// of key has taken its place. g.mu must be held.
func (g *Group) forget(key string, c *call) {
	if g.calls[key] == c {
		delete(g.calls, key)
	}
}
