package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/docspace-exporter/docspace_exporter/collector"
)

// debugRequested tells whether r asks for the account of its scrape instead
// of the metrics (?debug=true), as blackbox_exporter's /probe does.
func debugRequested(r *http.Request) bool {
	return r.URL.Query().Get("debug") == "true"
}

// serveDebug answers a debug request with a plain-text account of one scrape
// of portal, bound to ctx: the portal and deadline, the log at debug level
// (each call to DocSpace, its HTTP status, duration, error kind and advice),
// then the metrics; the log also goes to the exporter's log, at its level.
func (s *scrapeHandler) serveDebug(ctx context.Context, w http.ResponseWriter, portal *collector.Portal, timeout time.Duration) {
	log := &scrapeLog{}
	logger := slog.New(slog.NewMultiHandler(s.logger.Handler(),
		slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	registry := prometheus.NewRegistry()
	registry.MustRegister(portal.Scrape(ctx, logger))
	families, gatherErr := registry.Gather()

	p := portal.Config()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Scrape of portal %q (%s, configured at %s), deadline %s.\n\nLog of the scrape:\n",
		p.Name, redactedURL(p.URL), p.Source(), timeout)
	_, _ = w.Write(log.close())
	if gatherErr != nil {
		fmt.Fprintf(w, "gathering the metrics failed: %v\n", gatherErr)
	}
	fmt.Fprint(w, "\nMetrics that would have been served:\n")
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			fmt.Fprintf(w, "encoding %s failed: %v\n", mf.GetName(), err)
		}
	}
}

// scrapeLog holds the log lines of one debug scrape. A call the scrape
// started in the background (the stored-backup history) may log after the
// answer was written: those lines are dropped.
type scrapeLog struct {
	mu     sync.Mutex
	b      bytes.Buffer
	closed bool
}

func (l *scrapeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.b.Write(p)
	}
	return len(p), nil
}

// close returns the lines written so far and drops those that follow.
func (l *scrapeLog) close() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.b.Bytes()
}
