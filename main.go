// Command docspace_exporter is a Prometheus exporter for the backups of
// ONLYOFFICE DocSpace portals.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
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
	"github.com/docspace-exporter/docspace_exporter/internal/smallfile"
)

const exporterName = "docspace_exporter"

// maxWebConfigSize is the largest --web.config.file read: it holds TLS
// settings and a few bcrypt hashes.
const maxWebConfigSize = 1 << 20

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New(exporterName, "Prometheus exporter for the backups of ONLYOFFICE DocSpace portals.")
	var settings config.Portal // the portal of --docspace.url, if any
	app.Flag("docspace.url",
		"Root URL of the DocSpace portal, e.g. https://portal.example.com.").Envar("DOCSPACE_URL").StringVar(&settings.URL)
	app.Flag("docspace.api-key-file",
		"File holding the DocSpace API key (sk-...) or personal access token on one line; read for every call to DocSpace. Alternatively set the environment variable DOCSPACE_API_KEY.").
		Envar("DOCSPACE_API_KEY_FILE").StringVar(&settings.APIKeyFile)
	app.Flag("docspace.dump",
		"Monitor the dump-based, server-wide backup schedule (Dump=true; self-hosted only).").BoolVar(&settings.Dump)
	app.Flag("docspace.tls.ca-file",
		"PEM file with the CA certificates that sign the portal's certificate.").StringVar(&settings.TLS.CAFile)
	app.Flag("docspace.tls.insecure-skip-verify",
		"Do not verify the portal's TLS certificate (unsafe: the key can be intercepted).").BoolVar(&settings.TLS.InsecureSkipVerify)
	app.Flag("docspace.timezone",
		"The portal's time zone (IANA id, e.g. Europe/Berlin). When unset it is read from the portal's settings, at most once an hour.").StringVar(&settings.Timezone)
	app.Flag("docspace.history-interval",
		"How often to read the list of stored backups (getbackuphistory: DocSpace checks every stored file in the backup storage and drops the records of missing ones), counted from the end of the last call; 0 turns it off. Also the default of the config file's portals.").
		Default("1h").DurationVar(&settings.HistoryInterval)
	var (
		timeout = app.Flag("docspace.timeout",
			"The most one scrape of a portal spends on DocSpace (at most 5m); also the default of the config file's portals.").Default("10s").Duration()
		historyTimeout = app.Flag("docspace.history-timeout",
			"The most one call of the stored-backup history may take; it runs in the background, never in a scrape.").Default("2m").Duration()
		timeoutOffset = app.Flag("docspace.timeout-offset",
			"Taken off Prometheus' scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to get the scrape deadline.").Default("0.5s").Duration()
		maxIdle = app.Flag("docspace.max-idle-connections",
			"How many connections to portals stay open between scrapes, for all portals together (for each distinct TLS setting); past it, the one idle the longest is closed. 0 keeps none.").Default("2000").Int()
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
		fmt.Fprintf(os.Stderr, "%s: error: %s, try --help\n", exporterName, hideKeys(err.Error()))
		return 2
	}
	logger := promslog.New(logConfig)
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "%s: error: %s\n", exporterName, hideKeys(fmt.Sprintf(format, a...)))
		return 2
	}

	if *maxIdle < 0 {
		return fail("--docspace.max-idle-connections must not be negative")
	}
	opts := collector.Options{Progress: *progress, UserAgent: exporterName + "/" + version.Version,
		HistoryInterval: settings.HistoryInterval, HistoryTimeout: *historyTimeout, Logger: logger, Pool: client.NewPool(*maxIdle)}
	if err := config.CheckTimeout(*timeout); err != nil {
		return fail("--docspace.timeout: %v", err)
	}
	if err := config.CheckHistoryInterval(settings.HistoryInterval); err != nil {
		return fail("--docspace.history-interval: %v", err)
	}
	if *historyTimeout <= 0 {
		return fail("--docspace.history-timeout: must be positive, e.g. 2m")
	}
	if *configCheck {
		if *configFile == "" {
			return fail("--config.check needs --config.file")
		}
		return checkConfig(*configFile, *timeout, opts)
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
		// exporter-toolkit reads the file whole, without a limit, and
		// would block on a named pipe.
		if _, err := smallfile.Read(*webConfig.WebConfigFile, maxWebConfigSize); err != nil {
			return fail("--web.config.file: %v", err)
		}
		if err := web.Validate(*webConfig.WebConfigFile); err != nil {
			return fail("--web.config.file %s: %v", smallfile.Name(*webConfig.WebConfigFile), err)
		}
	}
	if *timeoutOffset < 0 {
		return fail("--docspace.timeout-offset must not be negative")
	}

	logger.Info("starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if target != nil {
		logger.Info("monitoring DocSpace portal on "+*metricsPath, "url", redactedURL(settings.URL), "dump", settings.Dump,
			"timeout", *timeout, "timezone", settings.Timezone, "collector.progress", *progress,
			"history_interval", settings.HistoryInterval)
		logWarnings(logger, target.Settings())
	}
	if portals != nil {
		logger.Info("serving the portals of the config file on /probe", "file", *configFile, "portals", len(portals.Current().targets))
		portals.Current().logWarnings(logger)
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
			logger.Info("nothing to reload without --config.file; a key file is read for every call to DocSpace")
			return nil
		}
		err := portals.Reload()
		if err != nil {
			// What the operator wrote may be echoed; a key never is, in the
			// log nor in the answer to POST /-/reload.
			err = errors.New(hideKeys(err.Error()))
			logger.Error("reloading the config file failed; keeping the last good one", "err", err)
		} else {
			logger.Info("reloaded the config file", "file", *configFile, "portals", len(portals.Current().targets))
			portals.Current().logWarnings(logger)
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
		var listen *net.OpError
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			return fail("--web.listen-address: %v: another program (another exporter?) listens there; stop it or choose another address with --web.listen-address", err)
		case errors.As(err, &listen) && listen.Op == "listen":
			return fail("--web.listen-address: %v: choose an address this host can listen on, e.g. :9977 or 127.0.0.1:9977", err)
		}
		logger.Error("cannot serve", "err", err)
		return 1
	}
	return 0
}

