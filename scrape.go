package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// scrapeTimeoutHeader carries Prometheus' scrape timeout.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// minScrapeTimeout is the least a scrape may spend on DocSpace: no call ends sooner.
const minScrapeTimeout = 10 * time.Millisecond

// scrapeTimeout returns how long a scrape may spend on DocSpace: the smaller
// of the portal's timeout and the scrape timeout header minus offset, or
// half the header when it is smaller than offset.
func scrapeTimeout(r *http.Request, portalTimeout, offset time.Duration) (time.Duration, error) {
	v := r.Header.Get(scrapeTimeoutHeader)
	if v == "" {
		return portalTimeout, nil
	}
	quoted := truncate(strconv.Quote(v), 40)
	seconds, err := strconv.ParseFloat(v, 64)
	if err != nil || seconds <= 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return 0, fmt.Errorf("invalid %s header %s: want a positive number of seconds", scrapeTimeoutHeader, quoted)
	}
	// Compared in seconds, so that a huge header cannot overflow a Duration.
	if seconds >= (portalTimeout + offset).Seconds() {
		return portalTimeout, nil
	}
	header := time.Duration(seconds * float64(time.Second))
	timeout := header - offset
	if timeout <= 0 {
		timeout = header / 2
	}
	if timeout < minScrapeTimeout {
		return 0, fmt.Errorf("%s header %s is too small: it leaves %s for DocSpace, less than the %s any call takes; raise the scrape timeout",
			scrapeTimeoutHeader, quoted, timeout, minScrapeTimeout)
	}
	return min(timeout, portalTimeout), nil
}

// scrapeHandler serves each scrape of a portal from its own Registry, as
// blackbox_exporter serves a probe.
type scrapeHandler struct {
	logger *slog.Logger
	// offset is taken off Prometheus' scrape timeout.
	offset time.Duration
	opts   promhttp.HandlerOpts
	// lastBadRequest is when, in Unix seconds, a bad request was last logged above debug level.
	lastBadRequest *atomic.Int64
}

// newScrapeHandler returns a scrapeHandler; promhttp counts its errors in
// self (promhttp_metric_handler_errors_total) unless it is nil.
func newScrapeHandler(logger *slog.Logger, offset time.Duration, self prometheus.Registerer) *scrapeHandler {
	return &scrapeHandler{logger: logger, offset: offset, lastBadRequest: new(atomic.Int64), opts: promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
		// A failing portal is docspace_up 0, not an HTTP error; should
		// gathering ever fail, what could be gathered is still served.
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          self,
		EnableOpenMetrics: true,
		// The exposition is a few KiB; see "Compression" in the README.
		DisableCompression: true,
	}}
}

// serve answers one scrape of portal with its metrics, gathered afresh within
// the scrape's deadline and merged with extra (nil for none), with 200 whatever
// DocSpace does; a debug request gets serveDebug's account instead.
func (s *scrapeHandler) serve(w http.ResponseWriter, r *http.Request, portal *collector.Portal, extra prometheus.Gatherer) {
	timeout, err := scrapeTimeout(r, portal.Config().Timeout, s.offset)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if debugRequested(r) {
		s.serveDebug(ctx, w, portal, timeout)
		return
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(portal.Scrape(ctx, s.logger))
	var g prometheus.Gatherer = registry
	if extra != nil {
		g = prometheus.Gatherers{extra, registry}
	}
	promhttp.HandlerFor(g, s.opts).ServeHTTP(w, r)
}

// badRequest answers 400 to a scrape request that cannot be served as sent.
// It is the client's fault, not the portal's: the portal's state is left
// alone, and the error is logged as a warning at most once a minute, else at
// debug level, so that no client can fill the log.
func (s *scrapeHandler) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelDebug
	now := time.Now().Unix()
	if last := s.lastBadRequest.Load(); now-last >= 60 && s.lastBadRequest.CompareAndSwap(last, now) {
		level = slog.LevelWarn
	}
	s.logger.Log(r.Context(), level, "bad scrape request (more are logged at debug level for a minute)", "err", err, "remote", r.RemoteAddr)
	http.Error(w, "bad scrape request: "+err.Error(), http.StatusBadRequest)
}

// probe answers /probe?target=<name> with the metrics of the portal lookup
// returns for name, and nothing else. A target that is not a configured name,
// in particular a URL, is refused: a portal's key is only ever sent to the URL
// configured for it.
func (s *scrapeHandler) probe(lookup func(name string) *collector.Portal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("target")
		if name == "" {
			http.Error(w, "missing target: use /probe?target=<portal name from the config file>", http.StatusBadRequest)
			return
		}
		if portal := lookup(name); portal != nil {
			s.serve(w, r, portal, nil)
			return
		}
		reason := fmt.Sprintf("unknown target %q: not the name of a portal in the config file", truncate(name, 100))
		switch {
		case config.LooksLikeKey(name):
			reason = "the target looks like an API key (not shown): /probe takes the name of a portal of the config file, and keys stay in key files"
		case strings.ContainsAny(name, "/:"):
			reason = "the target is not a portal name: /probe takes the name of a configured portal, never a URL, so that a key is only sent where it was configured"
		}
		http.Error(w, reason, http.StatusBadRequest)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
