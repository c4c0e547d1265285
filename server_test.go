package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/config"
)

// The exporter's server drops idle and slow clients, and still lets the
// longest scrape answer.
func TestServerTimeouts(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout = %v, want a few seconds", s.ReadHeaderTimeout)
	}
	// Kept alive past a 1m scrape interval; freed within minutes.
	if s.IdleTimeout <= time.Minute || s.IdleTimeout > 5*time.Minute {
		t.Errorf("IdleTimeout = %v, want over a minute and at most 5m", s.IdleTimeout)
	}
	if s.WriteTimeout <= config.MaxTimeout {
		t.Errorf("WriteTimeout = %v, want more than the longest scrape (%v)", s.WriteTimeout, config.MaxTimeout)
	}
}
