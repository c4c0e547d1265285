package client

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// After a 429 or 503 with Retry-After, the portal is not called again until
// that time has passed; calls meanwhile fail at once with the same status.
func TestRetryAfterHoldsCalls(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		kind       Kind
		wait       time.Duration // 0: no hold
	}{
		{"429 seconds", 429, "60", KindRateLimited, 60 * time.Second},
		{"429 HTTP date", 429, now.Add(2 * time.Minute).UTC().Format(http.TimeFormat), KindRateLimited, 2 * time.Minute},
		{"429 too long", 429, "86400", KindRateLimited, MaxRetryAfter},
		{"429 absurdly long", 429, "99999999999999999999999", KindRateLimited, MaxRetryAfter},
		{"503 seconds", 503, "30", KindServerError, 30 * time.Second},
		{"429 without Retry-After", 429, "", KindRateLimited, 0},
		{"429 zero", 429, "0", KindRateLimited, 0},
		{"429 negative", 429, "-5", KindRateLimited, 0},
		{"429 garbage", 429, "soon", KindRateLimited, 0},
		{"429 date in the past", 429, now.Add(-time.Minute).UTC().Format(http.TimeFormat), KindRateLimited, 0},
		{"500 is not held", 500, "60", KindServerError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newFake(t)
			p.SetSchedule(docspacetest.ScheduleWeekly)
			resp := &docspacetest.Response{Status: tt.status, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			p.SetOverride(docspacetest.PathSchedule, resp)
			p.SetOverride(docspacetest.PathProgress, resp)
			c := newClient(t, srv.URL)
			clock := now
			c.now = func() time.Time { return clock }
			calls := func() int { return p.Requests(docspacetest.PathSchedule) + p.Requests(docspacetest.PathProgress) }

			_, err := c.BackupSchedule(testContext(t))
			assertError(t, err, tt.kind, tt.status, nil, nil)
			// Within the wait, neither endpoint is called.
			clock = now.Add(tt.wait - time.Second)
			_, err = c.BackupSchedule(testContext(t))
			assertError(t, err, tt.kind, tt.status, nil, nil)
			_, perr := Get[json.RawMessage](testContext(t), c, "/api/2.0/backup/getbackupprogress", "")
			assertError(t, perr, tt.kind, tt.status, nil, nil)
			want := 3
			if tt.wait > 0 {
				want = 1
				assertError(t, err, tt.kind, tt.status, []string{"not called", "Retry-After", now.Add(tt.wait).UTC().Format(time.RFC3339)}, nil)
			}
			if n := calls(); n != want {
				t.Errorf("the portal was called %d times, want %d", n, want)
			}
			// Once the wait has passed, the portal is called again.
			clock = now.Add(tt.wait)
			p.SetOverride(docspacetest.PathSchedule, nil)
			if _, err := c.BackupSchedule(testContext(t)); err != nil {
				t.Errorf("after the wait: %v", err)
			}
		})
	}
}

// A portal's next client, built by a reload with the portal's RetryAfter,
// keeps its wait; a client with a wait of its own does not.
func TestRetryAfterOutlivesTheClient(t *testing.T) {
	p, srv := newFake(t)
	p.SetOverride(docspacetest.PathSchedule, docspacetest.RateLimited())
	wait := new(RetryAfter)
	old := newClient(t, srv.URL, func(c *Config) { c.RetryAfter = wait })
	if _, err := old.BackupSchedule(testContext(t)); err == nil {
		t.Fatal("no error from a 429")
	}
	next := newClient(t, srv.URL, func(c *Config) { c.RetryAfter = wait })
	_, err := next.BackupSchedule(testContext(t))
	assertError(t, err, KindRateLimited, 429, []string{"not called"}, nil)
	if n := p.Requests(docspacetest.PathSchedule); n != 1 {
		t.Errorf("the portal was called %d times, want 1", n)
	}

	p.SetOverride(docspacetest.PathSchedule, nil)
	if _, err := newClient(t, srv.URL).BackupSchedule(testContext(t)); err != nil {
		t.Errorf("a client with a wait of its own took over the wait: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 1 ", time.Second, true},
		{"600", 10 * time.Minute, true},
		{"601", MaxRetryAfter, true},
		{"1234567", MaxRetryAfter, true},
		{"Wed, 01 Jul 2026 12:05:00 GMT", 5 * time.Minute, true},
		{"Wednesday, 01-Jul-26 12:00:30 GMT", 30 * time.Second, true},
		{"Wed, 01 Jul 2026 13:00:00 GMT", MaxRetryAfter, true},
		{"Wed, 01 Jul 2026 11:00:00 GMT", 0, false},
		{"0", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Wed, 01 Jul 2026 12:05:00 GMT", "99999999999999999999", "-1", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		wait, ok := parseRetryAfter(s, now)
		if ok && (wait <= 0 || wait > MaxRetryAfter) || !ok && wait != 0 {
			t.Errorf("parseRetryAfter(%q) = %v, %v", s, wait, ok)
		}
	})
}

// The error text tells the wait the client keeps: capped, and never for a
// header it does not honour.
func TestRetryAfterNote(t *testing.T) {
	for v, want := range map[string]string{
		"30":    " (retry after 30s)",
		"86400": " (retry after 10m0s)",
		"+5":    "",
		"soon":  "",
		"":      "",
	} {
		if got := retryAfterNote(http.Header{"Retry-After": {v}}); got != want {
			t.Errorf("Retry-After %q: %q, want %q", v, got, want)
		}
	}
}
