package collector

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// clock is a settable clock for the history's interval.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withHistory turns the stored-backup history on, every hour.
func withHistory(p *config.Portal) { p.HistoryInterval = time.Hour }

// historyFixture is a fixture with the history on and its clock at testNow.
func historyFixture(t *testing.T, mod ...func(*config.Portal)) (*fixture, *clock) {
	t.Helper()
	f := newFixture(t, append([]func(*config.Portal){withHistory}, mod...)...)
	c := &clock{t: testNow}
	f.portal.memory.now = c.now
	return f, c
}

// scrape collects once, within a second.
func (f *fixture) scrape() {
	f.t.Helper()
	testutil.CollectAndCount(f.collector(context.Background()))
}

// waitHistory waits until no history call runs.
func (f *fixture) waitHistory() {
	f.t.Helper()
	hc := &f.portal.memory.history
	hc.mu.Lock()
	running := hc.running
	hc.mu.Unlock()
	if running == nil {
		return
	}
	select {
	case <-running:
	case <-time.After(5 * time.Second):
		f.t.Fatal("the history call did not end")
	}
}

func (f *fixture) historyCalls() int { return f.fake.Requests(docspacetest.PathHistory) }

func TestHistoryGolden(t *testing.T) {
	tests := []struct {
		name     string
		dump     bool
		setup    func(f *fixture, c *clock)
		logWants string // a log line must contain this; "" means no log line at all
	}{
		// The last start (2026-06-29 02:07:31) left a backup, stored at 02:09:58.
		{name: "history_stored_newer", setup: func(f *fixture, _ *clock) { f.fake.SetHistory(docspacetest.HistoryWeekly...) }},
		// Every stored backup is older than the last start.
		{name: "history_stored_older", setup: func(f *fixture, _ *clock) { f.fake.SetHistory(docspacetest.HistoryNotStored...) }},
		// Room, S3 and DataStore backups, expired, expiring and never
		// expiring, in no particular order.
		{name: "history_expiring", setup: func(f *fixture, _ *clock) { f.fake.SetHistory(docspacetest.HistoryExpiring...) }},
		{name: "history_none_stored", setup: func(f *fixture, _ *clock) { f.fake.SetHistory() }},
		{name: "history_postgres", setup: func(f *fixture, _ *clock) {
			f.fake.SetSchedule(docspacetest.SchedulePostgres)
			f.fake.SetHistory(docspacetest.HistoryWeeklyPostgres...)
		}},
		{name: "history_dump", dump: true, setup: func(f *fixture, _ *clock) {
			f.fake.SetDumpSchedule(docspacetest.ScheduleDump)
			f.fake.SetDumpHistory(docspacetest.HistoryDump...)
		}},
		// The first call is still running after the first scrape waited
		// for it until its deadline: no value yet, and no failure either.
		{name: "history_first_call_running", setup: func(f *fixture, _ *clock) {
			f.fake.SetHistory(docspacetest.HistoryWeekly...)
			f.fake.SetPathHang(docspacetest.PathHistory, true)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			testutil.CollectAndCount(f.collector(ctx))
		}},
		// A failed call after a successful one keeps what that one listed.
		{name: "history_failed_after_success", setup: func(f *fixture, c *clock) {
			f.fake.SetHistory(docspacetest.HistoryWeekly...)
			f.scrape()
			f.fake.SetOverride(docspacetest.PathHistory, docspacetest.ServerError("Could not find a part of the path."))
			c.add(time.Hour)
			f.scrape()
			f.waitHistory()
		}, logWants: "reading the DocSpace backup history failed"},
		{name: "history_forbidden", setup: func(f *fixture, _ *clock) {
			f.fake.SetOverride(docspacetest.PathHistory, docspacetest.ForbiddenAccessDenied())
		}, logWants: "owner or a DocSpace admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := historyFixture(t, func(p *config.Portal) { p.Dump = tt.dump })
			f.fake.SetSchedule(docspacetest.ScheduleWeekly)
			tt.setup(f, c)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			compareGolden(t, f.collector(ctx), tt.name)
			f.fake.SetPathHang(docspacetest.PathHistory, false)
			f.waitHistory()
			checkLogs(t, f.logs.String(), tt.logWants)
			for _, b := range slices.Concat(docspacetest.HistoryWeekly, docspacetest.HistoryDump, docspacetest.HistoryExpiring) {
				if strings.Contains(f.logs.String(), b.FileName) || strings.Contains(f.logs.String(), b.ID) {
					t.Errorf("the log names a backup: %s", f.logs)
				}
			}
		})
	}
}

