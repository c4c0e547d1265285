package collector

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ScrapeTimeoutHeader is the header in which Prometheus sends its scrape timeout.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// HandlerOpts configures Serve.
type HandlerOpts struct {
	// TimeoutOffset is taken off Prometheus' scrape timeout, so that the
	// answer arrives before Prometheus gives up.
	TimeoutOffset time.Duration
	Logger        *slog.Logger
}

// ScrapeTimeout returns how long a scrape may spend on DocSpace: the smaller
// of max and the request's scrape timeout header minus offset. When the
// header is smaller than the offset, half of it is used. A header that is not
// a positive number of seconds is an error.
func ScrapeTimeout(r *http.Request, max, offset time.Duration) (time.Duration, error) {
	v := r.Header.Get(ScrapeTimeoutHeader)
	if v == "" {
		return max, nil
	}
	seconds, err := strconv.ParseFloat(v, 64)
	if err != nil || seconds <= 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		if len(v) > 32 {
			v = v[:32] + "..."
		}
		return 0, fmt.Errorf("invalid %s header %q: want a positive number of seconds", ScrapeTimeoutHeader, v)
	}
	header := time.Duration(seconds * float64(time.Second))
	timeout := header - offset
	if timeout <= 0 {
		timeout = header / 2
	}
	return min(timeout, max), nil
}

// Serve answers one scrape of portal with its metrics, gathered afresh, and
// those of extra (the exporter's own metrics; nil for none). It always
// answers 200 with a valid exposition, whatever DocSpace does.
func Serve(w http.ResponseWriter, r *http.Request, portal *Portal, extra prometheus.Gatherer, opts HandlerOpts) {
	logger := opts.Logger
	timeout, err := ScrapeTimeout(r, portal.Timeout, opts.TimeoutOffset)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	c := New(ctx, portal, logger)
	c.err = err
	registry := prometheus.NewRegistry()
	registry.MustRegister(c)
	var g prometheus.Gatherer = registry
	if extra != nil {
		g = prometheus.Gatherers{extra, registry}
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}
