// Package mixin holds the monitoring mixin of docspace_exporter: Prometheus alerting rules and a
// Grafana dashboard, written in jsonnet (mixin.libsonnet) and generated into alerts.yaml and
// dashboards_out/*.json by `make generate`.
//
// The Go code here only exposes the queries of the generated dashboards, so that end-to-end
// tests elsewhere can run each of them against a real Prometheus.
package mixin
