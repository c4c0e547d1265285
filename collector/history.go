package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// historyPath lists the portal's stored backups (getbackuphistory): DocSpace
// checks every one in the storage, and drops the records of missing ones.
const historyPath = "/api/2.0/backup/getbackuphistory"

// maxHistorySize is the longest list of stored backups read: a record is
// about 160 bytes, so some 100,000 backups, where other answers stop at
// client.MaxBodySize.
const maxHistorySize = 16 << 20

var historyEndpoint = &endpoint{
	name: "history", call: "history", path: historyPath,
	on: func(p *Portal) bool { return p.config.HistoryInterval > 0 },
	off: func(*Portal) (string, []any) {
		return "history not called: the stored-backup history is off", nil
	},
	fetch:   func(s *scrape) answer { return s.portal.memory.history.get(s) },
	collect: collectHistory,
	cure:    func(s *scrape, _ answer) string { return s.portal.memory.history.cure(s) },
}

var (
	historyBackupsDesc = desc("backup_history_backups",
		"How many backups the portal lists as stored (getbackuphistory: their files were uploaded and still exist), as of the last successful history call.")
	historyLatestDesc = desc("backup_history_latest_timestamp_seconds",
		"When the newest stored backup was made (createdOn), as of the last successful history call: a backup from then can be restored. Unix seconds.")
	historyOldestDesc = desc("backup_history_oldest_timestamp_seconds",
		"When the oldest stored backup was made (createdOn), as of the last successful history call. Unix seconds.")
	historyRefreshDesc = desc("backup_history_refresh_timestamp_seconds",
		"When the last successful history call fetched the list of stored backups. Unix seconds.")
	historyIntervalDesc = desc("backup_history_interval_seconds",
		"How often the exporter reads the portal's list of stored backups, counted from the end of the last call.")
	historyNeverExpiringDesc = desc("backup_history_never_expiring_backups",
		"How many stored backups never expire (expiresOn 0001-01-01T00:00:00: all but DataStore ones), as of the last successful history call.")
	historyEarliestExpiryDesc = desc("backup_history_earliest_expiry_timestamp_seconds",
		"When the first of the stored backups that expire (expiresOn: DataStore backups, a day after they are made) expires, as of the last successful history call. Unix seconds.")
	historyLatestExpiryDesc = desc("backup_history_latest_expiry_timestamp_seconds",
		"When the last of the stored backups that expire expires, as of the last successful history call: from then on, unless some never expire, no stored backup is left to restore. Unix seconds.")
	historyStorageBackupsDesc = desc("backup_history_storage_backups",
		"How many backups the portal lists as stored, by the storage type holding them (storageType), as of the last successful history call.", "storage_type")
)

// historyRecord is what the exporter reads of a stored backup: no file
// name, no id. expiresOn is 0001-01-01T00:00:00 for a backup that never
// expires.
type historyRecord struct {
	CreatedOn   *string      `json:"createdOn"`
	ExpiresOn   *string      `json:"expiresOn"`
	StorageType *storageType `json:"storageType"`
}

// storedBackups is what the exporter keeps of a list of stored backups.
type storedBackups struct {
	backups        int
	newest, oldest time.Time // zero when no record tells
	// firstExpiry and lastExpiry bound the expiresOn of the backups that
	// expire; zero when none does. neverExpiring counts those that don't.
	firstExpiry, lastExpiry time.Time
	neverExpiring           int
	byStorage               map[string]int // by storage_type label
	fetched                 time.Time
}

