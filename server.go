package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// routes is what the exporter serves.
type routes struct {
	metricsPath string
	// portal is the portal of --docspace.url, served on metricsPath; nil
	// when there is none.
	portal *collector.Portal
	// portals are the portals of --config.file, served on /probe; nil
	// when there is no config file.
	portals *config.Holder[*fleet]
	// self holds the exporter's own metrics.
	self   *prometheus.Registry
	reload func() error
	opts   collector.HandlerOpts
}

// newMux returns the exporter's HTTP handlers: the metrics, /probe and
// /-/reload (with a config file), health checks and the landing page.
func newMux(rt routes) (*http.ServeMux, error) {
	logger := rt.opts.Logger
	mux := http.NewServeMux()
	mux.HandleFunc(rt.metricsPath, func(w http.ResponseWriter, r *http.Request) {
		if rt.portal == nil {
			promhttp.HandlerFor(rt.self, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}).ServeHTTP(w, r)
			return
		}
		collector.Serve(w, r, rt.portal, rt.self, rt.opts)
	})
	links := []web.LandingLinks{{Address: rt.metricsPath, Text: "Metrics"}}
	if rt.portals != nil {
		mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) {
			collector.Probe(w, r, rt.portals.Current().lookup, rt.opts)
		})
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
		links = append(links, web.LandingLinks{Address: "/probe", Text: "Probe a portal of the config file: /probe?target=<name>"})
	}
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "OK")
	}
	mux.HandleFunc("/-/healthy", ok)
	mux.HandleFunc("/-/ready", ok)
	if rt.metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "DocSpace Exporter",
			Description: "Prometheus exporter for the backups of ONLYOFFICE DocSpace portals",
			Version:     version.Info(),
			Links: append(links,
				web.LandingLinks{Address: "/-/healthy", Text: "Health"},
				web.LandingLinks{Address: "/-/ready", Text: "Readiness"}),
		})
		if err != nil {
			return nil, err
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}
