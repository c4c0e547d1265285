package main

import (
	"cmp"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// flagNames names each portal setting as the flags give it, so that the
// portal of --docspace.url is checked, built and reported exactly like an
// entry of the configuration file, in the operator's own words.
var flagNames = map[string]string{
	config.FieldURL:        "--docspace.url",
	config.FieldAPIKeyFile: "--docspace.api-key-file",
	config.FieldAPIKeyEnv:  "DOCSPACE_API_KEY",
	config.FieldDump:       "--docspace.dump",
	config.FieldTimezone:   "--docspace.timezone",
	config.FieldTimeout:    "--docspace.timeout",
	config.FieldCAFile:     "--docspace.tls.ca-file",
	config.FieldInsecure:   "--docspace.tls.insecure-skip-verify",

	config.FieldHistoryInterval: "--docspace.history-interval",
}

// keyEnv is the environment variable that may hold the key of the portal
// given by the flags.
const keyEnv = "DOCSPACE_API_KEY"

// flagPortal returns the portal the flags describe, called "default". The
// key comes from the key file or, when it is set, from DOCSPACE_API_KEY.
func flagPortal(p config.Portal) config.Portal {
	p.Name = "default"
	if os.Getenv(keyEnv) != "" {
		p.APIKeyEnv = keyEnv
	}
	return config.FromFlags(p, flagNames)
}

// buildTarget checks the portal's settings and builds its target: the one
// path from settings, flags or file entry alike, to a portal ready to scrape.
func buildTarget(p config.Portal, defaultTimeout time.Duration, opts collector.Options) (*collector.Target, error) {
	p = withDefaults(p, defaultTimeout, opts)
	if err := p.Check(); err != nil {
		return nil, err
	}
	return collector.NewTarget(p, opts)
}

// withDefaults fills the settings a portal's entry of the configuration
// file leaves out with the exporter's flags: --docspace.timeout and
// --docspace.history-interval.
func withDefaults(p config.Portal, defaultTimeout time.Duration, opts collector.Options) config.Portal {
	p.Timeout = cmp.Or(p.Timeout, defaultTimeout)
	if !p.Gives(config.FieldHistoryInterval) {
		p.HistoryInterval = opts.HistoryInterval
	}
	return p
}

// fleet is the set of portals of one valid configuration file, served on
// /probe by name and listed on /discovery. It is never changed once built:
// a reload builds a new one.
type fleet struct {
	targets map[string]*collector.Target
	// portals are the portals' settings, in the file's order.
	portals []config.Portal
}

// lookup returns the portal called name, or nil.
func (f *fleet) lookup(name string) *collector.Target {
	if f == nil {
		return nil
	}
	return f.targets[name]
}

// newFleet builds the portals of cfg, reporting every problem at once. A
// portal whose settings and CA file did not change since prev keeps its
// target: its client, connection pool, known time zone and stored-backup
// history. A rebuilt portal inherits what its old target learnt (see
// collector.Target.Inherit). On success, the targets of prev that are not
// kept are closed (collector.Target.Close), while scrapes that still hold
// them finish.
func newFleet(cfg *config.Config, prev *fleet, defaultTimeout time.Duration, opts collector.Options) (*fleet, error) {
	f := &fleet{targets: make(map[string]*collector.Target, len(cfg.Portals)), portals: cfg.Portals}
	var errs []error
	for _, p := range cfg.Portals {
		p = withDefaults(p, defaultTimeout, opts)
		old := prev.lookup(p.Name)
		if old != nil && old.Settings().Same(p) && !old.CAFileChanged() {
			f.targets[p.Name] = old
			continue
		}
		t, err := buildTarget(p, defaultTimeout, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.Inherit(old)
		f.targets[p.Name] = t
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if prev != nil {
		for name, t := range prev.targets {
			if f.targets[name] != t {
				t.Close()
			}
		}
	}
	return f, nil
}

// logWarnings logs what is unsafe in the settings of each portal.
func logWarnings(logger *slog.Logger, portals ...config.Portal) {
	for _, p := range portals {
		for _, w := range p.Warnings() {
			logger.Warn(w.Error())
		}
	}
}

// logWarnings logs what is unsafe in the settings of the fleet's portals.
func (f *fleet) logWarnings(logger *slog.Logger) {
	for _, name := range slices.Sorted(maps.Keys(f.targets)) {
		logWarnings(logger, f.targets[name].Settings())
	}
}
