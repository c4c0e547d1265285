package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// The spec allows history records with a null fileName, in no particular
// order: the count, the newest and the oldest come out the same.
func TestHistoryWithoutFileNamesInAnyOrder(t *testing.T) {
	f, _ := historyFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	newest := testNow.Add(-2 * time.Hour)
	backups := []docspacetest.Backup{
		docspacetest.StoredBackup("acme", newest.AddDate(0, 0, -3), 0, docspacetest.DateTimeMySQL),
		docspacetest.StoredBackup("acme", newest, 0, docspacetest.DateTimePostgres),
		docspacetest.StoredBackup("acme", newest.AddDate(0, 0, -9), 5, docspacetest.DateTimeMySQL),
		docspacetest.StoredBackup("acme", newest.AddDate(0, 0, -1), 0, docspacetest.DateTimeMySQL),
	}
	f.fake.SetOverride(docspacetest.PathHistory, docspacetest.HistoryWithoutFileNames(backups...))
	f.scrape()
	f.waitHistory()
	out := exposition(t, f.collector(context.Background()))
	for _, want := range []string{
		"docspace_backup_history_backups 4\n",
		fmt.Sprintf("docspace_backup_history_latest_timestamp_seconds %g\n", float64(newest.Unix())),
		fmt.Sprintf("docspace_backup_history_oldest_timestamp_seconds %g\n", float64(newest.AddDate(0, 0, -9).Unix())),
		`docspace_collector_success{collector="history"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(f.logs.String(), "level=WARN") || strings.Contains(f.logs.String(), "level=ERROR") {
		t.Errorf("logged:\n%s", f.logs)
	}
}

// Out-of-range cronParams are left out and logged once per change, not at
// every scrape; the next slot is not computed from them.
func TestScheduleOutOfRangeLoggedOnce(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleOutOfRange)
	for range 3 {
		out := exposition(t, f.collector(context.Background()))
		for _, bad := range []string{"docspace_backup_schedule_hour", "docspace_backup_schedule_day", "docspace_backup_schedule_next_timestamp_seconds"} {
			if strings.Contains(out, bad+" ") {
				t.Errorf("exports %s:\n%s", bad, out)
			}
		}
	}
	monthly := strings.NewReplacer(`"period":1`, `"period":2`, `"day":-3`, `"day":32`, `"hour":1700000000`, `"hour":5`).Replace(docspacetest.ScheduleOutOfRange)
	f.fake.SetSchedule(monthly)
	out := exposition(t, f.collector(context.Background()))
	if !strings.Contains(out, "docspace_backup_schedule_hour 5\n") || strings.Contains(out, "docspace_backup_schedule_day ") {
		t.Errorf("monthly day 32:\n%s", out)
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "level=WARN"); n != 2 || !strings.Contains(logs, `out_of_range="day 32 (want 1-31 for a monthly schedule)"`) {
		t.Errorf("%d warnings, want 2 (one per change):\n%s", n, logs)
	}
	if strings.Contains(logs, "cannot compute the next scheduled backup") {
		t.Errorf("the out-of-range values were logged twice:\n%s", logs)
	}
}
