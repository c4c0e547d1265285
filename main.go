// Command docspace_exporter is a Prometheus exporter for the backups of
// ONLYOFFICE DocSpace portals.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
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
)

const exporterName = "docspace_exporter"

func main() {
	defaultGCPercent()
	os.Exit(run(os.Args[1:]))
}

// gcPercent is the exporter's GOGC unless the environment sets one, as
// Prometheus sets its own default: a scrape's memory is short-lived, so
// collecting at 50% heap growth instead of Go's 100% keeps the resident
// memory low for a little CPU, for a binary run by hand as for the image and
// the systemd unit, which set GOGC=50 too.
const gcPercent = 50

// defaultGCPercent sets gcPercent when GOGC is not in the environment.
func defaultGCPercent() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(gcPercent)
	}
}

// run checks the flags, builds the portals and serves them; it returns the exit code.
func run(args []string) int {
	app, f := newApp()
	if _, err := app.Parse(args); err != nil {
		if keyFlag.MatchString(err.Error()) {
			return fail(fmt.Errorf("%w: the API key is never given as a flag, which ps shows to everyone: put it in a file and give --docspace.api-key-file, or in the environment variable DOCSPACE_API_KEY", err))
		}
		return fail(fmt.Errorf("%w, try --help", err))
	}
	logger := promslog.New(f.log)
	opts := collector.Options{Off: f.off(), UserAgent: exporterName + "/" + version.Version,
		HistoryTimeout: f.historyTimeout, Logger: logger, Pool: client.NewPool(max(f.maxIdle, 0))}
	if err := f.check(opts); err != nil {
		return fail(err)
	}
	if f.configCheck {
		return checkConfig(f.configFile, f.defaults, opts)
	}
	rt, err := f.routes(logger, opts)
	if err != nil {
		return fail(err)
	}
	mux, err := newMux(rt)
	if err != nil {
		logger.Error("cannot build the landing page", "err", err)
		return 1
	}
	if err := web.ListenAndServe(newHTTPServer(mux), f.web, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		switch listen, _ := errors.AsType[*net.OpError](err); {
		case errors.Is(err, syscall.EADDRINUSE):
			return fail(fmt.Errorf("--web.listen-address: %w: another program (another exporter?) listens there; stop it or choose another address with --web.listen-address", err))
		case listen != nil && listen.Op == "listen":
			return fail(fmt.Errorf("--web.listen-address: %w: choose an address this host can listen on, e.g. :9977 or 127.0.0.1:9977", err))
		}
		logger.Error("cannot serve", "err", err)
		return 1
	}
	return 0
}

// fail reports an error of the flags or of what they name; it returns the exit code.
func fail(err error) int {
	fmt.Fprintf(os.Stderr, "%s: error: %s\n", exporterName, hideKeys(err.Error()))
	return 2
}

// flags are the exporter's flags.
type flags struct {
	portal         config.Portal     // the portal of --docspace.url, if any
	built          *collector.Portal // and as check built it
	defaults       config.Defaults
	historyTimeout time.Duration
	timeoutOffset  time.Duration
	maxIdle        int
	switches       map[string]*bool // --collector.<name>
	configFile     string
	configCheck    bool
	metricsPath    string
	noSelfMetrics  bool
	web            *web.FlagConfig
	log            *promslog.Config
}

