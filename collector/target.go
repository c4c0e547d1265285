package collector

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// Time zone refresh: a known zone is read again after an hour; after a
// failure with no zone known, the next try waits a few minutes.
const (
	timezoneRefresh = time.Hour
	timezoneRetry   = 5 * time.Minute
)

// Options are the collector settings shared by every portal.
type Options struct {
	// Progress enables the progress collector (getbackupprogress).
	Progress bool
	// UserAgent is sent with every call to DocSpace.
	UserAgent string
	// HistoryInterval is the history interval of a portal whose settings
	// leave it out (see config.Portal.HistoryInterval); the portal's own
	// setting is what counts.
	HistoryInterval time.Duration
	// HistoryTimeout bounds one call of the stored-backup history.
	HistoryTimeout time.Duration
	// Logger, when set, gets the debug line of a call that used the last
	// good key because the key file was being rewritten.
	Logger *slog.Logger
	// Pool holds the connections to the portals kept alive between
	// scrapes; nil for one pool per portal.
	Pool *client.Pool
}

// Target is one configured DocSpace portal, ready to be scraped: its
// settings, its API client, and what is kept between scrapes: the portal's
// time zone read from its settings, its stored-backup history, and which
// task's failure and warning were last logged.
type Target struct {
	settings config.Portal
	client   *client.Client
	progress bool
	// location is the fixed time zone; nil when timezone reads it.
	location *time.Location
	timezone *timezoneCache
	// history is nil when the history is off.
	history *historyCache

	mu             sync.Mutex
	lastFailedTask string
	lastWarnedTask string
}

// NewTarget builds what scraping the portal p takes. This is where the
// files p names are read: the API key file (or variable), so that a missing
// or empty key is reported now, and the CA file. p must have passed
// p.Check; every error is located with p.Errorf.
func NewTarget(p config.Portal, o Options) (*Target, error) {
	var (
		errs []error
		key  client.KeySource
	)
	switch {
	case p.APIKeyFile != "":
		var kept func(string)
		if o.Logger != nil {
			kept = func(reason string) { o.Logger.Debug(reason, "portal", p.Name, "configured_at", p.Source()) }
		}
		k, err := client.NewFileKey(p.APIKeyFile, kept)
		if err != nil {
			errs = append(errs, p.Errorf(config.FieldAPIKeyFile, "%w", err))
		}
		key = k
	case p.APIKeyEnv != "":
		v := os.Getenv(p.APIKeyEnv)
		if strings.TrimSpace(v) == "" {
			errs = append(errs, p.Errorf(config.FieldAPIKeyEnv, "the environment variable %s is unset or empty: put the API key in it", p.APIKeyEnv))
		} else if _, err := client.ParseKey("the environment variable "+p.APIKeyEnv, []byte(v)); err != nil {
			errs = append(errs, p.Errorf(config.FieldAPIKeyEnv, "%w", err))
		}
		key = client.StaticKey(v)
	}
	var roots *x509.CertPool
	if p.TLS.CAFile != "" {
		pool, err := client.LoadCA(p.TLS.CAFile)
		if err != nil {
			errs = append(errs, p.Errorf(config.FieldCAFile, "%w", err))
		}
		roots = pool
	}
	location, err := p.Location()
	if err != nil {
		errs = append(errs, p.Errorf(config.FieldTimezone, "%w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c, err := client.New(client.Config{
		URL: p.URL, Key: key, Dump: p.Dump, UserAgent: o.UserAgent, Pool: o.Pool,
		TLS: client.TLSConfig{RootCAs: roots, InsecureSkipVerify: p.TLS.InsecureSkipVerify},
	})
	if err != nil {
		return nil, p.Errorf("", "%w", err)
	}
	t := &Target{settings: p, client: c, progress: o.Progress, location: location}
	if location == nil {
		t.timezone = &timezoneCache{client: c}
	}
	if p.HistoryInterval > 0 {
		t.history = newHistoryCache(c, p.HistoryInterval, o.HistoryTimeout)
	}
	return t, nil
}

// Settings returns the portal's settings.
func (t *Target) Settings() config.Portal { return t.settings }

// logTaskFailure logs a failed task's error text once per task.
func (t *Target) logTaskFailure(logger *slog.Logger, p *client.Progress) {
	if t.firstTime(&t.lastFailedTask, p.TaskID, p.Error) {
		logger.Warn("the latest DocSpace backup task failed", "task_id", p.TaskID, "error", sanitize(p.Error))
	}
}

// logTaskWarning logs a task's warning text (e.g. files that could not be
// backed up) once per task.
func (t *Target) logTaskWarning(logger *slog.Logger, p *client.Progress) {
	if t.firstTime(&t.lastWarnedTask, p.TaskID, p.Warning) {
		logger.Warn("the latest DocSpace backup task reported a warning", "task_id", p.TaskID, "warning", sanitize(p.Warning))
	}
}

// firstTime records the text of a task in *last and tells whether it is
// new there.
func (t *Target) firstTime(last *string, taskID, text string) bool {
	id := taskID + "\x00" + text
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := *last == id
	*last = id
	return !seen
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
		log().Warn("the portal time zone is unknown, so the next scheduled backup is not computed; give it in the portal's timezone setting", "err", res.err)
		tc.lastErr, tc.next = res.err, now.Add(timezoneRetry)
	}
	return res
}
