package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
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
	metrics := portal.Scrape(ctx, logger)
	registry.MustRegister(metrics)
	families, gatherErr := registry.Gather()

	p := portal.Config()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Scrape of portal %q (%s, configured at %s), deadline %s.\n\nLog of the scrape:\n",
		p.Name, redactedURL(p.URL), p.Source(), timeout)
	_, _ = w.Write(log.close())
	if gatherErr != nil {
		fmt.Fprintf(w, "gathering the metrics failed: %v\n", gatherErr)
	}
	fmt.Fprint(w, inWords(metrics.Summary, time.Now()))
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

// inWords tells a scrape's times as people read them: when the next
// backup is due or how long it is overdue, how old the last scheduled
// backup and the newest stored one are.
func inWords(sum collector.Summary, now time.Time) string {
	var b strings.Builder
	for _, t := range []struct {
		what string
		at   time.Time
	}{{"next scheduled backup", sum.NextBackup}, {"last scheduled backup started", sum.LastBackup}, {"newest stored backup", sum.Newest}} {
		if !t.at.IsZero() {
			fmt.Fprintf(&b, "%s: %s, %s\n", t.what, t.at.UTC().Format("2006-01-02 15:04 MST"), relative(t.at, now, t.at == sum.NextBackup))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\nIn words:\n" + b.String()
}

// relative says when at is from now: "in 3h 5m", "2d 6h ago", or, for a
// due time, "overdue by 2d 6h".
func relative(at, now time.Time, due bool) string {
	switch {
	case !at.Before(now):
		return "in " + roughly(at.Sub(now))
	case due:
		return "overdue by " + roughly(now.Sub(at))
	}
	return roughly(now.Sub(at)) + " ago"
}

// roughly writes d in its two largest units: 2d 6h, 3h 5m, 4m 10s, 12s.
func roughly(d time.Duration) string {
	d = d.Round(time.Second)
	var parts []string
	for _, u := range []struct {
		name string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.size; (n > 0 || len(parts) > 0) && len(parts) < 2 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			d -= n * u.size
		}
	}
	if len(parts) == 0 {
		return "0s"
	}
	return strings.Join(parts, " ")
}