// newApp defines the exporter's flags.
func newApp() (*kingpin.Application, *flags) {
	app := kingpin.New(exporterName, "Prometheus exporter for the backups of ONLYOFFICE DocSpace portals.")
	f := &flags{switches: map[string]*bool{}, log: &promslog.Config{}}
	app.Flag("docspace.url",
		"Root URL of the DocSpace portal, e.g. https://portal.example.com.").Envar("DOCSPACE_URL").StringVar(&f.portal.URL)
	app.Flag("docspace.api-key-file",
		"File holding the DocSpace API key (sk-...) or personal access token on one line; read for every call to DocSpace. Alternatively set the environment variable DOCSPACE_API_KEY.").
		Envar("DOCSPACE_API_KEY_FILE").StringVar(&f.portal.APIKeyFile)
	app.Flag("docspace.dump",
		"Monitor the dump-based, server-wide backup schedule (Dump=true; self-hosted only).").BoolVar(&f.portal.Dump)
	app.Flag("docspace.tls.ca-file",
		"PEM file with the CA certificates that sign the portal's certificate.").StringVar(&f.portal.TLS.CAFile)
	app.Flag("docspace.tls.insecure-skip-verify",
		"Do not verify the portal's TLS certificate (unsafe: the key can be intercepted).").BoolVar(&f.portal.TLS.InsecureSkipVerify)
	app.Flag("docspace.timezone",
		"The portal's time zone (IANA id, e.g. Europe/Berlin). When unset it is read from the portal's settings, at most once an hour.").StringVar(&f.portal.Timezone)
	app.Flag("docspace.history-interval",
		"How often to read the list of stored backups (getbackuphistory: DocSpace checks every stored file in the backup storage and drops the records of missing ones), counted from the end of the last call; 0 turns it off. Also the default of the config file's portals.").
		Default("1h").DurationVar(&f.defaults.HistoryInterval)
	app.Flag("docspace.timeout",
		"The most one scrape of a portal spends on DocSpace (at most 5m); also the default of the config file's portals.").Default("10s").DurationVar(&f.defaults.Timeout)
	app.Flag("docspace.history-timeout",
		"The most one call of the stored-backup history may take; it runs in the background, never in a scrape.").Default("2m").DurationVar(&f.historyTimeout)
	app.Flag("docspace.timeout-offset",
		"Taken off Prometheus' scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to get the scrape deadline.").Default("0.5s").DurationVar(&f.timeoutOffset)
	app.Flag("docspace.max-idle-connections",
		"How many connections to portals stay open between scrapes, for all portals together (for each distinct TLS setting); past it, the one idle the longest is closed. 0 keeps none.").Default("2000").IntVar(&f.maxIdle)
	for _, s := range collector.Switches() {
		f.switches[s.Name] = app.Flag("collector."+s.Name, s.Help).Default("true").Bool()
	}
	app.Flag("config.file",
		"YAML file listing DocSpace portals to serve on /probe?target=<name>; reloaded on SIGHUP and POST /-/reload.").StringVar(&f.configFile)
	app.Flag("config.check",
		"Check --config.file, print what is wrong or \"ok\", and exit.").BoolVar(&f.configCheck)
	app.Flag("web.telemetry-path",
		"Path under which to expose metrics.").Default("/metrics").StringVar(&f.metricsPath)
	app.Flag("web.disable-exporter-metrics",
		"Exclude the exporter's own metrics (docspace_exporter_build_info, go_*, process_*) from /metrics.").BoolVar(&f.noSelfMetrics)
	f.web = webflag.AddFlags(app, ":9977")
	promslogflag.AddFlags(app, f.log)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	return app, f
}

// check checks each flag once and builds the portal of --docspace.url,
// checked as an entry of the config file is, reporting every problem at once.
func (f *flags) check(opts collector.Options) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if f.maxIdle < 0 {
		add("--docspace.max-idle-connections must not be negative")
	}
	if f.timeoutOffset < 0 {
		add("--docspace.timeout-offset must not be negative")
	}
	if f.historyTimeout <= 0 {
		add("--docspace.history-timeout: must be positive, e.g. 2m")
	}
	switch {
	case f.configCheck && f.configFile == "":
		add("--config.check needs --config.file")
	case !f.configCheck && f.portal.URL == "" && f.configFile == "":
		add("no portal given: set --docspace.url (or DOCSPACE_URL) to the portal root, e.g. https://portal.example.com, or give --config.file")
	}
	errs = append(errs, checkDefaults(f.defaults))
	if path := *f.web.WebConfigFile; path != "" {
		if sealed, err := webConfig(path); err != nil {
			add("--web.config.file: %w", err)
		} else {
			*f.web.WebConfigFile = sealed
		}
	}
	if f.portal.URL != "" && !f.configCheck {
		var err error
		f.built, err = flagPortal(f.portal, f.defaults, opts)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// defaultFlags name the flags of config.Defaults.
var defaultFlags = map[string]string{
	config.FieldTimeout:         "--docspace.timeout",
	config.FieldHistoryInterval: "--docspace.history-interval",
}

// checkDefaults checks the flags that give the defaults of every portal.
func checkDefaults(d config.Defaults) error {
	var errs []error
	if err := config.CheckTimeout(d.Timeout); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", defaultFlags[config.FieldTimeout], err))
	}
	if err := config.CheckHistoryInterval(d.HistoryInterval); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", defaultFlags[config.FieldHistoryInterval], err))
	}
	return errors.Join(errs...)
}

