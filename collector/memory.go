package collector

import (
	"slices"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// Memory is what the exporter remembers about a portal between scrapes:
// its Retry-After wait, its time zone, its stored-backup history and what
// the log last said about it. The fleet keeps one per portal and hands it
// to the Portal each reload builds, so all of it survives reloads.
type Memory struct {
	now func() time.Time // the clock of the memory and of its scrapes

	retryAfter client.RetryAfter
	zone       zoneMemory
	history    historyMemory
	counts     countMemory

	mu     sync.Mutex
	logged map[subject]health // what the log last said, by subject
	last   Summary            // what the last scrape found
	// failingKinds are the kinds of error the last scrape's calls failed
	// with: a history call failing alike is not logged again.
	failingKinds []client.Kind
}

// setFailing records the kinds of the groups of the last scrape's failures.
func (m *Memory) setFailing(groups []*failureGroup) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failingKinds = m.failingKinds[:0]
	for _, g := range groups {
		m.failingKinds = append(m.failingKinds, g.kind)
	}
}

// failsFor tells whether the last scrape's calls failed as err does.
func (m *Memory) failsFor(err error) bool {
	kind, _ := errorKind(err)
	m.mu.Lock()
	defer m.mu.Unlock()
	return kind != 0 && slices.Contains(m.failingKinds, kind)
}

// NewMemory returns the memory of a portal not seen before.
func NewMemory() *Memory {
	return &Memory{now: time.Now, logged: make(map[subject]health)}
}

// subject is something whose state the log tells when it changes.
type subject string

const (
	subjectCalls         subject = "calls"          // the scrape's calls
	subjectZoneRead      subject = "zone read"      // the read of the time zone, while one is known
	subjectFixedZone     subject = "fixed zone"     // a time zone replaced by its UTC offset
	subjectNextSlot      subject = "next slot"      // the computation of the next scheduled backup
	subjectScheduleRange subject = "schedule range" // cronParams out of the range DocSpace stores
	subjectFailedTask    subject = "failed task"    // the latest task's error
	subjectTaskWarning   subject = "task warning"   // the latest task's warning
)

// remindEvery is how often a subject that stays failed, with reminders, is
// logged again.
const remindEvery = 15 * time.Minute

// health is what the log last said about a subject.
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
	stillFailing      // it still fails for the same cause, last logged remindEvery ago (with reminders)
	recovered         // it works again
)

// observe records subject's outcome, failing for cause or working for "",
// and says what it means for the log; was is the state before. It is the
// exporter's one "log on a change".
func (m *Memory) observe(s subject, cause string, remind bool) (n news, was health) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	was = m.logged[s]
	switch {
	case cause == "" && was.cause == "":
		return noNews, was
	case cause == "":
		delete(m.logged, s)
		return recovered, was
	case cause != was.cause:
		m.logged[s] = health{cause: cause, since: now, reminded: now}
		return failing, was
	case remind && now.Sub(was.reminded) >= remindEvery:
		m.logged[s] = health{cause: cause, since: was.since, reminded: now}
		return stillFailing, was
	}
	return noNews, was
}

// failing tells whether the log last said subject fails.
func (m *Memory) failing(s subject) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logged[s].cause != ""
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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
