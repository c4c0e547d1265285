package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// routes is what the exporter serves.
type routes struct {
	metricsPath string
	// portal is the portal of --docspace.url, served on metricsPath, or nil.
	portal *collector.Portal
	// portals are the portals of --config.file, served on /probe, or nil.
	portals *config.Holder[*fleet]
	// self holds the exporter's own metrics; selfMetrics tells whether
	// the Go, process, build and promhttp metrics are among them.
	self        *prometheus.Registry
	selfMetrics bool
	scrapes     *scrapeHandler
	reload      func() error
}

// newMux returns the exporter's HTTP handlers.
func newMux(rt routes) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(rt.self, rt.scrapes.opts)
	if rt.portal != nil {
		metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rt.scrapes.serve(w, r, rt.portal, rt.self)
		})
	}
	if rt.selfMetrics {
		metrics = promhttp.InstrumentMetricHandler(rt.self, metrics)
	}
	mux.Handle(rt.metricsPath, getOnly(metrics))
	landing := landingPage{metricsPath: rt.metricsPath, portal: rt.portal}
	if rt.portals != nil {
		landing.portals = rt.portals.Current
		mux.Handle("/probe", getOnly(rt.scrapes.probe(func(name string) *collector.Portal {
			return rt.portals.Current().lookup(name)
		})))
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "reload with POST", http.StatusMethodNotAllowed)
				return
			}
			if err := rt.reload(); err != nil {
				http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		mux.Handle("/discovery", getOnly(discovery(rt.portals.Current)))
	} else {
		mux.HandleFunc("/probe", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "/probe serves the portals of --config.file, and this exporter has none: scrape "+rt.metricsPath+
				" for the portal of --docspace.url, or start the exporter with --config.file", http.StatusBadRequest)
		})
	}
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "OK")
	}
	mux.HandleFunc("/-/healthy", ok)
	mux.HandleFunc("/-/ready", ok)
	if rt.metricsPath != "/" {
		// Rendered for each request; rendered once here to fail early.
		if _, err := web.NewLandingPage(landing.config()); err != nil {
			return nil, err
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}

// getOnly lets GET and HEAD through to h and answers 405 to other methods.
func getOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// The timeouts of the exporter's own server, so that idle or slow clients
// cannot hold its connections (and file descriptors) for ever.
const (
	readHeaderTimeout = 10 * time.Second
	// idleTimeout exceeds the usual scrape interval (1m), so that
	// Prometheus keeps its kept-alive connection.
	idleTimeout = 90 * time.Second
	// writeTimeout bounds a whole answer: it must exceed the longest scrape.
	writeTimeout = config.MaxTimeout + 30*time.Second
	// readTimeout bounds reading a whole request, headers and body: a
	// request refused before it reaches noBody (a 401 of basic auth) waits
	// for its announced body this long at most. It does not bound the
	// answer: net/http clears the deadline once the request is read.
	readTimeout = readHeaderTimeout
	// maxHeaderBytes: Prometheus' headers take under 1 KiB; this leaves room
	// for large basic auth and cookies. Past it the server answers 431.
	maxHeaderBytes = 32 << 10
)

// newHTTPServer returns the exporter's HTTP server for handler.
func newHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           noBody(handler),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      writeTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// noBody answers 413 to a request with a body, as no endpoint takes one, and
// closes its connection at once: net/http would otherwise wait for the rest
// of the body, so a client that never sends it would hold the connection.
func noBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 { // -1 when unknown (chunked)
			h.ServeHTTP(w, r)
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		w.Header().Set("Connection", "close")
		http.Error(w, "no endpoint of the exporter takes a request body", http.StatusRequestEntityTooLarge)
	})
}
