// DocSpace backup monitoring mixin: Prometheus alerts and a Grafana dashboard for
// docspace_exporter. See README.md in this folder.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