// checkConfig is --config.check: it builds the portals of the file as the
// exporter would, reading their key and CA files, and prints every problem
// and warning, or "ok". It returns the exit code.
func checkConfig(path string, timeout time.Duration, opts collector.Options) int {
	cfg, err := config.Load(path)
	if err == nil {
		_, err = newFleet(cfg, nil, timeout, opts)
	}
	if cfg != nil {
		var vars []string
		for _, p := range cfg.Portals {
			for _, w := range p.Warnings() {
				fmt.Fprintf(os.Stderr, "warning: %v\n", w)
			}
			if p.APIKeyEnv != "" {
				vars = append(vars, p.APIKeyEnv)
			}
		}
		if len(vars) > 0 {
			fmt.Fprintf(os.Stderr, "note: the keys of api_key_env (%s) were checked in the environment this check runs in, "+
				"which may not be the exporter's (a systemd unit's Environment=, a container's env): run the check there to be sure\n", strings.Join(vars, ", "))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, hideKeys(err.Error()))
		return 1
	}
	fmt.Println("ok")
	return 0
}

// hideKeys replaces every word of s that looks like an API key with
// <secret>: what the operator typed may be echoed in a message (by kingpin,
// for one), and a key must never be.
func hideKeys(s string) string {
	return word.ReplaceAllStringFunc(s, func(w string) string {
		if config.LooksLikeKey(w) {
			return "<secret>"
		}
		return w
	})
}

var word = regexp.MustCompile("[^\\s'\"`=:;,()]+")

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
	// readTimeout bounds the reading of a whole request, body included.
	// net/http cancels a request whose connection passes it, so it cannot
	// be shorter than the longest answer.
	readTimeout = writeTimeout
	// maxHeaderBytes is the most header bytes a request may have: those of
	// Prometheus take under 1 KiB, with room for large basic auth and
	// cookies. Past it the server answers 431.
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

// noBody answers 413 to a request with a body, as no endpoint takes one,
// and closes its connection at once: net/http would otherwise wait for
// the rest of the body after the answer, so a client that never sends it
// would hold the connection.
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

// redactedURL returns the scheme and host of a portal URL, for logs.
func redactedURL(raw string) string {
	u, err := client.ParseURL(raw)
	if err != nil {
		return "(invalid)"
	}
	return u.Scheme + "://" + u.Host
}
