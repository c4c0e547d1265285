package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/config"
)

const namespace = "docspace"

// allDescs are the descriptions of every metric, for Describe; each
// endpoint's file describes its own.
var allDescs []*prometheus.Desc

// desc describes a metric, and reserves its labels so that no portal's
// labels use them.
func desc(name, help string, labels ...string) *prometheus.Desc {
	config.ReserveMetricLabels(labels...)
	d := prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	allDescs = append(allDescs, d)
	return d
}

// The metrics of every scrape, made of the answers of the endpoints table.
var (
	upDesc = desc("up",
		"1 if the portal answered the backup schedule call with a valid DocSpace API response, else 0.")
	statusCodeDesc = desc("api_status_code",
		"HTTP status of the backup schedule call; 0 when there was no HTTP response.")
	durationDesc = desc("scrape_duration_seconds",
		"Time this scrape spent on calls to DocSpace.")
	collectorSuccessDesc = desc("collector_success",
		"1 if the collector's call to DocSpace succeeded (or its cached value is valid), else 0.", "collector")
	collectorDurationDesc = desc("collector_duration_seconds",
		"Time the collector's call to DocSpace took in this scrape, 0 when it used a cached value; for history, its last completed call.", "collector")
)

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t in Unix seconds; unlike UnixNano it does not overflow
// outside the years 1678 to 2262.
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}
