package collector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// historyCache keeps a portal's stored-backup history (getbackuphistory)
// between scrapes. DocSpace checks every stored backup in the storage to
// answer it, so it is called at most once per interval, counted from the end
// of the last call, one call at a time, however many scrapes ask. The call
// runs in the background with a context of its own, bounded by timeout:
// a scrape never waits for it, except the very first scrape of the portal,
// which waits within its own deadline.
type historyCache struct {
	client   *client.Client
	interval time.Duration
	timeout  time.Duration
	// now is the clock of the interval and of the fetch times.
	now func() time.Time

	mu sync.Mutex
	// running is closed when the call in flight ends; nil when none runs.
	running chan struct{}
	// last is the last completed call; nil before the first ends.
	last *historyCall
	// stored is the answer of the last successful call; nil before one.
	stored *storedHistory
}

// copyFrom takes over the completed call and the stored answer of o, the
// cache of the target this one replaces; a call o still runs is left to o.
func (hc *historyCache) copyFrom(o *historyCache) {
	o.mu.Lock()
	last, stored := o.last, o.stored
	o.mu.Unlock()
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.last, hc.stored = last, stored
}

// historyCall is how one completed call went.
type historyCall struct {
	err      error
	duration time.Duration
	ended    time.Time
}

// storedHistory is the answer of a successful call and when it came.
type storedHistory struct {
	client.History
	fetched time.Time
}

// historyState is what a scrape reports of the history: the last completed
// call and the last successful answer; either may be nil.
type historyState struct {
	last   *historyCall
	stored *storedHistory
}

func newHistoryCache(c *client.Client, interval, timeout time.Duration) *historyCache {
	return &historyCache{client: c, interval: interval, timeout: timeout, now: time.Now}
}

// get returns the cached history, first starting a call in the background
// when the last one ended an interval ago (or none was made) and none runs.
// Only the scrape that starts the very first call waits for it, within ctx.
// log names the portal in the log lines of the call.
func (hc *historyCache) get(ctx context.Context, log func() *slog.Logger) historyState {
	hc.mu.Lock()
	var wait chan struct{}
	if hc.running == nil && (hc.last == nil || !hc.now().Before(hc.last.ended.Add(hc.interval))) {
		hc.running = make(chan struct{})
		if hc.last == nil {
			wait = hc.running
		}
		go hc.refresh(hc.running, log)
	}
	hc.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
		}
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return historyState{last: hc.last, stored: hc.stored}
}

// refresh makes one call, logs its failure, then records the result and
// closes done.
func (hc *historyCache) refresh(done chan struct{}, log func() *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), hc.timeout)
	defer cancel()
	start := time.Now()
	h, err := hc.client.BackupHistory(ctx)
	call := &historyCall{err: err, duration: time.Since(start), ended: hc.now()}
	if err != nil {
		hc.logFailure(log(), err)
	}

	hc.mu.Lock()
	hc.last, hc.running = call, nil
	if err == nil {
		hc.stored = &storedHistory{History: *h, fetched: call.ended}
	}
	hc.mu.Unlock()
	close(done)
}

// logFailure logs a failed call, once per call.
func (hc *historyCache) logFailure(logger *slog.Logger, err error) {
	hc.mu.Lock()
	kept := hc.stored != nil // only refresh changes it, one call at a time
	hc.mu.Unlock()
	attrs := []any{"err", err, "next_call_in", hc.interval, "keeping_previous_list", kept}
	var e *client.Error
	if errors.As(err, &e) {
		attrs = append(attrs, "kind", e.Kind.String(), "status_code", e.StatusCode)
		if e.Kind == client.KindTimeout {
			attrs = append(attrs, "hint", "the call is bounded by --docspace.history-timeout ("+hc.timeout.String()+"); a storage with many backups may need more")
		}
	}
	logger.Error("reading the DocSpace backup history failed", attrs...)
}
