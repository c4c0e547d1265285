package collector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
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
		want    storedBackups
	}{
		{name: "none stored", want: storedBackups{}},
		{name: "weekly, MySQL forms", history: docspacetest.HistoryWeekly,
			want: storedBackups{backups: 5, newest: utc("2026-06-29T02:09:58Z"), oldest: utc("2026-06-10T09:15:00Z")}},
		{name: "weekly, PostgreSQL forms", history: docspacetest.HistoryWeeklyPostgres,
			want: storedBackups{backups: 5, newest: utc("2026-06-29T02:09:58.412345Z"), oldest: utc("2026-06-10T09:15:00Z")}},
		{name: "last start not stored", history: docspacetest.HistoryNotStored,
			want: storedBackups{backups: 4, newest: utc("2026-06-24T16:42:17Z"), oldest: utc("2026-06-10T09:15:00Z")}},
		{name: "a thousand", history: docspacetest.ManyBackups("docspace", newest, 1000),
			want: storedBackups{backups: 1000, newest: newest, oldest: newest.AddDate(0, 0, -999)}},
		{name: "oldest first", history: []docspacetest.Backup{
			docspacetest.StoredBackup("docspace", utc("2026-01-01T00:00:00Z"), 5, docspacetest.DateTimeMySQL),
			docspacetest.StoredBackup("docspace", utc("2026-03-01T00:00:00Z"), 5, docspacetest.DateTimeMySQL),
			docspacetest.StoredBackup("docspace", utc("2026-02-01T00:00:00Z"), 5, docspacetest.DateTimeMySQL),
		}, want: storedBackups{backups: 3, newest: utc("2026-03-01T00:00:00Z"), oldest: utc("2026-01-01T00:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetHistory(tt.history...)
			got, err := fetchHistory(answerContext(t), f.portal)
			if err != nil {
				t.Fatal(err)
			}
			assertStoredBackups(t, got, tt.want)
		})
	}
}

func assertStoredBackups(t *testing.T, got *storedBackups, want storedBackups) {
	t.Helper()
	if got == nil {
		t.Fatalf("history = nil, want %+v", want)
	}
	if got.backups != want.backups || !got.newest.Equal(want.newest) || !got.oldest.Equal(want.oldest) {
		t.Errorf("history = %+v, want %+v", *got, want)
	}
}

// Only createdOn is decoded: nothing that names a backup reaches the
// exporter.
func TestBackupHistoryKeepsNoNames(t *testing.T) {
	f := newFixture(t)
	f.fake.SetHistory(docspacetest.HistoryWeekly...)
	got, err := fetchHistory(answerContext(t), f.portal)
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
	f := newFixture(t, func(p *config.Portal) { p.Dump = true })
	f.fake.SetHistory(docspacetest.HistoryWeekly...)
	f.fake.SetDumpHistory(docspacetest.HistoryDump...)
	requests := f.recordRequests()
	got, err := fetchHistory(answerContext(t), f.portal)
	if err != nil {
		t.Fatal(err)
	}
	if got.backups != 3 || !got.newest.Equal(time.Date(2026, 6, 30, 4, 31, 40, 0, time.UTC)) {
		t.Errorf("dump history = %+v", *got)
	}
	if seen, want := requests.seen(), []string{historyPath + "?Dump=true"}; fmt.Sprint(seen) != fmt.Sprint(want) {
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
		want     storedBackups
	}{
		{"response absent", ``, storedBackups{}},
		{"response null", `"response":null,`, storedBackups{}},
		{"null record", `"response":[null],`, storedBackups{backups: 1}},
		{"no createdOn", `"response":[{"id":"x"}],`, storedBackups{backups: 1}},
		{"never", `"response":[{"createdOn":"0001-01-01T00:00:00"}],`, storedBackups{backups: 1}},
		{"with offset", `"response":[{"createdOn":"2026-06-29T05:07:31+03:00"}],`,
			storedBackups{backups: 1, newest: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), oldest: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetOverride(docspacetest.PathHistory, answer(tt.response))
			got, err := fetchHistory(answerContext(t), f.portal)
			if err != nil {
				t.Fatal(err)
			}
			assertStoredBackups(t, got, tt.want)
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
		kind     client.Kind
		status   int
		contains []string
		absent   []string
	}{
		{"403", docspacetest.ForbiddenAccessDenied(), client.KindForbidden, 403, []string{historyPath, "owner or a DocSpace admin"}, []string{"PermissionResolver"}},
		{"500", docspacetest.ServerError("Could not find a part of the path."), client.KindServerError, 500, []string{"HTTP 500", "Could not find a part of the path."}, []string{"   at "}},
		{"not a list", body(`{"response":{"createdOn":"2026-06-29T02:07:31"},"status":0}`), client.KindMalformed, 200, []string{"a JSON object"}, nil},
		{"createdOn a number", body(`{"response":[{"createdOn":20260629}],"status":0}`), client.KindMalformed, 200, []string{"createdOn is a JSON number"}, nil},
		{"bad createdOn", body(`{"response":[{"fileName":"docspace_2026-06-29_02-09-58.tar.gz","createdOn":"2026-06-29T02:09:58"},{"fileName":"secret-name.tar.gz","createdOn":"yesterday"}],"status":0}`),
			client.KindMalformed, 200, []string{"backup history", "record 2: createdOn", `"yesterday"`}, []string{"secret-name", "docspace_2026"}},
		{"over 16 MiB", docspacetest.HugeWithLength(17 << 20), client.KindTooLarge, 200, []string{"the list of stored backups is over 16 MiB", "delete old backups"}, []string{"check the portal URL"}},
		{"over 16 MiB streamed", docspacetest.Huge(17 << 20), client.KindTooLarge, 200, []string{"the list of stored backups is over 16 MiB"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetOverride(docspacetest.PathHistory, tt.override)
			// Reading 16 MiB takes seconds in a race build on a busy
			// machine: the deadline must not be what ends the read.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h, err := fetchHistory(ctx, f.portal)
			if err == nil {
				t.Fatalf("no error, history %+v", h)
			}
			assertCallError(t, err, tt.kind, tt.status, tt.contains, tt.absent)
		})
	}
}

// A long list of stored backups, past the 1 MiB of the other answers (about
// 6,500 backups), is read: the history has a limit of its own.
func TestBackupHistoryLongList(t *testing.T) {
	f := newFixture(t)
	backups := make([]docspacetest.Backup, 10000) // about 1.5 MiB
	for i := range backups {
		backups[i] = docspacetest.Backup{ID: fmt.Sprintf("%08d-d9cb-469f-a165-70867728950e", i), FileName: fmt.Sprintf("portal_2026-06-%02d_02-07-31.tar.gz", i%28+1),
			CreatedOn: fmt.Sprintf("2026-06-%02dT02:07:31", i%28+1), ExpiresOn: "0001-01-01T00:00:00"}
	}
	f.fake.SetHistory(backups...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a race build is slow
	defer cancel()
	h, err := fetchHistory(ctx, f.portal)
	if err != nil {
		t.Fatal(err)
	}
	if h.backups != 10000 || !h.newest.Equal(time.Date(2026, 6, 28, 2, 7, 31, 0, time.UTC)) {
		t.Errorf("history of 10,000 backups: %d backups, newest %v", h.backups, h.newest)
	}
}
