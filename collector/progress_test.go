package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// The task states of the samples (DistributedTaskStatus).
const (
	testTaskRunning   taskStatus = 1
	testTaskCompleted taskStatus = 2
	testTaskCanceled  taskStatus = 3
	testTaskFailed    taskStatus = 4
)

// wantProgress is what a decoded task must hold; Percent is what
// docspace_backup_task_progress_ratio exports, times 100.
type wantProgress struct {
	Completed      bool
	Percent        int
	Error, Warning string
	Status         *taskStatus
	TaskID         string
}

func TestBackupProgress(t *testing.T) {
	tests := []struct {
		name                     string
		progress                 string
		want                     *wantProgress
		running, failed, noValue bool
	}{
		{name: "no task", progress: "", noValue: true},
		{name: "failed inside the job", progress: docspacetest.ProgressFailed, failed: true,
			want: &wantProgress{Completed: true, Percent: 45, Error: "Access to the path is denied.", Status: ptr(testTaskCompleted), TaskID: "0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{name: "running", progress: docspacetest.ProgressRunning, running: true,
			want: &wantProgress{Percent: 45, Status: ptr(testTaskRunning), TaskID: "7c9e6679-7425-40de-944b-e07fc1f90ae7"}},
		{name: "completed", progress: docspacetest.ProgressCompleted,
			want: &wantProgress{Completed: true, Percent: 100, Status: ptr(testTaskCompleted)}},
		{name: "canceled", progress: docspacetest.ProgressCanceled,
			want: &wantProgress{Completed: true, Percent: 30, Status: ptr(testTaskCanceled)}},
		{name: "failted state", progress: docspacetest.ProgressFailted, failed: true,
			want: &wantProgress{Completed: true, Percent: 10, Error: "Object reference not set to an instance of an object.", Status: ptr(testTaskFailed)}},
		{name: "completed with a warning", progress: docspacetest.ProgressWarning,
			want: &wantProgress{Completed: true, Percent: 100, Warning: "Some files could not be backed up: 2 files were not found in the storage.", Status: ptr(testTaskCompleted)}},
		// The raw value is kept; the exported ratio is clamped to 1.
		{name: "out of range progress", progress: `{"isCompleted":false,"progress":250,"error":"","status":1}`, running: true,
			want: &wantProgress{Percent: 100, Status: ptr(testTaskRunning)}},
		{name: "minimal", progress: `{}`, running: true, want: &wantProgress{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetProgress(tt.progress)
			s := newTestScrape(answerContext(t), f.portal)
			a := progressEndpoint.fetch(s)
			if a.err != nil {
				t.Fatal(a.err)
			}
			got := a.value.(*backupProgress)
			collectProgress(s, a)
			ratio, exported := sampleValue(t, s.metrics, taskProgressDesc)
			if tt.noValue {
				if got != nil {
					t.Fatalf("progress = %+v, want none", got)
				}
				if exported {
					t.Errorf("docspace_backup_task_progress_ratio = %v without a task", ratio)
				}
				return
			}
			if got == nil {
				t.Fatalf("progress = nil, want %+v", tt.want)
			}
			if !exported || ratio != float64(tt.want.Percent)/100 {
				t.Errorf("docspace_backup_task_progress_ratio = %v (exported %v), want %v", ratio, exported, float64(tt.want.Percent)/100)
			}
			if got.IsCompleted != tt.want.Completed ||
				got.Error != tt.want.Error || got.Warning != tt.want.Warning ||
				(tt.want.TaskID != "" && got.TaskID != tt.want.TaskID) ||
				fmt.Sprint(deref(got.Status)) != fmt.Sprint(deref(tt.want.Status)) {
				t.Errorf("progress = %+v, want %+v", got, tt.want)
			}
			if got.running() != tt.running || got.failed() != tt.failed {
				t.Errorf("running %v failed %v, want %v %v", got.running(), got.failed(), tt.running, tt.failed)
			}
			if strings.Contains(fmt.Sprintf("%+v", got), docspacetest.ProgressLinkSecret) {
				t.Error("the pre-signed link was decoded")
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// sampleValue returns the value of the sample of d among metrics, and
// whether there is one.
func sampleValue(t *testing.T, metrics []prometheus.Metric, d *prometheus.Desc) (float64, bool) {
	t.Helper()
	for _, m := range metrics {
		if m.Desc() != d {
			continue
		}
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		return pb.GetGauge().GetValue(), true
	}
	return 0, false
}

func TestBackupProgressFailure(t *testing.T) {
	f := newFixture(t)
	f.fake.SetOverride(docspacetest.PathProgress, docspacetest.ForbiddenAccessDenied())
	a := progressEndpoint.fetch(newTestScrape(answerContext(t), f.portal))
	if !a.failed {
		t.Error("a failed call is not marked failed")
	}
	assertCallError(t, a.err, client.KindForbidden, 403, []string{progressPath}, nil)
}

// Dump=true goes to the backup endpoints only, never to settings.
func TestQueries(t *testing.T) {
	f := newFixture(t, func(p *config.Portal) { p.Dump = true })
	f.fake.SetDumpSchedule(docspacetest.ScheduleDump)
	f.fake.SetTimezone("Asia/Kolkata")
	requests := f.recordRequests()
	if _, err := fetchSchedule(newTestScrape(answerContext(t), f.portal)); err != nil {
		t.Fatal(err)
	}
	if a := progressEndpoint.fetch(newTestScrape(answerContext(t), f.portal)); a.err != nil {
		t.Fatal(a.err)
	}
	tz, err := fetchTimezone(newTestScrape(answerContext(t), f.portal))
	tz.info, tz.hasInfo = portalInfo{}, false
	if err != nil || tz != (timeZone{id: "Asia/Kolkata", offset: 5*time.Hour + 30*time.Minute, hasOffset: true}) {
		t.Fatalf("fetchTimezone = %+v, %v", tz, err)
	}
	want := []string{schedulePath + "?Dump=true", progressPath + "?Dump=true", settingsPath}
	if seen := requests.seen(); fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("requests = %q, want %q", seen, want)
	}
}
