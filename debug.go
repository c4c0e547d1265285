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

// serveDebug answers a debug request with a plain-text account of one
// scrape of target, bound to ctx: the portal, the scrape's deadline, the
// log of the scrape at debug level (each call to DocSpace, its HTTP status,
// duration, error kind and advice), then the metrics the scrape would have
// served. The log lines also go to the exporter's log, at its own level.
func (s *scraper) serveDebug(ctx context.Context, w http.ResponseWriter, target *collector.Target, timeout time.Duration) {
	log := &scrapeLog{}
	logger := slog.New(slog.NewMultiHandler(s.logger.Handler(),
		slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector.New(ctx, target, logger, nil))
	families, gatherErr := registry.Gather()

	p := target.Settings()
	deadline := "deadline " + timeout.String()
	var out bytes.Buffer
	fmt.Fprintf(&out, "Scrape of portal %q (%s, configured at %s), %s.\n\nLog of the scrape:\n",
		p.Name, redactedURL(p.URL), p.Source(), deadline)
	out.Write(log.close())
	if gatherErr != nil {
		fmt.Fprintf(&out, "gathering the metrics failed: %v\n", gatherErr)
	}
	out.WriteString("\nMetrics that would have been served:\n")
	enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			fmt.Fprintf(&out, "encoding %s failed: %v\n", mf.GetName(), err)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(out.Bytes())
}

// scrapeLog holds the log lines of one debug scrape. A call the scrape
// started in the background (the stored-backup history) may log after the
// answer was written: close takes the lines so far, and later lines are
// dropped.
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