// fetchHistory calls getbackuphistory and sums its records up.
func fetchHistory(ctx context.Context, p *Portal) (*storedBackups, error) {
	records, err := client.GetUpTo[[]historyRecord](ctx, p.client, historyPath, p.dumpQuery(), maxHistorySize)
	if e, ok := errors.AsType[*client.Error](err); ok && e.Kind == client.KindTooLarge && e.StatusCode == 200 {
		return nil, &client.Error{Kind: e.Kind, Endpoint: historyPath, StatusCode: 200, Detail: fmt.Sprintf(
			"the list of stored backups is over %d MiB, more than some 100,000 backups, which the exporter does not read: delete old backups in DocSpace, or turn the history off for this portal", maxHistorySize>>20)}
	}
	if err != nil {
		return nil, err
	}
	h := &storedBackups{byStorage: map[string]int{}}
	if records == nil {
		return h, nil
	}
	h.backups = len(*records)
	for i, r := range *records {
		h.byStorage[label(storageTypeLabels, r.StorageType)]++
		created, err := recordTime(i, "createdOn", r.CreatedOn)
		if err != nil {
			return nil, err
		}
		expires, err := recordTime(i, "expiresOn", r.ExpiresOn)
		if err != nil {
			return nil, err
		}
		if !created.IsZero() {
			widen(&h.oldest, &h.newest, created)
		}
		if !expires.IsZero() {
			widen(&h.firstExpiry, &h.lastExpiry, expires)
		} else if r.ExpiresOn != nil {
			h.neverExpiring++
		}
	}
	return h, nil
}

// recordTime parses the time field of the i-th record; zero when it is
// null, absent or 0001-01-01T00:00:00.
func recordTime(i int, field string, v *string) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := client.ParseDateTime(*v)
	if err != nil {
		return time.Time{}, &client.Error{Kind: client.KindMalformed, Endpoint: historyPath, StatusCode: 200,
			Detail: "the backup history in the answer is malformed", Err: fmt.Errorf("record %d: %s: %w", i+1, field, err)}
	}
	return t, nil
}

// widen moves the bounds lo and hi (zero when unset) out to t.
func widen(lo, hi *time.Time, t time.Time) {
	if lo.IsZero() || t.Before(*lo) {
		*lo = t
	}
	if hi.IsZero() || t.After(*hi) {
		*hi = t
	}
}

// historyMemory keeps a portal's stored-backup history. The call is made at
// most once per interval, counted from the end of the last one, one at a
// time, in the background within the history timeout: only the portal's
// very first scrape waits for it, within its deadline. A call in flight
// belongs to the memory, so a reload neither starts another nor loses it.
type historyMemory struct {
	mu sync.Mutex
	// running is closed when the call in flight ends; nil when none runs.
	running chan struct{}
	// last is the last completed call; nil before the first ends.
	last *historyCall
	// stored is the answer of the last successful call; nil before one.
	stored *storedBackups
	// waiting counts the scrapes waiting for the first call: its failure
	// is theirs to log, with the scrape's own.
	waiting int
}

// historyCall is how one completed call went.
type historyCall struct {
	err      error
	duration time.Duration
	ended    time.Time
	// deferred: its failure was left to the scrape that waited for it.
	deferred bool
}

// historyState is what a scrape reports of the history.
type historyState struct {
	interval time.Duration
	last     *historyCall
	stored   *storedBackups
}

// get returns the history, first starting a call in the background when
// none runs and the last ended an interval ago (or none was made).
func (hm *historyMemory) get(s *scrape) answer {
	p, now := s.portal, s.portal.memory.now
	interval := p.config.HistoryInterval
	hm.mu.Lock()
	var wait chan struct{}
	if hm.running == nil && (hm.last == nil || !now().Before(hm.last.ended.Add(interval))) {
		hm.running = make(chan struct{})
		if hm.last == nil {
			wait = hm.running
			hm.waiting++
		}
		go hm.refresh(p, hm.running, s.log)
	}
	hm.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-s.ctx.Done():
		}
	}
	hm.mu.Lock()
	defer hm.mu.Unlock()
	h := historyState{interval: interval, last: hm.last, stored: hm.stored}
	a := answer{value: h, pending: h.last == nil,
		note: "history served from the portal's cache: it is called in the background, at most once per interval", attrs: []any{"path", historyPath, "interval", interval}}
	if wait != nil {
		hm.waiting--
	}
	if c := h.last; c != nil {
		a.err, a.duration = c.err, c.duration
		if wait != nil && c.deferred {
			a.report = func(log *slog.Logger) { logHistoryFailure(log, p, c.err, false) }
		}
		a.attrs = append(a.attrs, "last_call_ended", c.ended.UTC().Format(time.RFC3339), "last_call_status_code", client.StatusCode(c.err),
			"last_call_duration", c.duration)
		a.attrs = append(a.attrs, errorAttrs(c.err)...)
	}
	if st := h.stored; st != nil {
		a.attrs = append(a.attrs, "list_fetched", st.fetched.UTC().Format(time.RFC3339), "stored_backups", st.backups)
	}
	return a
}

