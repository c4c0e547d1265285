package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// flagNames names each portal setting as the flags give it, so that the
// portal of --docspace.url is checked, built and reported exactly like an
// entry of the configuration file, in the operator's own words. Its timeout
// and history interval are every portal's defaults (checkDefaults).
var flagNames = map[string]string{
	config.FieldURL:        "--docspace.url",
	config.FieldAPIKeyFile: "--docspace.api-key-file",
	config.FieldAPIKeyEnv:  keyEnv,
	config.FieldDump:       "--docspace.dump",
	config.FieldTimezone:   "--docspace.timezone",
	config.FieldCAFile:     "--docspace.tls.ca-file",
	config.FieldInsecure:   "--docspace.tls.insecure-skip-verify",
}

// keyEnv is the environment variable that may hold the key of the flags' portal.
const keyEnv = "DOCSPACE_API_KEY"

// flagPortal builds the portal the flags describe, called "default": it is
// checked as an entry of the file is, then given the defaults.
func flagPortal(p config.Portal, d config.Defaults, opts collector.Options) (*collector.Portal, error) {
	p.Name = "default"
	if os.Getenv(keyEnv) != "" {
		p.APIKeyEnv = keyEnv
	}
	p = config.FromFlags(p, flagNames)
	checkErr := p.Check()
	if checkErr == nil {
		return collector.NewPortal(p.WithDefaults(d), collector.NewMemory(), opts)
	}
	// Report the key and CA files' problems too: build a copy of the
	// portal with only its files, reading none whose path the check
	// refused (a path may be a key).
	files := config.FromFlags(config.Portal{Name: p.Name, URL: "https://portal.invalid", APIKeyFile: p.APIKeyFile, APIKeyEnv: p.APIKeyEnv,
		TLS: config.TLS{CAFile: p.TLS.CAFile}}, flagNames)
	for _, path := range []*string{&files.APIKeyFile, &files.TLS.CAFile} {
		if config.LooksLikeKey(*path) {
			*path = ""
		}
	}
	if files.APIKeyFile == "" && files.APIKeyEnv == "" {
		return nil, checkErr
	}
	_, err := collector.NewPortal(files.WithDefaults(d), collector.NewMemory(), opts)
	return nil, errors.Join(checkErr, err)
}

// fleet is the set of portals of one valid configuration file, served on
// /probe by name and listed on /discovery; never changed: a reload builds another.
type fleet struct {
	portals []*collector.Portal // in the file's order
	byName  map[string]*collector.Portal
	memory  map[memoryKey]*collector.Memory // handed from fleet to fleet
	// warnings are the file's warnings (config.Config.Warnings).
	warnings []error
}

// memoryKey identifies a portal for what is remembered of it: a portal that
// a reload gives another URL or dump setting is another, started afresh.
type memoryKey struct {
	name, url string
	dump      bool
}

func keyOf(p config.Portal) memoryKey {
	url := p.URL
	if u, err := client.ParseURL(p.URL); err == nil {
		url = u.String()
	}
	return memoryKey{name: p.Name, url: url, dump: p.Dump}
}

// lookup returns the portal called name, or nil.
func (f *fleet) lookup(name string) *collector.Portal {
	if f == nil {
		return nil
	}
	return f.byName[name]
}

// newFleet builds the portals of cfg anew, reading their key and CA files
// again, with what prev remembers of them; it reports every problem at once.
func newFleet(cfg *config.Config, prev *fleet, d config.Defaults, opts collector.Options) (*fleet, error) {
	f := &fleet{byName: make(map[string]*collector.Portal, len(cfg.Portals)), memory: make(map[memoryKey]*collector.Memory, len(cfg.Portals)),
		warnings: cfg.Warnings()}
	var errs []error
	for _, p := range cfg.Portals {
		key := keyOf(p)
		m := prev.remembered(key)
		portal, err := collector.NewPortal(p.WithDefaults(d), m, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.portals = append(f.portals, portal)
		f.byName[p.Name], f.memory[key] = portal, m
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// remembered returns what f remembers of the portal key, or a new memory.
func (f *fleet) remembered(key memoryKey) *collector.Memory {
	if f != nil && f.memory[key] != nil {
		return f.memory[key]
	}
	return collector.NewMemory()
}

// logWarnings logs what is unsafe or wasteful in the settings.
func logWarnings(logger *slog.Logger, warnings []error) {
	for _, w := range warnings {
		logger.Warn(w.Error())
	}
}
