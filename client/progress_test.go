package client

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

func TestBackupProgress(t *testing.T) {
	tests := []struct {
		name                     string
		progress                 string
		want                     *Progress
		running, failed, noValue bool
	}{
		{name: "no task", progress: "", noValue: true},
		{name: "failed inside the job", progress: docspacetest.ProgressFailed, failed: true,
			want: &Progress{Completed: true, Percent: 45, Error: "Access to the path is denied.", Status: ptr(TaskCompleted), TaskID: "0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{name: "running", progress: docspacetest.ProgressRunning, running: true,
			want: &Progress{Percent: 45, Status: ptr(TaskRunning), TaskID: "7c9e6679-7425-40de-944b-e07fc1f90ae7"}},
		{name: "completed", progress: docspacetest.ProgressCompleted,
			want: &Progress{Completed: true, Percent: 100, Status: ptr(TaskCompleted)}},
		{name: "canceled", progress: docspacetest.ProgressCanceled,
			want: &Progress{Completed: true, Percent: 30, Status: ptr(TaskCanceled)}},
		{name: "failted state", progress: docspacetest.ProgressFailted, failed: true,
			want: &Progress{Completed: true, Percent: 10, Error: "Object reference not set to an instance of an object.", Status: ptr(TaskFailed)}},
		{name: "completed with a warning", progress: docspacetest.ProgressWarning,
			want: &Progress{Completed: true, Percent: 100, Warning: "Some files could not be backed up: 2 files were not found in the storage.", Status: ptr(TaskCompleted)}},
		{name: "out of range progress", progress: `{"isCompleted":false,"progress":250,"error":"","status":1}`, running: true,
			want: &Progress{Percent: 100, Status: ptr(TaskRunning)}},
		{name: "minimal", progress: `{}`, running: true, want: &Progress{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetProgress(tt.progress)
			got, err := newClient(t, srv.URL).BackupProgress(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if tt.noValue {
				if got != nil {
					t.Fatalf("progress = %+v, want none", got)
				}
				return
			}
			if got.Completed != tt.want.Completed || got.Percent != tt.want.Percent ||
				got.Error != tt.want.Error || got.Warning != tt.want.Warning ||
				(tt.want.TaskID != "" && got.TaskID != tt.want.TaskID) ||
				fmt.Sprint(deref(got.Status)) != fmt.Sprint(deref(tt.want.Status)) {
				t.Errorf("progress = %+v, want %+v", got, tt.want)
			}
			if got.Running() != tt.running || got.Failed() != tt.failed {
				t.Errorf("running %v failed %v, want %v %v", got.Running(), got.Failed(), tt.running, tt.failed)
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

func TestBackupProgressFailure(t *testing.T) {
	p, srv := newFake(t)
	p.SetOverride(docspacetest.PathProgress, docspacetest.ForbiddenAccessDenied())
	_, err := newClient(t, srv.URL).BackupProgress(testContext(t))
	assertError(t, err, KindForbidden, 403, []string{ProgressPath}, nil)
}

// Dump=true goes to the backup endpoints only, never to settings.
func TestQueries(t *testing.T) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetDumpSchedule(docspacetest.ScheduleDump)
	fake.SetTimezone("Asia/Kolkata")
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI())
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *Config) { c.Dump = true })
	if _, err := c.BackupSchedule(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BackupProgress(testContext(t)); err != nil {
		t.Fatal(err)
	}
	tz, err := c.Timezone(testContext(t))
	if err != nil || tz != (TimeZone{ID: "Asia/Kolkata", UTCOffset: 5*time.Hour + 30*time.Minute, HasOffset: true}) {
		t.Fatalf("Timezone = %+v, %v", tz, err)
	}
	want := []string{SchedulePath + "?Dump=true", ProgressPath + "?Dump=true", SettingsPath}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("requests = %q, want %q", seen, want)
	}
}