// cure starts a call at once, when none runs, if the last failed for a
// reason a fix cures: the interval is not waited out after the fix.
func (hm *historyMemory) cure(s *scrape) string {
	hm.mu.Lock()
	defer hm.mu.Unlock()
	if hm.running != nil || hm.last == nil || !curable(hm.last.err) {
		return ""
	}
	hm.running = make(chan struct{})
	go hm.refresh(s.portal, hm.running, s.log)
	return "history called again, in the background: its last call failed before the portal worked again"
}

// refresh makes one call, records and logs its result, and closes done.
func (hm *historyMemory) refresh(p *Portal, done chan struct{}, log func() *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), p.historyTimeout)
	defer cancel()
	start := time.Now()
	h, err := fetchHistory(ctx, p)
	call := &historyCall{err: err, duration: time.Since(start), ended: p.memory.now()}

	hm.mu.Lock()
	kept := hm.stored != nil
	call.deferred = err != nil && hm.waiting > 0
	hm.last, hm.running = call, nil
	if err == nil {
		h.fetched = call.ended
		hm.stored = h
	}
	hm.mu.Unlock()
	// A failure the scrapes are failing for already is theirs to log.
	if err != nil && !call.deferred && !p.memory.failsFor(err) {
		logHistoryFailure(log(), p, err, kept)
	}
	close(done)
}

// logHistoryFailure logs a failed history call; kept tells whether an
// earlier list is still served.
func logHistoryFailure(log *slog.Logger, p *Portal, err error, kept bool) {
	attrs := []any{"err", err, "next_call_in", p.config.HistoryInterval, "keeping_previous_list", kept}
	if e, ok := errors.AsType[*client.Error](err); ok {
		attrs = append(attrs, "kind", e.Kind.String(), "status_code", e.StatusCode)
		if e.Kind == client.KindTimeout {
			attrs = append(attrs, "hint", "the call is bounded by --docspace.history-timeout ("+p.historyTimeout.String()+"); a storage with many backups may need more")
		}
	}
	log.Error("reading the DocSpace backup history failed", attrs...)
}

// collectHistory sends the interval and what the last successful call listed.
func collectHistory(s *scrape, a answer) {
	h := a.value.(historyState)
	s.send(historyIntervalDesc, h.interval.Seconds())
	if st := h.stored; st != nil {
		s.send(historyBackupsDesc, float64(st.backups))
		if !st.newest.IsZero() {
			s.summary.Newest = st.newest
			s.send(historyLatestDesc, unixSeconds(st.newest))
			s.send(historyOldestDesc, unixSeconds(st.oldest))
		}
		s.send(historyNeverExpiringDesc, float64(st.neverExpiring))
		if !st.lastExpiry.IsZero() {
			s.send(historyEarliestExpiryDesc, unixSeconds(st.firstExpiry))
			s.send(historyLatestExpiryDesc, unixSeconds(st.lastExpiry))
		}
		for storage, n := range st.byStorage {
			s.send(historyStorageBackupsDesc, float64(n), storage)
		}
		s.send(historyRefreshDesc, unixSeconds(st.fetched))
	}
}
