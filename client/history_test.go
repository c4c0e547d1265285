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

func TestBackupHistory(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	newest := time.Date(2026, 6, 30, 3, 5, 0, 0, time.UTC)
	tests := []struct {
		name    string
		history []docspacetest.Backup
		want    History
	}{
		{name: "none stored", want: History{}},
		{name: "weekly, MySQL forms", history: docspacetest.HistoryWeekly,
			want: History{Backups: 5, Newest: utc("2026-06-29T02:09:58Z"), Oldest: utc("2026-06-10T09:15:00Z")}},
		{name: "weekly, PostgreSQL forms", history: docspacetest.HistoryWeeklyPostgres,
			want: History{Backups: 5, Newest: utc("2026-06-29T02:09:58.412345Z"), Oldest: utc("2026-06-10T09:15:00Z")}},
		{name: "last start not stored", history: docspacetest.HistoryNotStored,
			want: History{Backups: 4, Newest: utc("2026-06-24T16:42:17Z"), Oldest: utc("2026-06-10T09:15:00Z")}},
		{name: "a thousand", history: docspacetest.ManyBackups("docspace", newest, 1000),
			want: History{Backups: 1000, Newest: newest, Oldest: newest.AddDate(0, 0, -999)}},
		{name: "oldest first", history: []docspacetest.Backup{
			docspacetest.StoredBackup("docspace", utc("2026-01-01T00:00:00Z"), 5, docspacetest.DateTimeMySQL),
			docspacetest.StoredBackup("docspace", utc("2026-03-01T00:00:00Z"), 5, docspacetest.DateTimeMySQL),
			docspacetest.StoredBackup("docspace", utc("2026-02-01T00:00:00Z"), 5, docspacetest.DateTimeMySQL),
		}, want: History{Backups: 3, Newest: utc("2026-03-01T00:00:00Z"), Oldest: utc("2026-01-01T00:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetHistory(tt.history...)
			got, err := newClient(t, srv.URL).BackupHistory(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.Backups != tt.want.Backups || !got.Newest.Equal(tt.want.Newest) || !got.Oldest.Equal(tt.want.Oldest) {
				t.Errorf("history = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Only createdOn is decoded: nothing that names a backup reaches the
// exporter.
func TestBackupHistoryKeepsNoNames(t *testing.T) {
	p, srv := newFake(t)
	p.SetHistory(docspacetest.HistoryWeekly...)
	got, err := newClient(t, srv.URL).BackupHistory(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("%+v %#v", got, got)
	for _, b := range docspacetest.HistoryWeekly {
		if strings.Contains(text, b.FileName) || strings.Contains(text, b.ID) || strings.Contains(text, "docspace_2026") {
			t.Errorf("the history holds a backup's name or id: %s", text)
		}
	}
}

func TestBackupHistoryDump(t *testing.T) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetHistory(docspacetest.HistoryWeekly...)
	fake.SetDumpHistory(docspacetest.HistoryDump...)
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI())
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	got, err := newClient(t, srv.URL, func(c *Config) { c.Dump = true }).BackupHistory(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Backups != 3 || !got.Newest.Equal(time.Date(2026, 6, 30, 4, 31, 40, 0, time.UTC)) {
		t.Errorf("dump history = %+v", got)
	}
	if want := []string{HistoryPath + "?Dump=true"}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("requests = %q, want %q", seen, want)
	}
}

func TestBackupHistoryOddAnswers(t *testing.T) {
	answer := func(response string) *docspacetest.Response {
		return &docspacetest.Response{
			Header: http.Header{"Content-Type": {docspacetest.ContentTypeJSON}},
			Body:   []byte(`{` + response + `"count":1,"links":[],"status":0,"statusCode":200}`),
		}
	}
	tests := []struct {
		name     string
		response string
		want     History
	}{
		{"response absent", ``, History{}},
		{"response null", `"response":null,`, History{}},
		{"null record", `"response":[null],`, History{Backups: 1}},
		{"no createdOn", `"response":[{"id":"x"}],`, History{Backups: 1}},
		{"never", `"response":[{"createdOn":"0001-01-01T00:00:00"}],`, History{Backups: 1}},
		{"with offset", `"response":[{"createdOn":"2026-06-29T05:07:31+03:00"}],`,
			History{Backups: 1, Newest: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), Oldest: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetOverride(docspacetest.PathHistory, answer(tt.response))
			got, err := newClient(t, srv.URL).BackupHistory(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.Backups != tt.want.Backups || !got.Newest.Equal(tt.want.Newest) || !got.Oldest.Equal(tt.want.Oldest) {
				t.Errorf("history = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBackupHistoryFailures(t *testing.T) {
	body := func(s string) *docspacetest.Response {
		return &docspacetest.Response{Header: http.Header{"Content-Type": {docspacetest.ContentTypeJSON}}, Body: []byte(s)}
	}
	tests := []struct {
		name     string
		override *docspacetest.Response
		kind     Kind
		status   int
		contains []string
		absent   []string
	}{
		{"403", docspacetest.ForbiddenAccessDenied(), KindForbidden, 403, []string{HistoryPath, "owner or a DocSpace admin"}, []string{"PermissionResolver"}},
		{"500", docspacetest.ServerError("Could not find a part of the path."), KindServerError, 500, []string{"HTTP 500", "Could not find a part of the path."}, []string{"   at "}},
		{"not a list", body(`{"response":{"createdOn":"2026-06-29T02:07:31"},"status":0}`), KindMalformed, 200, []string{"a JSON object"}, nil},
		{"createdOn a number", body(`{"response":[{"createdOn":20260629}],"status":0}`), KindMalformed, 200, []string{"createdOn is a JSON number"}, nil},
		{"bad createdOn", body(`{"response":[{"fileName":"docspace_2026-06-29_02-09-58.tar.gz","createdOn":"2026-06-29T02:09:58"},{"fileName":"secret-name.tar.gz","createdOn":"yesterday"}],"status":0}`),
			KindMalformed, 200, []string{"backup history", "record 2: createdOn", `"yesterday"`}, []string{"secret-name", "docspace_2026"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetOverride(docspacetest.PathHistory, tt.override)
			h, err := newClient(t, srv.URL).BackupHistory(testContext(t))
			if err == nil {
				t.Fatalf("no error, history %+v", h)
			}
			assertError(t, err, tt.kind, tt.status, tt.contains, tt.absent)
		})
	}
}
