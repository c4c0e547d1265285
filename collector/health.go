package collector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// remindEvery is how often a portal that stays failed is logged again.
const remindEvery = 15 * time.Minute

// health is what the log last said about something that can fail, a
// portal's calls or the read of its time zone: the log tells when its state
// changes, not on every scrape; the metrics tell the state of each scrape.
type health struct {
	cause    string    // why it fails; "" while it works
	since    time.Time // when it began to fail for this cause
	reminded time.Time // when it was last logged
}

// news is what a new outcome means for the log.
type news int

const (
	noNews       news = iota
	failing           // it began to fail, or fails for another cause
	stillFailing      // it still fails for the same cause, last logged 15 minutes ago or more
	recovered         // it works again
)

// observe records the outcome of now, failing for cause or working when
// cause is "", and says what to log about it. was is the state before.
func (h *health) observe(cause string, now time.Time) (n news, was health) {
	was = *h
	switch {
	case cause == "" && was.cause == "":
		return noNews, was
	case cause == "":
		*h = health{}
		return recovered, was
	case cause != was.cause:
		*h = health{cause: cause, since: now, reminded: now}
		return failing, was
	case now.Sub(was.reminded) >= remindEvery:
		h.reminded = now
		return stillFailing, was
	}
	return noNews, was
}

// failure is a failed call of a scrape.
type failure struct {
	call string
	err  error
}

// failureGroup is the failed calls of a scrape that failed alike.
type failureGroup struct {
	calls []string
	err   error // the first one's
	kind  client.Kind
	code  int
}

// groupFailures groups failures by their kind, in order: calls that fail
// for one reason (a rejected key: 401 on the schedule, a settings answer
// without a time zone) are one failure, logged once with one advice.
func groupFailures(failures []failure) []*failureGroup {
	var groups []*failureGroup
next:
	for _, f := range failures {
		kind, code := errorKind(f.err)
		for _, g := range groups {
			if g.kind == kind {
				g.calls = append(g.calls, f.call)
				continue next
			}
		}
		groups = append(groups, &failureGroup{calls: []string{f.call}, err: f.err, kind: kind, code: code})
	}
	return groups
}

// errorKind returns the kind and HTTP status of a call's error; kind 0 for
// an error that is not the client's.
func errorKind(err error) (client.Kind, int) {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Kind, e.StatusCode
	}
	return 0, 0
}

// cause describes the groups in a few words, e.g. "backup schedule, backup
// progress: unauthorized (HTTP 401)"; "" for none.
func cause(groups []*failureGroup) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		what := "failed"
		if g.kind != 0 {
			what = g.kind.String()
		}
		if g.code != 0 {
			what += fmt.Sprintf(" (HTTP %d)", g.code)
		}
		parts[i] = strings.Join(g.calls, ", ") + ": " + what
	}
	return strings.Join(parts, "; ")
}

// logFailures logs what a scrape's failed calls change: the first failure
// and a change of cause with what to do, a reminder while the portal stays
// failed, its recovery.
func (c *Collector) logFailures(failures []failure) {
	groups := groupFailures(failures)
	t := c.target
	t.mu.Lock()
	n, was := t.calls.observe(cause(groups), t.now())
	t.mu.Unlock()
	switch n {
	case failing, stillFailing:
		msg := "DocSpace scrape failed"
		if n == stillFailing {
			msg = "DocSpace scrape still failing"
		}
		for _, g := range groups {
			attrs := []any{"call", strings.Join(g.calls, ", "), "err", g.err}
			if g.kind != 0 {
				attrs = append(attrs, "kind", g.kind.String(), "status_code", g.code)
			}
			if slices.Equal(g.calls, []string{"settings"}) {
				// Only the time zone is missing: say what that costs
				// and what to do about it.
				attrs = append(attrs, "effect", "the portal time zone is unknown, so the next scheduled backup is not computed; give it in the portal's timezone setting")
			}
			if n == stillFailing {
				attrs = append(attrs, "since", was.since.Format(time.RFC3339))
			}
			c.log().Error(msg, attrs...)
		}
	case recovered:
		c.log().Info("DocSpace scrape works again", "failed", was.cause, "failed_for", t.now().Sub(was.since).Round(time.Second).String())
	}
}
