package main

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// routes is what the exporter serves.
type routes struct {
	metricsPath string
	// target is the portal of --docspace.url, served on metricsPath; nil
	// when there is none.
	target *collector.Target
	// portals are the portals of --config.file, served on /probe; nil
	// when there is no config file.
	portals *config.Holder[*fleet]
	// self holds the exporter's own metrics; selfMetrics tells whether
	// the Go, process, build and promhttp metrics are among them.
	self        *prometheus.Registry
	selfMetrics bool
	scraper     *scraper
	reload      func() error
}

// newMux returns the exporter's HTTP handlers: the metrics, /probe,
// /discovery and /-/reload (with a config file), health checks and the
// landing page.
func newMux(rt routes) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	var metrics http.Handler
	if rt.target == nil {
		metrics = promhttp.HandlerFor(rt.self, rt.scraper.opts)
	} else {
		metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rt.scraper.serve(w, r, rt.target, rt.self)
		})
	}
	if rt.selfMetrics {
		metrics = promhttp.InstrumentMetricHandler(rt.self, metrics)
	}
	mux.Handle(rt.metricsPath, getOnly(metrics))
	landing := landingPage{metricsPath: rt.metricsPath, target: rt.target}
	if rt.portals != nil {
		landing.portals = func() *fleet { return rt.portals.Current() }
		mux.Handle("/probe", getOnly(rt.scraper.probe(func(name string) *collector.Target {
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
