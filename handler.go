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

// scrapeTimeoutHeader is the header in which Prometheus sends its scrape
// timeout.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// minScrapeTimeout is the shortest time a scrape may spend on DocSpace: no
// call to a portal ends sooner.
const minScrapeTimeout = 10 * time.Millisecond

// scrapeTimeout returns how long a scrape may spend on DocSpace: the smaller
// of the portal's timeout and the request's scrape timeout header minus
// offset. When the header is smaller than the offset, half of it is used. A
// header that is not a positive number of seconds, or that leaves less than
// minScrapeTimeout, is an error.
func scrapeTimeout(r *http.Request, portalTimeout, offset time.Duration) (time.Duration, error) {
	v := r.Header.Get(scrapeTimeoutHeader)
	if v == "" {
		return portalTimeout, nil
	}
	seconds, err := strconv.ParseFloat(v, 64)
	if err != nil || seconds <= 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return 0, fmt.Errorf("invalid %s header %s: want a positive number of seconds", scrapeTimeoutHeader, truncate(strconv.Quote(v), 40))
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
			scrapeTimeoutHeader, truncate(strconv.Quote(v), 40), timeout, minScrapeTimeout)
	}
	return min(timeout, portalTimeout), nil
}

// scraper serves the scrapes of portals, each as its own Registry served by
// promhttp, as blackbox_exporter serves a probe.
type scraper struct {
	logger *slog.Logger
	// offset is taken off Prometheus' scrape timeout.
	offset time.Duration
	opts   promhttp.HandlerOpts
	// lastBadRequest is when a bad request was last logged above debug
	// level, in Unix seconds.
	lastBadRequest *atomic.Int64
}

// newScraper returns a scraper. When self is not nil, promhttp counts its
// errors there (promhttp_metric_handler_errors_total).
func newScraper(logger *slog.Logger, offset time.Duration, self prometheus.Registerer) *scraper {
	return &scraper{logger: logger, offset: offset, lastBadRequest: new(atomic.Int64), opts: promhttp.HandlerOpts{
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

// serve answers one scrape of target with its metrics, gathered afresh
// within the scrape's deadline, merged with extra (nil for none). It
// answers 200 whatever DocSpace does. A debug request (?debug=true) gets
// the account of the scrape instead (serveDebug), without extra.
func (s *scraper) serve(w http.ResponseWriter, r *http.Request, target *collector.Target, extra prometheus.Gatherer) {
	timeout, err := scrapeTimeout(r, target.Settings().Timeout, s.offset)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if debugRequested(r) {
		s.serveDebug(ctx, w, target, timeout)
		return
	}

	// The calls to DocSpace are made first, as blackbox_exporter probes
	// before it serves the probe's registry; then the registry gathers.
	c := collector.New(ctx, target, s.logger, nil)
	c.Scrape()
	registry := prometheus.NewRegistry()
	registry.MustRegister(c)
	var g prometheus.Gatherer = registry
	if extra != nil {
		g = prometheus.Gatherers{extra, registry}
	}
	promhttp.HandlerFor(g, s.opts).ServeHTTP(w, r)
}

// badRequest answers 400 to a scrape request that cannot be served as
// sent, such as one with an invalid scrape timeout header. It is the
// client's fault, not the portal's: the portal's state is left alone, and
// the error is logged as a warning at most once a minute, else at debug
// level, so that no client can fill the log.
func (s *scraper) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelDebug
	now := time.Now().Unix()
	if last := s.lastBadRequest.Load(); now-last >= 60 && s.lastBadRequest.CompareAndSwap(last, now) {
		level = slog.LevelWarn
	}
	s.logger.Log(r.Context(), level, "bad scrape request (more are logged at debug level for a minute)", "err", err, "remote", r.RemoteAddr)
	http.Error(w, "bad scrape request: "+err.Error(), http.StatusBadRequest)
}

// probe answers /probe?target=<name> with the metrics of the configured
// portal called name, and nothing else. lookup returns nil for an unknown
// name. A target that is not a configured name, in particular a URL, is
// refused: a portal's key is only ever sent to the URL configured for it.
func (s *scraper) probe(lookup func(name string) *collector.Target) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("target")
		if name == "" {
			http.Error(w, "missing target: use /probe?target=<portal name from the config file>", http.StatusBadRequest)
			return
		}
		target := lookup(name)
		if target == nil {
			reason := fmt.Sprintf("unknown target %q: not the name of a portal in the config file", truncate(name, 100))
			switch {
			case config.LooksLikeKey(name):
				reason = "the target looks like an API key (not shown): /probe takes the name of a portal of the config file, and keys stay in key files"
			case strings.Contains(name, "/") || strings.Contains(name, ":"):
				reason = "the target is not a portal name: /probe takes the name of a configured portal, never a URL, so that a key is only sent where it was configured"
			}
			http.Error(w, reason, http.StatusBadRequest)
			return
		}
		s.serve(w, r, target, nil)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
