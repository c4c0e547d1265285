package client

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// FuzzDecodeAnswer feeds arbitrary answers through the same decoding a real
// getbackupschedule, getbackupprogress or settings answer takes. It must
// never panic, and an error must never carry a storageParams secret.
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
		docspacetest.ProgressCanceled, docspacetest.ProgressFailted} {
		f.Add(200, "application/json; charset=utf-8", envelope(p))
	}
	f.Add(200, "application/json; charset=utf-8", envelope(`{"timezone":"Europe/Berlin","utcOffset":"01:00:00","utcHoursOffset":1.0}`))

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
