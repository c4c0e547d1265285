module github.com/docspace-exporter/docspace_exporter/e2e

go 1.26.0

require (
	github.com/docspace-exporter/docspace_exporter v0.0.0
	github.com/docspace-exporter/docspace_exporter/mixin v0.0.0
	go.yaml.in/yaml/v3 v3.0.6
)

// The exporter and its mixin, as they are in this repository.
replace (
	github.com/docspace-exporter/docspace_exporter => ../
	github.com/docspace-exporter/docspace_exporter/mixin => ../mixin
)
