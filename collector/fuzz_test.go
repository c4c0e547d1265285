package collector

import (
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzScrapeTimeout: whatever Prometheus (or anyone) sends as the scrape
// timeout header, the deadline is positive and never longer than the
// portal's timeout, or the header is refused.
func FuzzScrapeTimeout(f *testing.F) {
	for _, seed := range []string{"", "10", "0.4", "2.5", "0", "-1", "NaN", "+Inf", "1e308", "0x10", "1_000", " 5", "5s"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Header.Set(ScrapeTimeoutHeader, header)
		const max = 10 * time.Second
		got, err := ScrapeTimeout(r, max, 500*time.Millisecond)
		if err != nil {
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes: %.80s...", len(err.Error()), err)
			}
			return
		}
		if got <= 0 || got > max {
			t.Errorf("header %q: timeout %v, want in (0, %v]", header, got, max)
		}
	})
}
