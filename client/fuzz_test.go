package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// FuzzDecodeAnswer feeds arbitrary answers through the same decoding a real
// getbackupschedule, getbackupprogress, settings or getbackuphistory answer
// takes. It must never panic, an error must never carry a storageParams
// secret, and a decoded history must be consistent.
func FuzzDecodeAnswer(f *testing.F) {
	envelope := func(schedule string) string {
		return `{"response":` + schedule + `,"count":1,"links":[{"href":"https://docspace.example.com/api/2.0/backup/getbackupschedule","action":"GET"}],"status":0,"statusCode":200}`
	}
	for _, s := range []string{
		docspacetest.ScheduleWeekly, docspacetest.ScheduleNeverRun, docspacetest.ScheduleDaily,
		docspacetest.ScheduleMonthly15, docspacetest.ScheduleDataStore, docspacetest.ScheduleS3,
		docspacetest.SchedulePostgres, docspacetest.ScheduleOldServer, docspacetest.ScheduleDump,
	} {
		f.Add(200, "application/json; charset=utf-8", envelope(s))
	}
	f.Add(200, "application/json; charset=utf-8", `{"count":0,"links":[],"status":0,"statusCode":200}`)
	f.Add(200, "application/json", `{"response":null,"status":0}`)
	f.Add(403, "application/json; charset=utf-8", `{"error":{"message":"Access denied","type":"x","stack":"   at y","hresult":-2146233088},"status":1,"statusCode":403}`)
	f.Add(402, "application/problem+json", `{"status":402,"traceId":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}`)
	f.Add(400, "application/json", `{"response":{"errors":{"Dump":["bad"]}},"status":1,"statusCode":400}`)
	f.Add(200, "text/html", `<!DOCTYPE html><html></html>`)
	f.Add(200, "application/json", `{"response":{"cronParams":{"hour":"2"}},"status":0}`)
	f.Add(200, "application/json", `{"response":{"lastBackupTime":"2026-02-30T00:00:00"},"status":0}`)
	f.Add(200, "application/json", `{"response":`)
	for _, p := range []string{docspacetest.ProgressFailed, docspacetest.ProgressRunning, docspacetest.ProgressCompleted,
		docspacetest.ProgressCanceled, docspacetest.ProgressFailted, docspacetest.ProgressWarning} {
		f.Add(200, "application/json; charset=utf-8", envelope(p))
	}
	f.Add(200, "application/json; charset=utf-8", envelope(`{"timezone":"Europe/Berlin","utcOffset":"01:00:00","utcHoursOffset":1.0}`))
	for _, h := range [][]docspacetest.Backup{docspacetest.HistoryWeekly, docspacetest.HistoryWeeklyPostgres, docspacetest.HistoryDump, nil} {
		records, err := json.Marshal(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(200, "application/json; charset=utf-8", envelope(string(records)))
	}
	f.Add(200, "application/json", `{"response":[null,{"createdOn":null},{"createdOn":"0001-01-01T00:00:00"}],"status":0}`)
	f.Add(200, "application/json", `{"response":[{"createdOn":"2026-06-29T02:07:31+14:00"},{"createdOn":"-infinity"}],"status":0}`)

	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		h := http.Header{"Content-Type": {contentType}}
		dto, err := decodeAnswer[scheduleDTO](SchedulePath, status, h, []byte(body))
		if err == nil && dto != nil {
			_, err = dto.schedule()
		}
		check(t, err, contentType)
		_, err = decodeAnswer[progressDTO](ProgressPath, status, h, []byte(body))
		check(t, err, contentType)
		_, err = decodeAnswer[settingsDTO](SettingsPath, status, h, []byte(body))
		check(t, err, contentType)
		records, err := decodeAnswer[[]historyRecordDTO](HistoryPath, status, h, []byte(body))
		if err == nil && records != nil {
			var hist *History
			hist, err = history(*records)
			if err == nil && (hist.Backups != len(*records) || hist.Newest.Before(hist.Oldest) || hist.Newest.IsZero() != hist.Oldest.IsZero()) {
				t.Errorf("inconsistent history %+v of %d records", hist, len(*records))
			}
		}
		check(t, err, contentType)
	})
}

func check(t *testing.T, err error, contentType string) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if errors.As(err, &e) && e.Kind == 0 {
		t.Errorf("error without a kind: %v", err)
	}
	for _, s := range docspacetest.S3SecretValues {
		if strings.Contains(err.Error(), s) && !strings.Contains(contentType, s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}
