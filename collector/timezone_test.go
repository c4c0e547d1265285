package collector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// "Local" in the portal's settings is not taken as the exporter host's
// zone: the offset the settings give is used, or none.
func TestResolveZoneLocal(t *testing.T) {
	loc, fixed, err := resolveZone(timeZone{id: "Local", offset: 3 * time.Hour, hasOffset: true})
	if err != nil || !fixed || loc.String() != "UTC+03:00" {
		t.Errorf("Local with an offset: %v, fixed %v, %v; want UTC+03:00, fixed", loc, fixed, err)
	}
	if loc, _, err := resolveZone(timeZone{id: "Local"}); err == nil {
		t.Errorf("Local without an offset: %v, want an error", loc)
	}
}

func TestTimezoneAnswers(t *testing.T) {
	tests := []struct {
		name     string
		response string
		want     timeZone
	}{
		{"IANA", `{"timezone":"Europe/Berlin","utcOffset":"02:00:00","utcHoursOffset":2}`,
			timeZone{id: "Europe/Berlin", offset: 2 * time.Hour, hasOffset: true}},
		{"Windows id", `{"timezone":"W. Europe Standard Time","utcOffset":"01:00:00"}`,
			timeZone{id: "W. Europe Standard Time", offset: time.Hour, hasOffset: true}},
		{"negative offset", `{"timezone":"Newfoundland Standard Time","utcOffset":"-03:30:00"}`,
			timeZone{id: "Newfoundland Standard Time", offset: -3*time.Hour - 30*time.Minute, hasOffset: true}},
		{"no offset", `{"timezone":"Asia/Tokyo"}`, timeZone{id: "Asia/Tokyo"}},
		{"bad offset", `{"timezone":"Asia/Tokyo","utcOffset":"soon"}`, timeZone{id: "Asia/Tokyo"}},
		{"offset only", `{"timezone":"","utcOffset":"05:45:00"}`, timeZone{offset: 5*time.Hour + 45*time.Minute, hasOffset: true}},
		// The spec's C# example: utcOffset is no TimeSpan; utcHoursOffset exists so that it need not be parsed.
		{"null zone, utcOffset -8.5", `{"timezone":null,"utcOffset":"-8.5","utcHoursOffset":-8.5}`, timeZone{offset: -8*time.Hour - 30*time.Minute, hasOffset: true}},
		{"hours offset only", `{"utcHoursOffset":5.75}`, timeZone{offset: 5*time.Hour + 45*time.Minute, hasOffset: true}},
		{"the TimeSpan wins", `{"utcOffset":"05:30:00","utcHoursOffset":3}`, timeZone{offset: 5*time.Hour + 30*time.Minute, hasOffset: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(tt.response))
			got, err := fetchTimezone(newTestScrape(answerContext(t), f.portal))
			got.info, got.hasInfo = portalInfo{}, false // see TestPortalInfo
			if err != nil || got != tt.want {
				t.Errorf("fetchTimezone = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// DocSpace leaves the time zone out of the settings when it does not accept
// the key: the error says so, but is not of kind unauthorized, which only
// a backup call's 401 proves (see TestSettingsWithoutZoneValidKey).
func TestTimezoneMissing(t *testing.T) {
	f := newFixture(t)
	for _, settings := range []string{`{"culture":"en-US"}`, `{"timezone":null,"utcOffset":"-8.5"}`, `{"timezone":null,"utcOffset":null,"utcHoursOffset":99}`} {
		f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(settings))
		_, err := fetchTimezone(newTestScrape(answerContext(t), f.portal))
		assertCallError(t, err, client.KindMalformed, 200, []string{"no time zone", "accepts the API key"}, []string{"check that the key is valid"})
	}

	// The fake answers a rejected key as DocSpace does: without a zone.
	f.fake.SetOverride(docspacetest.PathSettings, nil)
	wrongKey := filepath.Join(t.TempDir(), "wrong-key")
	if err := os.WriteFile(wrongKey, []byte("sk-wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := f.portalWith(func(p *config.Portal) { p.APIKeyFile = wrongKey })
	_, err := fetchTimezone(newTestScrape(answerContext(t), p))
	assertCallError(t, err, client.KindMalformed, 200, []string{"accepts the API key"}, nil)
}

// A settings answer without a time zone, while the backup calls succeed
// with the same key, does not blame the key: the log names the settings
// alone and says what to do about the time zone.
func TestSettingsWithoutZoneValidKey(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleWeekly)
	f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(`{"timezone":null,"utcOffset":"-8.5"}`))
	out := exposition(t, f.collector(context.Background()))
	logs := f.logs.String()
	if !strings.Contains(out, "docspace_up 1\n") || !strings.Contains(out, `docspace_collector_success{collector="settings"} 0`) {
		t.Errorf("metrics:\n%s", out)
	}
	for _, want := range []string{`call=settings`, "kind=malformed", "give it in the portal's timezone setting"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	for _, bad := range []string{"unauthorized", "check that the key is valid", "rejected"} {
		if strings.Contains(logs, bad) {
			t.Errorf("the log blames the key (%q) although the backup calls succeed:\n%s", bad, logs)
		}
	}
}

// The settings tell the server's version, whether it is self-hosted and the
// portal's state, also without a time zone; the version is made safe for a
// label.
func TestPortalInfo(t *testing.T) {
	tests := []struct {
		name, settings string
		want           []string
		absent         []string
	}{
		{"SaaS", `{"timezone":"UTC","version":"3.7.2.1713","standalone":false,"tenantStatus":0}`,
			[]string{`docspace_portal_info{standalone="false",version="3.7.2.1713"} 1`, "docspace_portal_tenant_status 0"}, nil},
		{"encrypting", `{"timezone":"UTC","version":" 3.8.0 ","standalone":true,"tenantStatus":6}`,
			[]string{`docspace_portal_info{standalone="true",version="3.8.0"} 1`, "docspace_portal_tenant_status 6"}, nil},
		{"nothing told", `{"timezone":"UTC"}`, []string{`docspace_portal_info{standalone="unknown",version="unknown"} 1`}, []string{"docspace_portal_tenant_status"}},
		{"odd version", `{"timezone":"UTC","version":"1\n2` + strings.Repeat("x", 100) + `"}`,
			[]string{`version="1 2` + strings.Repeat("x", 61) + `…"`}, []string{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetSchedule(docspacetest.ScheduleWeekly)
			f.fake.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(tt.settings))
			out := exposition(t, f.collector(context.Background()))
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("lacks %q:\n%s", want, out)
				}
			}
			for _, bad := range tt.absent {
				if strings.Contains(out, bad) {
					t.Errorf("has %q:\n%s", bad, out)
				}
			}
		})
	}
	// The fake tells its state to anyone, a rejected key too.
	f := newFixture(t)
	f.fake.SetTenantStatus(docspacetest.TenantRestoring)
	tz, err := fetchTimezone(newTestScrape(answerContext(t), f.portal))
	if err != nil || !tz.hasInfo || tz.info != (portalInfo{version: docspacetest.DefaultVersion, standalone: "true", status: 4, hasStatus: true}) {
		t.Errorf("fetchTimezone = %+v, %v", tz, err)
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"05:30:00", 5*time.Hour + 30*time.Minute, true},
		{"-03:30:00", -3*time.Hour - 30*time.Minute, true},
		{"00:00:00", 0, true},
		{"14:00:00", 14 * time.Hour, true},
		{"-12:00:00", -12 * time.Hour, true},
		{"05:45", 5*time.Hour + 45*time.Minute, true},
		{"01:00:00.0000000", time.Hour, true},
		{" 02:00:00 ", 2 * time.Hour, true},
		{"14:00:01", 0, false},
		{"15:00:00", 0, false},
		{"1.02:00:00", 0, false},
		{"05:60:00", 0, false},
		{"5", 0, false},
		{"", 0, false},
		{"--01:00:00", 0, false},
		{"+01:00:00", 0, false},
		{"01:00:00:00", 0, false},
		{"0a:00:00", 0, false},
		{"001:00:00", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTimeSpan(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"05:30:00", "-03:30:00", "14:00:00", "1.02:00:00", "", "99:99:99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := parseTimeSpan(s); ok && (d > maxUTCOffset || d < -maxUTCOffset) || !ok && d != 0 {
			t.Errorf("parseTimeSpan(%q) = %v, %v", s, d, ok)
		}
	})
}
