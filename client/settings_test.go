package client

import (
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

func TestTimezoneAnswers(t *testing.T) {
	tests := []struct {
		name     string
		response string
		want     TimeZone
	}{
		{"IANA", `{"timezone":"Europe/Berlin","utcOffset":"02:00:00","utcHoursOffset":2}`,
			TimeZone{ID: "Europe/Berlin", UTCOffset: 2 * time.Hour, HasOffset: true}},
		{"Windows id", `{"timezone":"W. Europe Standard Time","utcOffset":"01:00:00"}`,
			TimeZone{ID: "W. Europe Standard Time", UTCOffset: time.Hour, HasOffset: true}},
		{"negative offset", `{"timezone":"Newfoundland Standard Time","utcOffset":"-03:30:00"}`,
			TimeZone{ID: "Newfoundland Standard Time", UTCOffset: -3*time.Hour - 30*time.Minute, HasOffset: true}},
		{"no offset", `{"timezone":"Asia/Tokyo"}`, TimeZone{ID: "Asia/Tokyo"}},
		{"bad offset", `{"timezone":"Asia/Tokyo","utcOffset":"soon"}`, TimeZone{ID: "Asia/Tokyo"}},
		{"offset only", `{"timezone":"","utcOffset":"05:45:00"}`, TimeZone{UTCOffset: 5*time.Hour + 45*time.Minute, HasOffset: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(tt.response))
			got, err := newClient(t, srv.URL).Timezone(testContext(t))
			if err != nil || got != tt.want {
				t.Errorf("Timezone = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// DocSpace leaves the time zone out of the settings when it does not accept
// the key: the error says so rather than blaming the portal's settings.
func TestTimezoneMissing(t *testing.T) {
	p, srv := newFake(t)
	p.SetOverride(docspacetest.PathSettings, docspacetest.SettingsAnswer(`{"culture":"en-US"}`))
	_, err := newClient(t, srv.URL).Timezone(testContext(t))
	assertError(t, err, KindUnauthorized, 200, []string{"no time zone", "accepts the API key", "check that the key is valid"}, nil)

	// The fake answers a rejected key as DocSpace does: without a zone.
	p.SetOverride(docspacetest.PathSettings, nil)
	_, err = newClient(t, srv.URL, func(c *Config) { c.Key = StaticKey("sk-wrong") }).Timezone(testContext(t))
	assertError(t, err, KindUnauthorized, 200, []string{"accepts the API key"}, nil)
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
