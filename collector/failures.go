package collector

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// failure is a failed call of a scrape.
type failure struct {
	call  string
	err   error
	alone func(*slog.Logger) // for a reported failure: logs it on its own
}

// failureGroup is the failed calls of a scrape that failed alike.
type failureGroup struct {
	calls []string
	also  []string // reported failures of the same kind, named in the log line
	err   error    // the first one's
	kind  client.Kind
	code  int
}

// groupFailures groups failures by their kind, in order: calls that fail
// for one reason (a rejected key: 401 on the schedule, a settings answer
// without a time zone) are one failure, logged once with one advice. The
// settings are blamed on the key only when a backup call with it got 401.
func groupFailures(failures []failure) []*failureGroup {
	rejected := slices.ContainsFunc(failures, func(f failure) bool {
		kind, _ := errorKind(f.err)
		return kind == client.KindUnauthorized
	})
	var groups []*failureGroup
next:
	for _, f := range failures {
		kind, code := errorKind(f.err)
		if rejected && errors.Is(f.err, errNoTimeZone) {
			kind = client.KindUnauthorized
		}
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
	if e, ok := errors.AsType[*client.Error](err); ok {
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
// failed, its recovery. A reported failure (the first history call's) is
// named in the line of the calls that failed alike, or logged on its own:
// one failure, one line.
func (s *scrape) logFailures(failures, reported []failure) {
	groups := groupFailures(failures)
	m := s.portal.memory
	m.setFailing(groups)
	n, was := m.observe(subjectCalls, cause(groups), true)
	for _, r := range reported {
		kind, _ := errorKind(r.err)
		if i := slices.IndexFunc(groups, func(g *failureGroup) bool { return g.kind == kind }); i >= 0 && (n == failing || n == stillFailing) {
			groups[i].also = append(groups[i].also, r.call)
		} else {
			r.alone(s.log())
		}
	}
	switch n {
	case failing, stillFailing:
		msg := "DocSpace scrape failed"
		if n == stillFailing {
			msg = "DocSpace scrape still failing"
		}
		for _, g := range groups {
			attrs := []any{"call", strings.Join(append(g.calls, g.also...), ", "), "err", g.err}
			if g.kind != 0 {
				attrs = append(attrs, "kind", g.kind.String(), "status_code", g.code)
			}
			if slices.Equal(g.calls, []string{"settings"}) {
				// Only the time zone is missing: say what that costs
				// and what to do about it.
				attrs = append(attrs, "effect", "the portal time zone is unknown, so the next scheduled backup is not computed; give it in the portal's timezone setting")
			}
			if g.kind == client.KindForbidden && s.restoring() {
				attrs = append(attrs, "effect", "DocSpace is restoring the portal from a backup (getrestoreprogress): it refuses the backup calls with HTTP 403 until the restore ends; this is no fault of the key")
			}
			if n == stillFailing {
				attrs = append(attrs, "since", was.since.Format(time.RFC3339))
			}
			s.log().Error(msg, attrs...)
		}
	case recovered:
		s.log().Info("DocSpace scrape works again", "failed", was.cause, "failed_for", m.now().Sub(was.since).Round(time.Second).String())
	}
}
