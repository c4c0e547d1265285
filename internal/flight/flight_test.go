package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// inFlight returns how many calls of g can be joined.
func (g *Group) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// Callers that wait at the same time share one call and get its result.
func TestGroupShares(t *testing.T) {
	var g Group
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(context.Context) (any, error) {
		calls.Add(1)
		<-release
		return "answer", nil
	}
	var wg sync.WaitGroup
	results := make(chan any, 10)
	for range 10 {
		wg.Go(func() {
			v, err := g.Do(context.Background(), "k", fn)
			if err != nil {
				t.Error(err)
			}
			results <- v
		})
	}
	docspacetest.WaitFor(t, "10 callers waiting", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		c := g.calls["k"]
		return c != nil && c.waiters == 10
	})
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != "answer" {
			t.Errorf("a caller got %v", v)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("fn was called %d times, want 1", n)
	}
	if n := g.inFlight(); n != 0 {
		t.Errorf("%d calls left in flight", n)
	}
	// A later caller gets a new call.
	if _, err := g.Do(context.Background(), "k", fn); err != nil || calls.Load() != 2 {
		t.Errorf("a later caller: %v, %d calls; want a second call", err, calls.Load())
	}
}

// When the caller that started a call leaves, the call goes on for the
// others still waiting.
func TestGroupCallOutlivesItsStarter(t *testing.T) {
	var g Group
	release := make(chan struct{})
	cancelled := make(chan struct{})
	fn := func(ctx context.Context) (any, error) {
		select {
		case <-release:
			return "answer", nil
		case <-ctx.Done():
			close(cancelled)
			return nil, ctx.Err()
		}
	}
	first, leave := context.WithCancel(context.Background())
	firstDone := make(chan error)
	go func() {
		_, err := g.Do(first, "k", fn)
		firstDone <- err
	}()
	docspacetest.WaitFor(t, "the first caller", func() bool { return g.inFlight() == 1 })
	secondDone := make(chan any)
	go func() {
		v, _ := g.Do(context.Background(), "k", fn)
		secondDone <- v
	}()
	docspacetest.WaitFor(t, "the second caller", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.calls["k"].waiters == 2
	})
	leave()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Errorf("the first caller got %v, want context.Canceled", err)
	}
	select {
	case <-cancelled:
		t.Fatal("the call was cancelled although a caller still waits")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if v := <-secondDone; v != "answer" {
		t.Errorf("the second caller got %v", v)
	}
}

// When the last waiting caller leaves, the call is cancelled and forgotten:
// the next caller starts afresh instead of joining it.
func TestGroupLastCallerCancels(t *testing.T) {
	var g Group
	var calls atomic.Int32
	cancelled := make(chan struct{}, 2)
	hang := func(ctx context.Context) (any, error) {
		calls.Add(1)
		<-ctx.Done()
		cancelled <- struct{}{}
		return nil, ctx.Err()
	}
	var wg sync.WaitGroup
	for _, d := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond} {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			if _, err := g.Do(ctx, "k", hang); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("caller with a %v deadline got %v", d, err)
			}
		})
	}
	wg.Wait()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the call went on after every caller left")
	}
	if n := g.inFlight(); n != 0 {
		t.Errorf("%d calls can still be joined after every caller left", n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("fn was called %d times, want 1", n)
	}
	v, err := g.Do(context.Background(), "k", func(context.Context) (any, error) { return "fresh", nil })
	if err != nil || v != "fresh" {
		t.Errorf("the next caller got %v, %v; want a fresh call", v, err)
	}
}
