// Command docspace_exporter is a Prometheus exporter for the backups of
// ONLYOFFICE DocSpace portals.
package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // portal time zones resolve in minimal images too

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	webflag "github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

const exporterName = "docspace_exporter"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New(exporterName, "Prometheus exporter for the backups of ONLYOFFICE DocSpace portals.")
	var settings config.Portal // the portal of --docspace.url, if any
	app.Flag("docspace.url",
		"Root URL of the DocSpace portal, e.g. https://portal.example.com.").Envar("DOCSPACE_URL").StringVar(&settings.URL)
	app.Flag("docspace.api-key-file",
		"File holding the DocSpace API key (sk-...) or personal access token; read again when it changes. Alternatively set the environment variable DOCSPACE_API_KEY.").
		Envar("DOCSPACE_API_KEY_FILE").StringVar(&settings.APIKeyFile)
	app.Flag("docspace.dump",
		"Monitor the dump-based, server-wide backup schedule (Dump=true; self-hosted only).").BoolVar(&settings.Dump)
	app.Flag("docspace.tls.ca-file",
		"PEM file with the CA certificates that sign the portal's certificate.").StringVar(&settings.TLS.CAFile)
	app.Flag("docspace.tls.insecure-skip-verify",
		"Do not verify the portal's TLS certificate (unsafe: the key can be intercepted).").BoolVar(&settings.TLS.InsecureSkipVerify)
	app.Flag("docspace.timezone",
		"The portal's time zone (IANA id, e.g. Europe/Berlin). When unset it is read from the portal's settings, at most once an hour.").StringVar(&settings.Timezone)
	var (
		timeout = app.Flag("docspace.timeout",
			"The most one scrape of a portal spends on DocSpace (at most 5m); also the default of the config file's portals.").Default("10s").Duration()
		timeoutOffset = app.Flag("docspace.timeout-offset",
			"Taken off Prometheus' scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to get the scrape deadline.").Default("0.5s").Duration()
		progress = app.Flag("collector.progress",
			"Collect the state of the latest backup task (getbackupprogress); --no-collector.progress turns it off.").Default("true").Bool()
		configFile = app.Flag("config.file",
			"YAML file listing DocSpace portals to serve on /probe?target=<name>; reloaded on SIGHUP and POST /-/reload.").String()
		configCheck = app.Flag("config.check",
			"Check --config.file, print what is wrong or \"ok\", and exit.").Bool()
		metricsPath = app.Flag("web.telemetry-path",
			"Path under which to expose metrics.").Default("/metrics").String()
		disableExporterMetrics = app.Flag("web.disable-exporter-metrics",
			"Exclude the exporter's own metrics (docspace_exporter_build_info, go_*, process_*) from /metrics.").Bool()
		webConfig = webflag.AddFlags(app, ":9977")
	)
	logConfig := &promslog.Config{}
	promslogflag.AddFlags(app, logConfig)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v, try --help\n", exporterName, err)
		return 2
	}
	logger := promslog.New(logConfig)
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "%s: error: "+format+"\n", append([]any{exporterName}, a...)...)
		return 2
	}

	opts := collector.Options{Progress: *progress, UserAgent: exporterName + "/" + version.Version}
	if err := config.CheckTimeout(*timeout); err != nil {
		return fail("--docspace.timeout: %v", err)
	}
	if *configCheck {
		if *configFile == "" {
			return fail("--config.check needs --config.file")
		}
		cfg, err := config.Load(*configFile)
		if err == nil {
			_, err = newFleet(cfg, nil, *timeout, opts)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("ok")
		return 0
	}

	var target *collector.Target
	switch {
	case settings.URL != "":
		var err error
		target, err = buildTarget(flagPortal(settings), *timeout, opts)
		if err != nil {
			return fail("%v", err)
		}
	case *configFile == "":
		return fail("no portal given: set --docspace.url (or DOCSPACE_URL) to the portal root, e.g. https://portal.example.com, or give --config.file")
	}
	var portals *config.Holder[*fleet]
	if *configFile != "" {
		var err error
		portals, err = config.NewHolder(*configFile, func(cfg *config.Config) (*fleet, error) {
			var prev *fleet
			if portals != nil {
				prev = portals.Current()
			}
			return newFleet(cfg, prev, *timeout, opts)
		})
		if err != nil {
			return fail("%v", err)
		}
	}
	if *webConfig.WebConfigFile != "" {
		if err := web.Validate(*webConfig.WebConfigFile); err != nil {
			return fail("--web.config.file %s: %v", *webConfig.WebConfigFile, err)
		}
	}
	if *timeoutOffset < 0 {
		return fail("--docspace.timeout-offset must not be negative")
	}

	logger.Info("starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if target != nil {
		logger.Info("monitoring DocSpace portal on "+*metricsPath, "url", redactedURL(settings.URL), "dump", settings.Dump,
			"timeout", *timeout, "timezone", settings.Timezone, "collector.progress", *progress)
		if settings.TLS.InsecureSkipVerify {
			logger.Warn("TLS certificate verification of the portal is off (--docspace.tls.insecure-skip-verify)")
		}
	}
	if portals != nil {
		logger.Info("serving the portals of the config file on /probe", "file", *configFile, "portals", len(portals.Current().targets))
	}

	self := prometheus.NewRegistry()
	var errorCounter prometheus.Registerer
	if !*disableExporterMetrics {
		self.MustRegister(
			versioncollector.NewCollector(exporterName),
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
		errorCounter = self
	}
	if portals != nil {
		self.MustRegister(portals)
	}
	reload := func() error {
		if portals == nil {
			logger.Info("nothing to reload without --config.file; a key file is read again by itself when it changes")
			return nil
		}
		err := portals.Reload()
		if err != nil {
			logger.Error("reloading the config file failed; keeping the last good one", "err", err)
		} else {
			logger.Info("reloaded the config file", "file", *configFile, "portals", len(portals.Current().targets))
		}
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			_ = reload()
		}
	}()

	mux, err := newMux(routes{
		metricsPath: *metricsPath,
		target:      target,
		portals:     portals,
		self:        self,
		selfMetrics: !*disableExporterMetrics,
		scraper:     newScraper(logger, *timeoutOffset, errorCounter),
		reload:      reload,
	})
	if err != nil {
		logger.Error("cannot build the landing page", "err", err)
		return 1
	}

	server := newHTTPServer(mux)
	if err := web.ListenAndServe(server, webConfig, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("cannot serve", "err", err)
		return 1
	}
	return 0
}

// The timeouts of the exporter's own server, so that idle or slow clients
// cannot hold its connections (and file descriptors) for ever.
const (
	// readHeaderTimeout is how long a client has to send a request's
	// header.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout is how long a kept-alive connection may wait for its
	// next request: longer than the usual scrape interval (1m), so that
	// Prometheus keeps its connection.
	idleTimeout = 90 * time.Second
	// writeTimeout bounds a whole answer. It must exceed the longest
	// scrape, which is bounded by the longest timeout a portal may have.
	writeTimeout = config.MaxTimeout + 30*time.Second
)

// newHTTPServer returns the exporter's HTTP server for handler.
func newHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      writeTimeout,
	}
}

// redactedURL returns the scheme and host of a portal URL, for logs.
func redactedURL(raw string) string {
	u, err := client.ParseURL(raw)
	if err != nil {
		return "(invalid)"
	}
	return u.Scheme + "://" + u.Host
}
