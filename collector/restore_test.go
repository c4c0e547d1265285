package collector

import (
	"context"
	"strings"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// getrestoreprogress is asked only when the schedule call fails: during a
// restore it tells the 403s apart from an outage.
func TestRestore(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	f.fake.SetRestore(docspacetest.RestoreCompleted) // a finished restore: the portal works
	text := exposition(t, f.collector(context.Background()))
	if n := f.fake.Requests(docspacetest.PathRestore); n != 0 {
		t.Errorf("getrestoreprogress called %d times while the schedule call works", n)
	}
	for _, want := range []string{"docspace_up 1\n", "docspace_restore_running 0\n", `docspace_collector_success{collector="restore"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("want %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "docspace_restore_progress_ratio") {
		t.Errorf("a restore progress without a call:\n%s", text)
	}

	f.fake.SetRestore(docspacetest.RestoreRunning)
	text = exposition(t, f.collector(context.Background()))
	for _, want := range []string{"docspace_up 0\n", "docspace_api_status_code 403\n", "docspace_restore_running 1\n",
		"docspace_restore_progress_ratio 0.4\n", `docspace_collector_success{collector="restore"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("want %q in:\n%s", want, text)
		}
	}
	if n := f.fake.Requests(docspacetest.PathRestore); n != 1 {
		t.Errorf("getrestoreprogress called %d times, want 1", n)
	}
	if !strings.Contains(f.logs.String(), "this is no fault of the key") {
		t.Errorf("the failure line blames the 403 on the key during a restore:\n%s", f.logs)
	}
	f.collector(context.Background())
	if n := strings.Count(f.logs.String(), "msg=\"DocSpace is restoring the portal"); n != 1 {
		t.Errorf("the restore is logged %d times, want once:\n%s", n, f.logs)
	}

	// The restore ends: the portal works again and no call is made.
	f.fake.SetRestore(docspacetest.RestoreCompleted)
	text = exposition(t, f.collector(context.Background()))
	if !strings.Contains(text, "docspace_up 1\n") || !strings.Contains(text, "docspace_restore_running 0\n") {
		t.Errorf("after the restore:\n%s", text)
	}
	if n := f.fake.Requests(docspacetest.PathRestore); n != 2 {
		t.Errorf("getrestoreprogress called %d times, want 2", n)
	}
	if !strings.Contains(f.logs.String(), "no longer restores") {
		t.Errorf("the end of the restore is not logged:\n%s", f.logs)
	}

	// An outage: the restore call fails too, and no restore is claimed.
	f.fake.SetRestore("")
	f.fake.SetOverride(docspacetest.PathSchedule, docspacetest.BadGatewayHTML())
	f.fake.SetOverride(docspacetest.PathRestore, docspacetest.BadGatewayHTML())
	text = exposition(t, f.collector(context.Background()))
	if !strings.Contains(text, `docspace_collector_success{collector="restore"} 0`) || strings.Contains(text, "docspace_restore_running") {
		t.Errorf("during an outage:\n%s", text)
	}
}
