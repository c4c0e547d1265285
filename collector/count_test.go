package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// monthHistory is a portal's backups around testNow (2026-07-01 12:00
// UTC): two free ones and a paid one in July (UTC), one of them deleted,
// and one on 2026-06-30 at 16:00 UTC, in July in Tokyo (UTC+9) only.
func monthHistory() []docspacetest.Backup {
	at := func(day, hour int) time.Time {
		return time.Date(2026, time.Month(6+day/100), day%100, hour, 0, 0, 0, time.UTC)
	}
	paid := docspacetest.StoredBackup("docspace", at(101, 9), 0, docspacetest.DateTimePostgres)
	paid.Paid = true
	gone := docspacetest.StoredBackup("docspace", at(101, 1), 0, docspacetest.DateTimeMySQL)
	gone.Gone = true
	return []docspacetest.Backup{
		docspacetest.StoredBackup("docspace", at(101, 3), 0, docspacetest.DateTimeMySQL),
		paid, gone,
		docspacetest.StoredBackup("docspace", at(30, 16), 0, docspacetest.DateTimeMySQL),
		docspacetest.StoredBackup("docspace", at(15, 2), 0, docspacetest.DateTimeMySQL),
	}
}

func TestMonthBackups(t *testing.T) {
	const (
		countLine = "docspace_backup_month_backups "
		paidLine  = "docspace_backup_month_paid_backups "
	)
	tests := []struct {
		name      string
		zone      string
		old       int // 1: no getbackupscountbypaid (3.5-3.7); 2: no count call either
		wantCount string
		wantPaid  string
		byPaid    int // calls of getbackupscountbypaid
		count     int // calls of getbackupscount
	}{
		{name: "3.8 UTC", zone: "UTC", wantCount: "3", wantPaid: "1", byPaid: 1},
		{name: "3.8 Tokyo", zone: "Asia/Tokyo", wantCount: "4", wantPaid: "1", byPaid: 1},
		{name: "3.7 UTC", zone: "UTC", old: 1, wantCount: "3", wantPaid: "1", byPaid: 1, count: 2},
		{name: "3.2", zone: "UTC", old: 2, byPaid: 1, count: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetSchedule(docspacetest.ScheduleDaily)
			f.fake.SetTimezone(tt.zone)
			f.fake.SetHistory(monthHistory()...)
			if tt.old >= 1 {
				f.fake.SetOverride(docspacetest.PathBackupsCountByPaid, docspacetest.NotFoundProblem())
			}
			if tt.old >= 2 {
				f.fake.SetOverride(docspacetest.PathBackupsCount, docspacetest.NotFoundProblem())
			}
			// The first call drops the deleted backup from the history,
			// which the counts still include.
			if _, err := fetchHistory(context.Background(), f.portal); err != nil {
				t.Fatal(err)
			}
			text := exposition(t, f.collector(context.Background()))
			for line, want := range map[string]string{countLine: tt.wantCount, paidLine: tt.wantPaid} {
				got := ""
				if _, rest, ok := strings.Cut(text, "\n"+line); ok {
					got, _, _ = strings.Cut(rest, "\n")
				}
				if got != want {
					t.Errorf("%s= %q, want %q:\n%s", line, got, want, text)
				}
			}
			if !strings.Contains(text, `docspace_collector_success{collector="count"} 1`) {
				t.Errorf("the count collector failed:\n%s", text)
			}
			if n := f.fake.Requests(docspacetest.PathBackupsCountByPaid); n != tt.byPaid {
				t.Errorf("getbackupscountbypaid called %d times, want %d", n, tt.byPaid)
			}
			if n := f.fake.Requests(docspacetest.PathBackupsCount); n != tt.count {
				t.Errorf("getbackupscount called %d times, want %d", n, tt.count)
			}
			checkLogs(t, f.logs.String(), "")
		})
	}
}

// The counts are read at most hourly, and again when a month begins.
func TestMonthBackupsCache(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleDaily)
	now := time.Date(2026, 7, 31, 23, 10, 0, 0, time.UTC)
	f.portal.memory.now = func() time.Time { return now }
	calls := func() int { return f.fake.Requests(docspacetest.PathBackupsCountByPaid) }
	for _, step := range []struct {
		at    time.Time
		calls int
	}{
		{now, 1},
		{now.Add(30 * time.Minute), 1}, // 23:40: within the hour
		{time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), 2}, // a new month
		{time.Date(2026, 8, 1, 0, 59, 0, 0, time.UTC), 2},
		{time.Date(2026, 8, 1, 1, 0, 0, 0, time.UTC), 3}, // an hour later
	} {
		now = step.at
		f.collector(context.Background())
		if n := calls(); n != step.calls {
			t.Fatalf("at %s: %d calls, want %d", now.Format(time.RFC3339), n, step.calls)
		}
	}
	// A failure is tried again in a few minutes; meanwhile it fails.
	f.fake.SetOverride(docspacetest.PathBackupsCountByPaid, docspacetest.ServerError("boom"))
	now = now.Add(time.Hour)
	f.collector(context.Background())
	now = now.Add(time.Minute)
	if text := exposition(t, f.collector(context.Background())); !strings.Contains(text, `docspace_collector_success{collector="count"} 0`) ||
		strings.Contains(text, "docspace_backup_month_backups ") {
		t.Errorf("a failed count call shows:\n%s", text)
	}
	f.fake.SetOverride(docspacetest.PathBackupsCountByPaid, nil)
	now = now.Add(countRetry)
	if text := exposition(t, f.collector(context.Background())); !strings.Contains(text, "docspace_backup_month_backups 0\n") {
		t.Errorf("the count is not read again after a failure:\n%s", text)
	}
	if n := calls(); n != 5 {
		t.Errorf("%d calls, want 5", n)
	}
}

// The count call runs beside the schedule call when the portal's time zone
// is known as the scrape begins (configured, or read from the settings
// before), so an hourly refresh adds no round trip to a scrape; it waits
// for the settings only while no time zone is known.
func TestCountRunsBesideTheOtherCalls(t *testing.T) {
	for _, c := range []struct {
		name     string
		timezone string // configured; "" reads the settings
		warm     bool   // a scrape before has read the settings
		beside   bool
	}{
		{"configured time zone", "Europe/Berlin", false, true},
		{"time zone read before", "", true, true},
		{"time zone not yet known", "", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, func(p *config.Portal) { p.Timezone = c.timezone })
			f.fake.SetSchedule(docspacetest.ScheduleWeekly)
			f.fake.SetTimezone("Asia/Tokyo")
			if c.warm {
				f.collector(context.Background())
				f.portal.memory.counts.mu.Lock()
				f.portal.memory.counts.next = time.Time{} // due again
				f.portal.memory.counts.mu.Unlock()
			}
			before := f.fake.Requests(docspacetest.PathBackupsCountByPaid)
			f.fake.SetPathHang(docspacetest.PathSchedule, true)
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.collector(context.Background())
			}()
			// While the schedule call hangs, the count call arrives only if
			// it runs beside it.
			arrived := false
			for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline) && !arrived; time.Sleep(5 * time.Millisecond) {
				arrived = f.fake.Requests(docspacetest.PathBackupsCountByPaid) > before
			}
			f.fake.SetPathHang(docspacetest.PathSchedule, false)
			<-done
			if arrived != c.beside {
				t.Errorf("the count call reached the portal while the schedule call hung: %t, want %t", arrived, c.beside)
			}
			if n := f.fake.Requests(docspacetest.PathBackupsCountByPaid) - before; n != 1 {
				t.Errorf("%d count calls in the scrape, want 1", n)
			}
		})
	}
}
