package main

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestScrapeTimeout(t *testing.T) {
	const portal = 10 * time.Second
	tests := []struct {
		header string
		offset time.Duration
		want   time.Duration
		err    string
	}{
		{"", 500 * time.Millisecond, portal, ""},
		{"15", 500 * time.Millisecond, portal, ""},
		{"5", 500 * time.Millisecond, 4500 * time.Millisecond, ""},
		{"0.4", 500 * time.Millisecond, 200 * time.Millisecond, ""},
		{"1e10", 0, portal, ""}, // would overflow a Duration
		{"1e300", 0, portal, ""},
		{"9.3e9", time.Second, portal, ""},
		{"0.02", 0, 20 * time.Millisecond, ""},
		{"1e-9", 0, 0, `X-Prometheus-Scrape-Timeout-Seconds header "1e-9" is too small: it leaves 1ns for DocSpace, less than the 10ms any call takes; raise the scrape timeout`},
		{"0.015", 500 * time.Millisecond, 0, `X-Prometheus-Scrape-Timeout-Seconds header "0.015" is too small: it leaves 7.5ms for DocSpace, less than the 10ms any call takes; raise the scrape timeout`},
		{"0", 0, 0, `invalid X-Prometheus-Scrape-Timeout-Seconds header "0": want a positive number of seconds`},
		{"soon", 0, 0, `invalid X-Prometheus-Scrape-Timeout-Seconds header "soon": want a positive number of seconds`},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tt.header != "" {
			r.Header.Set(scrapeTimeoutHeader, tt.header)
		}
		got, err := scrapeTimeout(r, portal, tt.offset)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("header %q, offset %v: %v, %v; want %v", tt.header, tt.offset, got, err, tt.want)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("header %q, offset %v: error %v\nwant %s", tt.header, tt.offset, err, tt.err)
		}
	}
}

// FuzzScrapeTimeout: whatever Prometheus (or anyone) sends as the scrape
// timeout header, the deadline is at least minScrapeTimeout and never
// longer than the portal's timeout, or the header is refused.
func FuzzScrapeTimeout(f *testing.F) {
	for _, seed := range []string{"", "10", "0.4", "2.5", "0", "-1", "NaN", "+Inf", "1e308", "1e10", "1e-9", "0x10", "1_000", " 5", "5s"} {
		f.Add(seed, int64(500*time.Millisecond))
		f.Add(seed, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, offset int64) {
		if offset < 0 || offset > int64(time.Hour) {
			return // refused at start
		}
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Header.Set(scrapeTimeoutHeader, header)
		const max = 10 * time.Second
		got, err := scrapeTimeout(r, max, time.Duration(offset))
		if err != nil {
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes: %.80s...", len(err.Error()), err)
			}
			return
		}
		if got < minScrapeTimeout || got > max {
			t.Errorf("header %q, offset %v: timeout %v, want in [%v, %v]", header, time.Duration(offset), got, minScrapeTimeout, max)
		}
	})
}
