package collector

import (
	"context"
	"crypto/sha256"
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
// time zone read from its settings, its stored-backup history, and what
// the log last said about its calls and its latest failed task.
type Target struct {
	settings config.Portal
	client   *client.Client
	progress bool
	// caDigest is the SHA-256 of the CA file's content, when one is given.
	caDigest [sha256.Size]byte
	// location is the fixed time zone; nil when timezone reads it.
	location *time.Location
	timezone *timezoneCache
	// history is nil when the history is off.
	history *historyCache

	now func() time.Time // the clock of the log's reminders

	mu             sync.Mutex
	calls          health // of the scrapes' calls
	lastFailedTask string
	// lastSlotErr is why the next scheduled backup could not be computed,
	// as last logged; "" while it can be.
	lastSlotErr string
	// lastStartErr is why a scrape could not start (a bad scrape timeout
	// header: a problem of the request, not of the portal), as last
	// logged; "" since a scrape started.
	lastStartErr   string
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
	var (
		roots    *x509.CertPool
		caDigest [sha256.Size]byte
	)
	if p.TLS.CAFile != "" {
		pool, digest, err := client.LoadCA(p.TLS.CAFile)
		if err != nil {
			errs = append(errs, p.Errorf(config.FieldCAFile, "%w", err))
		}
		roots, caDigest = pool, digest
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
	t := &Target{settings: p, client: c, progress: o.Progress, caDigest: caDigest, location: location, now: time.Now}
	if location == nil {
		t.timezone = &timezoneCache{client: c, now: func() time.Time { return t.now() }}
	}
	if p.HistoryInterval > 0 {
		t.history = newHistoryCache(c, p.HistoryInterval, o.HistoryTimeout)
	}
	return t, nil
}

// Settings returns the portal's settings.
func (t *Target) Settings() config.Portal { return t.settings }

// CAFileChanged tells whether the portal's CA file no longer holds what
// the target was built with, so that a reload builds the portal again; a
// file that cannot be read counts as changed. False without a CA file.
func (t *Target) CAFileChanged() bool {
	if t.settings.TLS.CAFile == "" {
		return false
	}
	digest, err := fileDigest(t.settings.TLS.CAFile)
	return err != nil || digest != t.caDigest
}

// fileDigest returns the SHA-256 of the content of a CA file, read as
// client.LoadCA reads it.
func fileDigest(path string) ([sha256.Size]byte, error) {
	data, err := client.ReadCAFile(path)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(data), nil
}

// Close lets go of the connections to the portal, for a target that a
// reload replaced (see client.Client.Close): with a pool of its own, the
// idle ones at once and the others when their calls end; in the pool the
// exporter shares among its portals, they stay within that pool's bound
// for the next target of the portal. Scrapes that still use the target
// work.
func (t *Target) Close() { t.client.Close() }

// Inherit takes over what old, the target this one replaces for the same
// portal name, has learnt between scrapes: what the log said about the
// portal, its tasks and its schedule, and, when both call the same URL,
// the portal's Retry-After wait, its time zone and, for the same dump
// setting, its stored-backup history. So a reload neither repeats a log
// line, nor calls a portal that asked to wait, nor reads the history again
// before its interval has passed.
func (t *Target) Inherit(old *Target) {
	if old == nil {
		return
	}
	old.mu.Lock()
	calls, failed, warned, slot := old.calls, old.lastFailedTask, old.lastWarnedTask, old.lastSlotErr
	old.mu.Unlock()
	t.mu.Lock()
	t.calls, t.lastFailedTask, t.lastWarnedTask, t.lastSlotErr = calls, failed, warned, slot
	t.mu.Unlock()
	if old.client.URL() != t.client.URL() {
		return
	}
	t.client.InheritRetryAfter(old.client)
	if t.timezone != nil && old.timezone != nil {
		t.timezone.copyFrom(old.timezone)
	}
	if t.history != nil && old.history != nil && t.settings.Dump == old.settings.Dump {
		t.history.copyFrom(old.history)
	}
}

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

// logChange logs err at level with msg when it differs from what *last
// says was logged before, and records it; a nil err clears *last, so that
// the same problem coming back is logged again.
func (t *Target) logChange(last *string, log func() *slog.Logger, level slog.Level, msg string, err error) {
	text := ""
	if err != nil {
		text = err.Error()
	}
	t.mu.Lock()
	changed := *last != text
	*last = text
	t.mu.Unlock()
	if changed && err != nil {
		log().Log(context.Background(), level, msg, "err", err)
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
	now    func() time.Time

	mu       sync.Mutex
	location *time.Location
	next     time.Time // when to read the settings again
	lastErr  error
	// fixed is what the settings last read gave when their zone was
	// replaced by its UTC offset, "" otherwise: that is logged once, not
	// hourly.
	fixed string
	// health is what the log last said about failed reads.
	health health
}

// copyFrom takes over what o knows.
func (tc *timezoneCache) copyFrom(o *timezoneCache) {
	o.mu.Lock()
	location, next, lastErr, fixed, health := o.location, o.next, o.lastErr, o.fixed, o.health
	o.mu.Unlock()
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.location, tc.next, tc.lastErr, tc.fixed, tc.health = location, next, lastErr, fixed, health
}

// get returns the portal's time zone, reading the settings when the cached
// value is missing or an hour old. A failed refresh keeps a known zone.
// The lock is not held during the call: concurrent scrapes share it in the
// client instead, each bound to its own deadline.
func (tc *timezoneCache) get(ctx context.Context, log func() *slog.Logger) result[*time.Location] {
	tc.mu.Lock()
	now := tc.now()
	if now.Before(tc.next) {
		defer tc.mu.Unlock()
		return result[*time.Location]{value: tc.location, err: tc.lastErr}
	}
	tc.mu.Unlock()
	var (
		tz    client.TimeZone
		fixed bool
	)
	res := timed(func() (loc *time.Location, err error) {
		if tz, err = tc.client.Timezone(ctx); err != nil {
			return nil, err
		}
		loc, fixed, err = resolveZone(tz)
		return loc, err
	})
	tc.mu.Lock()
	defer tc.mu.Unlock()
	why := "" // the read's cause of failure, for the log
	if res.err != nil {
		why = cause(groupFailures([]failure{{"settings", res.err}}))
	}
	if res.err != nil && tc.location != nil {
		why += ", known zone kept"
	}
	// Without a known zone, a failed read is one of the scrape's failed
	// calls, logged with the others (Collector.logFailures): the settings
	// call failing for the schedule call's reason is one failure. With a
	// known zone, the read's failure is logged here, when it changes.
	news, was := tc.health.observe(why, now)
	if news == recovered && strings.HasSuffix(was.cause, ", known zone kept") {
		log().Info("read the portal time zone again", "timezone", res.value.String())
	}
	switch {
	case res.err == nil:
		seen := tc.fixed
		tc.location, tc.lastErr, tc.next, tc.fixed = res.value, nil, now.Add(timezoneRefresh), ""
		if fixed {
			tc.fixed = fmt.Sprintf("%q %s", tz.ID, offsetText(tz.UTCOffset))
		}
		if fixed && tc.fixed != seen {
			log().Warn("the portal's time zone is unknown to this system, so its UTC offset is used, which does not follow daylight saving time; give the portal's time zone in the exporter's settings",
				"timezone", sanitize(tz.ID), "utc_offset", offsetText(tz.UTCOffset))
		}
	case tc.location != nil:
		if news == failing || news == stillFailing {
			log().Warn("reading the portal time zone failed; keeping the known one", "timezone", tc.location.String(), "err", res.err)
		}
		res.value, tc.next = tc.location, now.Add(timezoneRetry)
	default:
		tc.lastErr, tc.next = res.err, now.Add(timezoneRetry)
	}
	return res
}
