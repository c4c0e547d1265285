// Package collector turns the answers of one DocSpace portal into Prometheus
// metrics. A Collector is built for one scrape and bound to that scrape's
// context: every Collect calls DocSpace afresh; only the portal's time zone
// is kept between scrapes.
package collector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/client"
	nextbackup "github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

// Collector collects the metrics of one portal for one scrape.
type Collector struct {
	ctx    context.Context
	portal *Portal
	logger *slog.Logger // use log(), which names the portal
	// err, when set, is reported as a failed scrape without calling DocSpace
	// (e.g. an invalid scrape timeout header).
	err error
	// now is the scrape's clock, for the never-run slot computation.
	now func() time.Time
}

// New returns a Collector for one scrape of portal, bound to ctx.
func New(ctx context.Context, portal *Portal, logger *slog.Logger) *Collector {
	return &Collector{ctx: ctx, portal: portal, logger: logger, now: time.Now}
}

// log returns the logger, with the portal's name. Built on demand: most
// scrapes log nothing.
func (c *Collector) log() *slog.Logger {
	return c.logger.With("portal", c.portal.Name)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for d := range familyOf {
		ch <- d
	}
}

// result is what one call of a scrape brought back.
type result[T any] struct {
	value    T
	err      error
	duration time.Duration
}

func timed[T any](f func() (T, error)) result[T] {
	start := time.Now()
	v, err := f()
	return result[T]{value: v, err: err, duration: time.Since(start)}
}

// Collect implements prometheus.Collector. It makes the scrape's calls to
// DocSpace concurrently, then sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.collect() {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

// collect makes the scrape's calls to DocSpace concurrently and returns the
// samples. Collect sends them as metrics; Serve encodes them directly.
func (c *Collector) collect() samples {
	var out samples
	ch := &out
	if c.err != nil {
		c.log().Error("DocSpace scrape failed", "err", c.err)
		gauge(ch, upDesc, 0)
		gauge(ch, statusCodeDesc, 0)
		gauge(ch, durationDesc, 0)
		return out
	}
	start := time.Now()
	var (
		wg       sync.WaitGroup
		progress result[*client.Progress]
		location = result[*time.Location]{value: c.portal.location}
		p        = c.portal
	)
	if p.progress {
		wg.Go(func() { progress = timed(func() (*client.Progress, error) { return p.client.BackupProgress(c.ctx) }) })
	}
	if p.timezone != nil {
		wg.Go(func() { location = p.timezone.get(c.ctx, c.log) })
	}
	schedule := timed(func() (*client.Schedule, error) { return p.client.BackupSchedule(c.ctx) })
	wg.Wait()

	gauge(ch, upDesc, boolValue(schedule.err == nil))
	gauge(ch, statusCodeDesc, float64(client.StatusCode(schedule.err)))
	gauge(ch, durationDesc, time.Since(start).Seconds())
	collectorMetrics(ch, "schedule", schedule.err, schedule.duration)
	if schedule.err != nil {
		c.logFailure("backup schedule", schedule.err)
	} else {
		c.collectSchedule(ch, schedule.value, location.value)
	}
	if p.progress {
		collectorMetrics(ch, "progress", progress.err, progress.duration)
		if progress.err != nil {
			c.logFailure("backup progress", progress.err)
		} else {
			c.collectProgress(ch, progress.value)
		}
	}
	if p.timezone != nil {
		collectorMetrics(ch, "settings", location.err, location.duration)
	}
	return out
}

func collectorMetrics(ch *samples, name string, err error, d time.Duration) {
	gauge(ch, collectorSuccessDesc, boolValue(err == nil), name)
	gauge(ch, collectorDurationDesc, d.Seconds(), name)
}

func (c *Collector) logFailure(call string, err error) {
	attrs := []any{"call", call, "err", err}
	var e *client.Error
	if errors.As(err, &e) {
		attrs = append(attrs, "kind", e.Kind.String(), "status_code", e.StatusCode)
	}
	c.log().Error("DocSpace scrape failed", attrs...)
}

func (c *Collector) collectSchedule(ch *samples, s *client.Schedule, loc *time.Location) {
	if s == nil {
		gauge(ch, configuredDesc, 0)
		return
	}
	gauge(ch, configuredDesc, 1)
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
		gauge(ch, lastBackupDesc, unixSeconds(s.LastBackup))
	}
	if loc == nil || s.Period == nil || s.Hour == nil || s.Day == nil {
		return
	}
	cron := nextbackup.Cron{Period: nextbackup.Period(*s.Period), Hour: *s.Hour, Day: *s.Day}
	next, interval, err := nextbackup.Next(cron, s.LastBackup, c.now(), loc)
	if err != nil {
		c.log().Warn("cannot compute the next scheduled backup", "err", err)
		return
	}
	gauge(ch, nextBackupDesc, unixSeconds(next))
	gauge(ch, intervalDesc, interval.Seconds())
}

func (c *Collector) collectProgress(ch *samples, t *client.Progress) {
	if t == nil {
		gauge(ch, taskRunningDesc, 0)
		return
	}
	gauge(ch, taskRunningDesc, boolValue(t.Running()))
	gauge(ch, taskProgressDesc, float64(t.Percent)/100)
	gauge(ch, taskFailedDesc, boolValue(t.Failed()))
	if t.Failed() {
		c.portal.logTaskFailure(c.log(), t)
	}
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
