// Package collector turns the answers of one DocSpace portal into Prometheus
// metrics. A Collector is built for one scrape and bound to that scrape's
// context: every Collect calls DocSpace afresh, nothing is cached.
package collector

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/client"
)

const namespace = "docspace"

// familyOf maps each Desc to the name and help of its metric family, for
// the encoder in handler.go. Every Desc is made by desc and is a gauge.
var familyOf = map[*prometheus.Desc]family{}

type family struct{ name, help string }

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	familyOf[d] = family{namespace + "_" + name, help}
	return d
}

var (
	upDesc = desc("up",
		"1 if the portal answered the backup schedule call with a valid DocSpace API response, else 0.")
	statusCodeDesc = desc("api_status_code",
		"HTTP status code of the backup schedule call; 0 when there was no HTTP response (refused, TLS error, timeout).")
	durationDesc = desc("scrape_duration_seconds",
		"Time this scrape spent on calls to DocSpace.")
	configuredDesc = desc("backup_schedule_configured",
		"1 if the portal has a backup schedule, 0 if it answered without one.")
	backupsStoredDesc = desc("backup_schedule_backups_stored",
		"How many scheduled backup copies the schedule keeps (backupsStored): a retention limit, not a count of existing backups.")
	dumpDesc = desc("backup_schedule_dump_enabled",
		"1 if the schedule is the dump-based, server-wide one (dump), else 0.")
	periodDesc = desc("backup_schedule_period",
		"The schedule's period (cronParams.period): 0 daily, 1 weekly, 2 monthly.")
	hourDesc = desc("backup_schedule_hour",
		"The hour (0-23, portal time zone) at which the scheduled backup starts (cronParams.hour).")
	dayDesc = desc("backup_schedule_day",
		"The schedule's day (cronParams.day): 0 for daily; 1-7 for weekly with 1 = Sunday; 1-31 for monthly.")
	infoDesc = desc("backup_schedule_info",
		"The backup schedule's period and storage type as labels; always 1.", "period", "storage_type")
	lastBackupDesc = desc("backup_last_timestamp_seconds",
		"When DocSpace's scheduler started the last scheduled backup (lastBackupTime), as Unix seconds; it is set when a backup starts, so it is no proof that the backup succeeded. Absent while the schedule has never run.")
)

// Portal is one DocSpace portal as the collector sees it.
type Portal struct {
	// Name identifies the portal in logs.
	Name   string
	Client *client.Client
	// Timeout is the most one scrape spends on this portal.
	Timeout time.Duration
}

// Collector collects the metrics of one portal for one scrape.
type Collector struct {
	ctx    context.Context
	portal *Portal
	logger *slog.Logger
	// err, when set, is reported as a failed scrape without calling DocSpace
	// (e.g. an invalid scrape timeout header).
	err error
}

// New returns a Collector for one scrape of portal, bound to ctx.
func New(ctx context.Context, portal *Portal, logger *slog.Logger) *Collector {
	return &Collector{ctx: ctx, portal: portal, logger: logger}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		upDesc, statusCodeDesc, durationDesc, configuredDesc, backupsStoredDesc, dumpDesc,
		periodDesc, hourDesc, dayDesc, infoDesc, lastBackupDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	var (
		schedule *client.Schedule
		err      = c.err
	)
	if err == nil {
		schedule, err = c.portal.Client.BackupSchedule(c.ctx)
	}
	duration := time.Since(start)

	up := 1.0
	if err != nil {
		up = 0
		c.logFailure(err)
	}
	gauge(ch, upDesc, up)
	gauge(ch, statusCodeDesc, float64(client.StatusCode(err)))
	gauge(ch, durationDesc, duration.Seconds())
	if err != nil {
		return
	}
	if schedule == nil {
		gauge(ch, configuredDesc, 0)
		return
	}
	gauge(ch, configuredDesc, 1)
	collectSchedule(ch, schedule)
}

func (c *Collector) logFailure(err error) {
	attrs := []any{"portal", c.portal.Name, "err", err}
	var e *client.Error
	if errors.As(err, &e) {
		attrs = append(attrs, "kind", e.Kind.String(), "status_code", e.StatusCode)
	}
	c.logger.Error("DocSpace scrape failed", attrs...)
}

func collectSchedule(ch chan<- prometheus.Metric, s *client.Schedule) {
	if s.BackupsStored != nil {
		gauge(ch, backupsStoredDesc, float64(*s.BackupsStored))
	}
	if s.Dump != nil {
		gauge(ch, dumpDesc, boolValue(*s.Dump))
	}
	if s.Period != nil {
		gauge(ch, periodDesc, float64(*s.Period))
	}
	if s.Hour != nil {
		gauge(ch, hourDesc, float64(*s.Hour))
	}
	if s.Day != nil {
		gauge(ch, dayDesc, float64(*s.Day))
	}
	gauge(ch, infoDesc, 1, periodLabel(s.Period), storageTypeLabel(s.StorageType))
	if !s.LastBackup.IsZero() {
		gauge(ch, lastBackupDesc, float64(s.LastBackup.UnixNano())/1e9)
	}
}

var periodLabels = map[client.Period]string{
	client.PeriodDaily:   "daily",
	client.PeriodWeekly:  "weekly",
	client.PeriodMonthly: "monthly",
}

func periodLabel(p *client.Period) string {
	if p != nil {
		if l, ok := periodLabels[*p]; ok {
			return l
		}
	}
	return "unknown"
}

var storageTypeLabels = map[client.StorageType]string{
	client.StorageDocuments:           "documents",
	client.StorageThirdPartyDocuments: "thirdparty_documents",
	client.StorageCustomCloud:         "custom_cloud",
	client.StorageLocal:               "local",
	client.StorageDataStore:           "data_store",
	client.StorageThirdPartyConsumer:  "thirdparty_consumer",
}

func storageTypeLabel(t *client.StorageType) string {
	if t != nil {
		if l, ok := storageTypeLabels[*t]; ok {
			return l
		}
	}
	return "unknown"
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
