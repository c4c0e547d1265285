package main

import (
	"fmt"
	"time"

	"github.com/prometheus/common/version"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// fleet is the set of portals of one valid configuration file, served on
// /probe by name.
type fleet struct {
	portals map[string]fleetPortal
}

type fleetPortal struct {
	settings config.Portal
	portal   *collector.Portal
}

// lookup returns the portal called name, or nil.
func (f *fleet) lookup(name string) *collector.Portal {
	if f == nil {
		return nil
	}
	return f.portals[name].portal
}

// newFleet builds the portals of cfg. A portal whose settings did not change
// since prev keeps its client, connection pool and known time zone.
func newFleet(cfg *config.Config, prev *fleet, defaultTimeout time.Duration, progress bool) (*fleet, error) {
	f := &fleet{portals: make(map[string]fleetPortal, len(cfg.Portals))}
	for _, p := range cfg.Portals {
		if prev != nil {
			if old, ok := prev.portals[p.Name]; ok && old.settings == p {
				f.portals[p.Name] = old
				continue
			}
		}
		cc, err := p.ClientConfig(defaultTimeout, userAgent())
		if err != nil {
			return nil, err
		}
		c, err := client.New(cc)
		if err != nil {
			return nil, fmt.Errorf("portal %q: %w", p.Name, err)
		}
		loc, err := p.Location()
		if err != nil {
			return nil, fmt.Errorf("portal %q: %w", p.Name, err)
		}
		f.portals[p.Name] = fleetPortal{settings: p, portal: collector.NewPortal(p.Name, c,
			collector.Options{Timeout: cc.Timeout, Progress: progress, Location: loc})}
	}
	return f, nil
}

func userAgent() string {
	return exporterName + "/" + version.Version
}