// off returns the endpoints whose --collector.<name> switch is off.
func (f *flags) off() map[string]bool {
	off := map[string]bool{}
	for name, on := range f.switches {
		off[name] = !*on
	}
	return off
}

// routes builds the portals the flags give, logs what is served and returns the routes.
func (f *flags) routes(logger *slog.Logger, opts collector.Options) (routes, error) {
	rt := routes{metricsPath: f.metricsPath, self: prometheus.NewRegistry(), selfMetrics: !f.noSelfMetrics}
	var err error
	rt.portal = f.built
	if f.configFile != "" {
		rt.portals, err = config.NewHolder(f.configFile, func(cfg *config.Config) (*fleet, error) {
			var prev *fleet // what the portals remember comes from the fleet in use
			if rt.portals != nil {
				prev = rt.portals.Current()
			}
			return newFleet(cfg, prev, f.defaults, opts)
		})
		if err != nil {
			return rt, err
		}
		rt.self.MustRegister(rt.portals)
		rt.reload = reloader(logger, f.configFile, rt.portals)
	} else {
		rt.reload = func() error {
			logger.Info("nothing to reload without --config.file; a key file is read for every call to DocSpace")
			return nil
		}
	}
	var errorCounter prometheus.Registerer
	if rt.selfMetrics {
		rt.self.MustRegister(
			versioncollector.NewCollector(exporterName),
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
		errorCounter = rt.self
	}
	rt.scrapes = newScrapeHandler(logger, f.timeoutOffset, errorCounter)

	logger.Info("starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if p := rt.portal; p != nil {
		c := p.Config()
		attrs := []any{"url", redactedURL(c.URL), "dump", c.Dump, "timeout", c.Timeout, "timezone", c.Timezone}
		for _, s := range collector.Switches() {
			attrs = append(attrs, "collector."+s.Name, *f.switches[s.Name])
		}
		logger.Info("monitoring DocSpace portal on "+f.metricsPath, append(attrs, "history_interval", c.HistoryInterval)...)
		logWarnings(logger, c.Warnings())
	}
	if rt.portals != nil {
		logger.Info("serving the portals of the config file on /probe", "file", f.configFile, "portals", len(rt.portals.Current().portals))
		logWarnings(logger, rt.portals.Current().warnings)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			_ = rt.reload()
		}
	}()
	return rt, nil
}

// reloader returns the reload of the config file, run on SIGHUP and POST
// /-/reload. Each load is logged once, however many requests share it.
func reloader(logger *slog.Logger, path string, portals *config.Holder[*fleet]) func() error {
	portals.OnLoad = func(err error) {
		if err != nil {
			logger.Error("reloading the config file failed; keeping the last good one", "err", errors.New(hideKeys(err.Error())))
			return
		}
		logger.Info("reloaded the config file", "file", path, "portals", len(portals.Current().portals))
		logWarnings(logger, portals.Current().warnings)
	}
	return func() error {
		if err := portals.Reload(); err != nil {
			// What the operator wrote may be echoed; a key never is, in
			// the log nor in the answer to POST /-/reload.
			return errors.New(hideKeys(err.Error()))
		}
		return nil
	}
}

// checkConfig is --config.check: it builds the file's portals as the exporter
// would and prints every problem and warning, or "ok"; it returns the exit code.
func checkConfig(path string, d config.Defaults, opts collector.Options) int {
	cfg, err := config.Load(path)
	if err == nil {
		_, err = newFleet(cfg, nil, d, opts)
	}
	if cfg != nil {
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(os.Stderr, "warning: %v\n", w)
		}
		var vars []string
		for _, p := range cfg.Portals {
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

// keyFlag matches kingpin's error for an unknown flag named like an API key.
var keyFlag = regexp.MustCompile(`^unknown long flag '--[^']*(key|token)'`)

var word = regexp.MustCompile("[^\\s'\"`=:;,()]+")

// redactedURL returns the scheme and host of a portal URL, for logs.
func redactedURL(raw string) string {
	u, err := client.ParseURL(raw)
	if err != nil {
		return "(invalid)"
	}
	return u.Scheme + "://" + u.Host
}