// However many scrapes ask, the history is called once per interval,
// counted from the end of the last call.
func TestHistoryOncePerInterval(t *testing.T) {
	f, c := historyFixture(t)
	f.fake.SetHistory(docspacetest.HistoryWeekly...)
	f.fake.SetPathLatency(docspacetest.PathHistory, 50*time.Millisecond)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(f.scrape)
	}
	wg.Wait()
	f.waitHistory()
	if n := f.historyCalls(); n != 1 {
		t.Fatalf("64 concurrent scrapes called the history %d times, want 1", n)
	}
	ended := f.portal.memory.history.last.ended

	c.add(59 * time.Minute)
	for range 64 {
		wg.Go(f.scrape)
	}
	wg.Wait()
	if n := f.historyCalls(); n != 1 {
		t.Fatalf("59m later: %d calls, want 1", n)
	}

	c.add(time.Minute) // an hour after the end of the first call
	for range 64 {
		wg.Go(f.scrape)
	}
	wg.Wait()
	f.waitHistory()
	if n := f.historyCalls(); n != 2 {
		t.Fatalf("an hour later: %d calls, want 2", n)
	}
	if got := f.portal.memory.history.last.ended; !got.Equal(ended.Add(time.Hour)) {
		t.Errorf("the second call ended at %v, want %v", got, ended.Add(time.Hour))
	}
	for range 3 {
		f.scrape()
	}
	if n := f.historyCalls(); n != 2 {
		t.Errorf("right after the second call: %d calls, want 2", n)
	}
}

// A failed call waits an interval too: a failing portal is not asked on
// every scrape.
func TestHistoryFailureWaitsAnInterval(t *testing.T) {
	f, c := historyFixture(t)
	f.fake.SetOverride(docspacetest.PathHistory, docspacetest.ServerError("boom"))
	for range 3 {
		f.scrape()
	}
	f.waitHistory()
	if n := f.historyCalls(); n != 1 {
		t.Fatalf("3 scrapes of a failing history: %d calls, want 1", n)
	}
	if n := strings.Count(f.logs.String(), "reading the DocSpace backup history failed"); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, f.logs)
	}
	c.add(time.Hour)
	f.scrape()
	f.waitHistory()
	if n := f.historyCalls(); n != 2 {
		t.Errorf("an hour later: %d calls, want 2", n)
	}
}

// A refresh that hangs never holds a scrape: it serves what is cached,
// and the answer shows on a later scrape.
func TestHistoryRefreshDoesNotHoldScrapes(t *testing.T) {
	f, c := historyFixture(t)
	f.fake.SetHistory(docspacetest.HistoryWeekly...)
	f.scrape()
	f.fake.SetHistory(docspacetest.HistoryNotStored...)
	f.fake.SetPathHang(docspacetest.PathHistory, true)
	c.add(time.Hour)

	// The scrape's deadline is a minute away, so only not waiting can end
	// it before the hung call ends.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := gatherHistory(t, f.collector(ctx))
	for deadline := time.Now().Add(5 * time.Second); f.historyCalls() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	f.portal.memory.history.mu.Lock()
	running := f.portal.memory.history.running != nil
	f.portal.memory.history.mu.Unlock()
	if !running || f.historyCalls() != 2 {
		t.Fatalf("no refresh is running (%d calls)", f.historyCalls())
	}
	if before["docspace_backup_history_backups"] != 5 || before[`docspace_collector_success{collector="history"}`] != 1 {
		t.Errorf("while the refresh runs: %v, want the cached 5 backups and success 1", before)
	}
	f.fake.SetPathHang(docspacetest.PathHistory, false)
	f.waitHistory()
	after := gatherHistory(t, f.collector(context.Background()))
	if after["docspace_backup_history_backups"] != 4 || after["docspace_backup_history_refresh_timestamp_seconds"] != float64(testNow.Add(time.Hour).Unix()) {
		t.Errorf("after the refresh: %v, want 4 backups fetched an hour after the first", after)
	}
}

// gatherHistory returns the history samples of one collect by name (with
// the collector label for the collector metrics).
func gatherHistory(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += `{` + l.GetName() + `="` + l.GetValue() + `"}`
			}
			if strings.Contains(name, "history") {
				out[name] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// With the history off, getbackuphistory is never called.
func TestHistoryOff(t *testing.T) {
	f := newFixture(t)
	f.scrape()
	if n := f.historyCalls(); n != 0 {
		t.Errorf("history off: %d calls", n)
	}
}

// A task's warning is logged once per task, not once per scrape.
func TestTaskWarningLoggedOncePerTask(t *testing.T) {
	f := newFixture(t)
	f.fake.SetProgress(docspacetest.ProgressWarning)
	for range 3 {
		f.scrape()
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "the latest DocSpace backup task reported a warning"); n != 1 || !strings.Contains(logs, "2 files were not found in the storage.") {
		t.Errorf("3 scrapes of one task with a warning logged it %d times, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "failed") {
		t.Errorf("a task with only a warning was logged as failed:\n%s", logs)
	}
}
