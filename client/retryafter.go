package client

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxRetryAfter is the longest a Retry-After of DocSpace holds back the
// calls to a portal; a longer wait is cut to it, so that a portal is never
// left unwatched for long.
const MaxRetryAfter = 10 * time.Minute

// parseRetryAfter reads a Retry-After header, a number of seconds or an
// HTTP date, as the time to wait from now, at most MaxRetryAfter. ok is
// false when the header is absent or invalid or asks for no wait.
func parseRetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if strings.Trim(v, "0123456789") == "" { // "" too: 0 seconds, no wait
		// A longer number than MaxRetryAfter's seconds is cut anyway.
		if len(v) > 6 {
			return MaxRetryAfter, true
		}
		n, _ := strconv.Atoi(v)
		wait = time.Duration(n) * time.Second
	} else {
		at, err := http.ParseTime(v)
		if err != nil {
			return 0, false
		}
		wait = at.Sub(now)
	}
	if wait <= 0 {
		return 0, false
	}
	return min(wait, MaxRetryAfter), true
}

// retryAfterNote describes a Retry-After header for an error text as the
// wait the client keeps (parseRetryAfter): " (retry after 30s)", or ""
// when there is none.
func retryAfterNote(header http.Header) string {
	wait, ok := parseRetryAfter(header.Get("Retry-After"), time.Now())
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (retry after %s)", wait.Round(time.Second))
}

// RetryAfter is a portal's request to wait before it is called again: after
// a 429 or 503 answer with Retry-After, no call is made until that time has
// passed, and every call meanwhile fails at once as if it had got the same
// answer. The zero value asks for no wait.
type RetryAfter struct {
	mu     sync.Mutex
	until  time.Time
	status int
}

// set records the Retry-After wait of a 429 or 503 answer, if any.
func (h *RetryAfter) set(status int, header http.Header, now time.Time) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return
	}
	if wait, ok := parseRetryAfter(header.Get("Retry-After"), now); ok {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.until, h.status = now.Add(wait), status
	}
}

// check returns the error of a call of path held back at now, or nil when
// the call may be made.
func (h *RetryAfter) check(path string, now time.Time) error {
	h.mu.Lock()
	until, status := h.until, h.status
	h.mu.Unlock()
	if !now.Before(until) {
		return nil
	}
	e := statusError(path, status, http.Header{}, nil).(*Error)
	e.Detail = fmt.Sprintf("not called: DocSpace answered HTTP %d with Retry-After, so the portal is not called before %s",
		status, until.UTC().Format(time.RFC3339))
	return e
}
