package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// Time zone refresh: a known zone is read again after an hour; after a
// failure with no zone known, the next try waits a few minutes.
const (
	timezoneRefresh = time.Hour
	timezoneRetry   = 5 * time.Minute
)

// Options are a portal's collector settings.
type Options struct {
	// Timeout is the most one scrape spends on the portal.
	Timeout time.Duration
	// Progress enables the progress collector (getbackupprogress).
	Progress bool
	// Location fixes the portal's time zone. When nil, the settings
	// collector reads it from the portal.
	Location *time.Location
}

// Portal is one DocSpace portal as the collector sees it. It keeps the only
// state that lives between scrapes: the portal's time zone, and which failed
// task was last logged.
type Portal struct {
	Name    string
	client  *client.Client
	timeout time.Duration
	// progress enables the progress collector.
	progress bool
	// location is the fixed time zone; nil when timezone reads it.
	location *time.Location
	timezone *timezoneCache

	mu             sync.Mutex
	lastFailedTask string
}

// NewPortal returns the collector's view of the portal that c calls.
func NewPortal(name string, c *client.Client, o Options) *Portal {
	p := &Portal{Name: name, client: c, timeout: o.Timeout, progress: o.Progress, location: o.Location}
	if p.timeout <= 0 {
		p.timeout = client.DefaultTimeout
	}
	if o.Location == nil {
		p.timezone = &timezoneCache{client: c}
	}
	return p
}

// Client returns the portal's API client.
func (p *Portal) Client() *client.Client { return p.client }

// logTaskFailure logs a failed task's error text once per task.
func (p *Portal) logTaskFailure(logger *slog.Logger, t *client.Progress) {
	id := t.TaskID + "\x00" + t.Error
	p.mu.Lock()
	seen := p.lastFailedTask == id
	p.lastFailedTask = id
	p.mu.Unlock()
	if !seen {
		logger.Warn("the latest DocSpace backup task failed", "task_id", t.TaskID, "error", sanitize(t.Error))
	}
}

// sanitize makes a text from DocSpace safe for one log line.
func sanitize(s string) string {
	r := []rune(s)
	if len(r) > 500 {
		r = append(r[:500], '…')
	}
	for i, c := range r {
		if c < ' ' || c == 0x7f {
			r[i] = ' '
		}
	}
	return string(r)
}

// timezoneCache holds the portal's time zone read from its settings.
type timezoneCache struct {
	client *client.Client

	mu       sync.Mutex
	location *time.Location
	next     time.Time // when to read the settings again
	lastErr  error
}

// get returns the portal's time zone, reading the settings when the cached
// value is missing or an hour old. A failed refresh keeps a known zone.
// The lock is not held during the call: concurrent scrapes share it in the
// client instead, each bound to its own deadline.
func (tc *timezoneCache) get(ctx context.Context, log func() *slog.Logger) result[*time.Location] {
	tc.mu.Lock()
	now := time.Now()
	if now.Before(tc.next) {
		defer tc.mu.Unlock()
		return result[*time.Location]{value: tc.location, err: tc.lastErr}
	}
	tc.mu.Unlock()
	res := timed(func() (*time.Location, error) {
		id, err := tc.client.Timezone(ctx)
		if err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(id)
		if err != nil {
			return nil, fmt.Errorf("the portal's time zone %q is unknown to this system (is tzdata installed?): %w", sanitize(id), err)
		}
		return loc, nil
	})
	tc.mu.Lock()
	defer tc.mu.Unlock()
	switch {
	case res.err == nil:
		tc.location, tc.lastErr, tc.next = res.value, nil, now.Add(timezoneRefresh)
	case tc.location != nil:
		log().Warn("reading the portal time zone failed; keeping the known one", "timezone", tc.location.String(), "err", res.err)
		res.value, tc.next = tc.location, now.Add(timezoneRetry)
	default:
		log().Warn("the portal time zone is unknown, so the next scheduled backup is not computed; give it with the portal's timezone setting (--docspace.timezone)", "err", res.err)
		tc.lastErr, tc.next = res.err, now.Add(timezoneRetry)
	}
	return res
}
