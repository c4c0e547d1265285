package config

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// blockingHolder is a Holder of a file whose builds after the first are
// counted and, while hold is set, wait for release.
type blockingHolder struct {
	*Holder[int]
	path    string
	builds  atomic.Int32
	loads   atomic.Int32  // loads OnLoad was told of
	entered chan struct{} // a held build has started
	release chan struct{}
	hold    atomic.Bool
}

// write replaces the file's content.
func (b *blockingHolder) write(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(b.path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newBlockingHolder(t *testing.T) *blockingHolder {
	t.Helper()
	b := &blockingHolder{path: filepath.Join(t.TempDir(), "exporter.yml"), entered: make(chan struct{}, 1), release: make(chan struct{})}
	b.write(t, "portals: [{name: main, url: 'https://x', api_key_env: DSX_TEST_KEY}]\n")
	h, err := NewHolder(b.path, func(*Config) (int, error) {
		n := int(b.builds.Add(1))
		if b.hold.Load() {
			b.entered <- struct{}{}
			<-b.release
		}
		return n, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Holder = h
	b.builds.Store(0)
	h.OnLoad = func(error) { b.loads.Add(1) }
	return b
}

// waiting returns how many requests wait for the next reload.
func (b *blockingHolder) waiting() int {
	b.queue.Lock()
	defer b.queue.Unlock()
	if b.next == nil {
		return 0
	}
	return b.next.waiting
}

// Requests that arrive while a reload runs share the next single reload.
func TestReloadsCoalesce(t *testing.T) {
	b := newBlockingHolder(t)
	b.hold.Store(true)
	first := make(chan error)
	go func() { first <- b.Reload() }()
	<-b.entered // the first reload runs
	b.hold.Store(false)

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := b.Reload(); err != nil {
				t.Error(err)
			}
		})
	}
	docspacetest.WaitFor(t, "20 requests waiting", func() bool { return b.waiting() == 20 })
	close(b.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := b.builds.Load(); n != 2 {
		t.Errorf("21 reload requests built %d times, want 2 (the running reload and one for the 20 that waited)", n)
	}
	if n := b.loads.Load(); n != 2 {
		t.Errorf("OnLoad was told of %d loads, want 2: one per load, not per request", n)
	}
	if got := b.Current(); got != 2 {
		t.Errorf("Current() = %d, want the value of the second build", got)
	}
}

// A request never gets the result of a reload that began before it: the
// file may have changed since.
func TestReloadAfterTheRequest(t *testing.T) {
	b := newBlockingHolder(t)
	b.hold.Store(true)
	first := make(chan error)
	go func() { first <- b.Reload() }()
	<-b.entered // the first reload has read the valid file
	b.hold.Store(false)

	b.write(t, "portals: []\n")
	second := make(chan error)
	go func() { second <- b.Reload() }()
	docspacetest.WaitFor(t, "the second request to wait", func() bool { return b.waiting() == 1 })
	close(b.release)
	if err := <-first; err != nil {
		t.Errorf("the reload of the valid file: %v", err)
	}
	if err := <-second; err == nil {
		t.Error("the request made after the file became invalid got the earlier reload's success")
	}
}
