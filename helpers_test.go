package main

import (
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// testDefaults are the flags' defaults of the tests' portals: a 10 s
// timeout, the history off.
var testDefaults = config.Defaults{Timeout: 10 * time.Second}

// testOptions returns o with the tests' connection pool.
func testOptions(o collector.Options) collector.Options {
	o.Pool = client.NewPool(100)
	return o
}

// buildTarget builds a portal as the entries of the config file are: its
// settings checked, then the defaults d applied.
func buildTarget(p config.Portal, d config.Defaults, opts collector.Options) (*collector.Portal, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	return collector.NewPortal(p.WithDefaults(d), collector.NewMemory(), opts)
}
