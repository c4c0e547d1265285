package collector

import (
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// The backups counts of a period: getbackupscountbypaid (3.8) answers
// {free, paid}; getbackupscount (3.5+) answers one of them, chosen by
// paid. Both count the backup records whose createdOn (UTC) lies between
// from and to, both inclusive and read as UTC: records saved after a
// successful upload, deleted ones included. The exporter always sends from
// and to, as DocSpace's defaults changed (3.5-3.6: the last 30 days; 3.7+:
// the UTC calendar month).
const (
	countPath       = "/api/2.0/backup/getbackupscount"
	countByPaidPath = "/api/2.0/backup/getbackupscountbypaid"
)

// Counts refresh: hourly, and at the start of a month; after a failure, in
// a few minutes.
const (
	countRefresh = time.Hour
	countRetry   = 5 * time.Minute
)

var countEndpoint = &endpoint{
	name: "count", call: "backups count", path: countByPaidPath,
	flag: "Collect the number of backups made this calendar month (getbackupscountbypaid, or getbackupscount before DocSpace 3.8), read hourly; --no-collector.count turns it off.",
	on:   func(p *Portal) bool { return !p.config.Dump },
	off: func(*Portal) (string, []any) {
		return "backups count not called: it counts the portal's own backups, not the server-wide dumps", nil
	},
	// The month is the portal time zone's: when none is known as the
	// scrape begins, the call waits for the settings call's answer.
	after:   func(s *scrape) bool { return s.zone == nil },
	fetch:   func(s *scrape) answer { return s.portal.memory.counts.get(s) },
	collect: collectCounts,
	cure:    func(s *scrape, a answer) string { return s.portal.memory.counts.cure(a) },
}

var (
	monthBackupsDesc = desc("backup_month_backups",
		"How many backups the portal made this calendar month, in its time zone (getbackupscount: records saved after a successful upload, deleted ones included), free and paid; read hourly.")
	monthPaidDesc = desc("backup_month_paid_backups",
		"How many of this calendar month's backups were charged to the portal's wallet, beyond the free monthly allowance (SaaS; 0 on self-hosted); read hourly.")
)

// monthCounts are the backups of a month.
type monthCounts struct{ all, paid int }

// fetchCounts reads the backups counts from..to; nil and no error when the
// portal has neither call (DocSpace before 3.5 answers 404).
func fetchCounts(s *scrape, from, to time.Time) (*monthCounts, error) {
	c, q := s.portal.client, url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	both, err := client.Get[struct{ Free, Paid int }](s.ctx, c, countByPaidPath, q.Encode())
	switch {
	case err == nil && both == nil:
		return nil, noCount(countByPaidPath)
	case err == nil:
		return &monthCounts{all: both.Free + both.Paid, paid: both.Paid}, nil
	case !notFound(err):
		return nil, err
	}
	var n [2]int
	for i, paid := range []string{"false", "true"} {
		q.Set("paid", paid)
		v, err := client.Get[int](s.ctx, c, countPath, q.Encode())
		switch {
		case i == 0 && notFound(err):
			return nil, nil
		case err != nil:
			return nil, err
		case v == nil:
			return nil, noCount(countPath)
		}
		n[i] = *v
	}
	return &monthCounts{all: n[0] + n[1], paid: n[1]}, nil
}

func notFound(err error) bool {
	e, ok := errors.AsType[*client.Error](err)
	return ok && e.Kind == client.KindNotFound
}

func noCount(path string) error {
	return &client.Error{Kind: client.KindMalformed, Endpoint: path, StatusCode: 200, Detail: "the answer carries no backups count"}
}

// monthStart is the first moment of now's calendar month in loc.
func monthStart(now time.Time, loc *time.Location) time.Time {
	y, m, _ := now.In(loc).Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, loc)
}

// countMemory is the portal's last read of the month's backups counts.
type countMemory struct {
	mu     sync.Mutex
	counts *monthCounts // nil when the portal has no counts call
	err    error
	next   time.Time // when to read again
}

// get returns the month's counts, reading them when the last read is an
// hour old or of the past month. The lock is not held during the call.
func (cm *countMemory) get(s *scrape) answer {
	now := s.portal.memory.now()
	cm.mu.Lock()
	if now.Before(cm.next) {
		defer cm.mu.Unlock()
		return answer{value: cm.counts, err: cm.err, failed: cm.err != nil,
			note: "backups count not called: its answer of the last hour is used", attrs: append([]any{"next_call", cm.next.UTC().Format(time.RFC3339)}, errorAttrs(cm.err)...)}
	}
	cm.mu.Unlock()
	if s.ctx.Err() != nil {
		return answer{pending: true, note: "backups count not called: the scrape's deadline has passed, so the next scrape calls it"}
	}
	// Without a known time zone, the month is UTC's, as DocSpace counts
	// its free allowance. s.location, the settings call's answer, is read
	// only when the call waited for it (after).
	loc := s.zone
	if loc == nil {
		loc = s.location()
	}
	if loc == nil {
		loc = time.UTC
	}
	from := monthStart(now, loc)
	a := timed(func() (*monthCounts, error) { return fetchCounts(s, from, now) })
	a.attrs = []any{"from", from.Format(time.RFC3339), "to", now.UTC().Format(time.RFC3339)}
	counts, _ := a.value.(*monthCounts)
	if a.err == nil && counts == nil {
		a.attrs = append(a.attrs, "note", "this DocSpace has no backups count (3.5+): the month's counts are left out")
	}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	cm.counts, cm.err, cm.next = counts, a.err, now.Add(countRefresh)
	switch month := from.AddDate(0, 1, 0); {
	case a.err != nil:
		cm.next = now.Add(countRetry)
	case month.Before(cm.next):
		cm.next = month
	}
	return a
}

// cure makes the next scrape read the counts when a is a remembered failure
// of a kind a fix cures, or a remembered 404 (the portal itself may have
// been missing).
func (cm *countMemory) cure(a answer) string {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	if a.note == "" || !(curable(cm.err) || cm.err == nil && cm.counts == nil) {
		return ""
	}
	cm.next = time.Time{}
	return "backups count not called: its last call failed before the portal worked again, so the next scrape calls it"
}

func collectCounts(s *scrape, a answer) {
	if c, _ := a.value.(*monthCounts); c != nil {
		s.send(monthBackupsDesc, float64(c.all))
		s.send(monthPaidDesc, float64(c.paid))
	}
}
