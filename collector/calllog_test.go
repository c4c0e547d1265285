package collector

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// Each call of a scrape is logged at debug level with its endpoint,
// status, duration, and for a failure its kind and advice; what a scrape
// uses instead of a call is said too.
func TestCallLog(t *testing.T) {
	scrape := func(f *fixture) string {
		t.Helper()
		f.logs.Reset()
		exposition(t, f.collector(context.Background()))
		return f.logs.String()
	}
	f := newFixture(t, func(p *config.Portal) { p.HistoryInterval = time.Hour })
	f.fake.SetSchedule(docspacetest.ScheduleS3)
	f.fake.SetProgress(docspacetest.ProgressCompleted)
	f.fake.SetOverride(docspacetest.PathProgress, docspacetest.ForbiddenAccessDenied())
	f.fake.SetOverride(docspacetest.PathHistory, docspacetest.ServerError("Could not find a part of the path."))
	logs := scrape(f)
	for _, want := range []string{
		`msg="schedule call succeeded" portal=test configured_at="" path=/api/2.0/backup/getbackupschedule status_code=200 duration=`,
		`msg="progress call failed" portal=test configured_at="" path=/api/2.0/backup/getbackupprogress status_code=403 duration=`,
		`kind=forbidden advice="HTTP 403 (\"Access denied\"): the key's creator must be the portal owner or a DocSpace admin`,
		`msg="settings call succeeded" portal=test configured_at="" path=/api/2.0/settings status_code=200`,
		`path=/api/2.0/backup/getbackuphistory interval=1h0m0s last_call_ended=`,
		`last_call_status_code=500 last_call_duration=`,
		`kind=server_error advice="HTTP 500 (\"Could not find a part of the path.\"): the portal has a server-side problem`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the first scrape's log lacks %q:\n%s", want, logs)
		}
	}
	checkLogs(t, logs, "DocSpace scrape failed")

	// The second scrape uses the time zone read by the first, and a
	// cause that is not the advice is its own field.
	f.fake.SetOverride(docspacetest.PathSchedule, docspacetest.Truncated())
	logs = scrape(f)
	for _, want := range []string{
		`msg="schedule call failed"`, `kind=malformed advice="the answer is not a valid DocSpace API answer" cause="the JSON is truncated"`,
		`msg="settings not called: the time zone read from the portal within the hour is used" portal=test configured_at="" timezone=UTC`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the second scrape's log lacks %q:\n%s", want, logs)
		}
	}
	checkLogs(t, logs, "DocSpace scrape failed")

	// A fixed time zone, the progress collector and the history off.
	f = newFixture(t, func(p *config.Portal) { p.Timezone = "Europe/Berlin" })
	f.rebuild(Options{Off: map[string]bool{"progress": true}})
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	logs = scrape(f)
	for _, want := range []string{
		`msg="progress not called: the progress collector is off"`,
		`msg="settings not called: the time zone is given in the portal's settings" portal=test configured_at="" timezone=Europe/Berlin`,
		`msg="history not called: the stored-backup history is off"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	checkLogs(t, logs, "")

	// At info level, a scrape logs nothing at all.
	f.logger = slog.New(slog.NewTextHandler(f.logs, nil))
	if logs := scrape(f); logs != "" {
		t.Errorf("a healthy scrape logged at info level:\n%s", logs)
	}
}
