// Package collector turns the answers of one DocSpace portal into Prometheus
// metrics. A Collector is built for one scrape and bound to that scrape's
// context: every scrape calls DocSpace afresh. What lives between scrapes
// is kept by the portal's Target: its time zone, read from its settings at
// most hourly, its stored-backup history, read in the background at most
// once per history interval, and what the log last said about it.
package collector

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

// Collector collects the metrics of one portal for one scrape.
type Collector struct {
	ctx    context.Context
	target *Target
	logger *slog.Logger // use log(), which names the portal
	// err, when set, is why the scrape cannot start (e.g. an invalid
	// scrape timeout header): it is reported as a failed scrape without
	// calling DocSpace.
	err error
	// now is the scrape's clock, for the never-run slot computation.
	now func() time.Time

	scraped sync.Once
	metrics []prometheus.Metric // what the scrape found
}

// New returns a Collector for one scrape of target, bound to ctx, which
// must carry the scrape's deadline. When err is not nil the scrape cannot
// start: Collect reports it as failed and logs err without calling
// DocSpace.
func New(ctx context.Context, target *Target, logger *slog.Logger, err error) *Collector {
	return &Collector{ctx: ctx, target: target, logger: logger, err: err, now: time.Now}
}

// log returns the logger, with the portal's name and where it was
// configured. Built on demand: most scrapes log nothing.
func (c *Collector) log() *slog.Logger {
	s := c.target.settings
	return c.logger.With("portal", s.Name, "configured_at", s.Source())
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(descs chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		descs <- d
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

// Scrape makes the scrape's calls to DocSpace, once: Collect sends what
// they found. Collect scrapes by itself when Scrape was not called; the
// handler calls Scrape before gathering, as blackbox_exporter runs its probe
// before it serves the probe's registry, so that the registry's gathering
// buffers are not held while DocSpace answers.
func (c *Collector) Scrape() {
	c.scraped.Do(func() {
		c.metrics = make([]prometheus.Metric, 0, len(allDescs)+4) // a few families have several series
		c.scrape(func(d *prometheus.Desc, v float64, labels ...string) {
			c.metrics = append(c.metrics, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
		})
	})
}

// Collect implements prometheus.Collector: it sends the metrics of the
// scrape, which it makes first if Scrape was not called. Collected again,
// it sends the same metrics: a Collector is one scrape.
func (c *Collector) Collect(metrics chan<- prometheus.Metric) {
	c.Scrape()
	for _, m := range c.metrics {
		metrics <- m
	}
}

// scrape makes the scrape's calls to DocSpace concurrently, then sends the
// metrics.
func (c *Collector) scrape(send sendFunc) {
	c.target.logChange(&c.target.lastStartErr, c.log, slog.LevelError, "DocSpace scrape cannot start", c.err)
	if c.err != nil {
		send(upDesc, 0)
		send(statusCodeDesc, 0)
		send(durationDesc, 0)
		return
	}
	start := time.Now()
	var (
		wg       sync.WaitGroup
		progress result[*client.Progress]
		history  historyState
		t        = c.target
		location = result[*time.Location]{value: t.location}
	)
	if t.progress {
		wg.Go(func() { progress = timed(func() (*client.Progress, error) { return t.client.BackupProgress(c.ctx) }) })
	}
	if t.timezone != nil {
		wg.Go(func() { location = t.timezone.get(c.ctx, c.log) })
	}
	if t.history != nil {
		wg.Go(func() { history = t.history.get(c.ctx, c.log) })
	}
	sched := timed(func() (*client.Schedule, error) { return t.client.BackupSchedule(c.ctx) })
	wg.Wait()
	c.logCalls(sched, progress, location, history)

	send(upDesc, boolValue(sched.err == nil))
	send(statusCodeDesc, float64(client.StatusCode(sched.err)))
	send(durationDesc, time.Since(start).Seconds())
	sendCollector(send, "schedule", sched.err, sched.duration)
	var failures []failure
	if sched.err != nil {
		failures = append(failures, failure{"backup schedule", sched.err})
	} else {
		c.collectSchedule(send, sched.value, location.value)
	}
	if t.progress {
		sendCollector(send, "progress", progress.err, progress.duration)
		if progress.err != nil {
			failures = append(failures, failure{"backup progress", progress.err})
		} else {
			c.collectProgress(send, progress.value)
		}
	}
	if t.timezone != nil {
		sendCollector(send, "settings", location.err, location.duration)
		if location.err != nil && location.value == nil {
			failures = append(failures, failure{"settings", location.err})
		}
	}
	if t.history != nil {
		collectHistory(send, t.history.interval, history)
	}
	c.logFailures(failures)
}

// sendFunc sends one gauge sample of a scrape.
type sendFunc func(d *prometheus.Desc, v float64, labels ...string)

func sendCollector(send sendFunc, name string, err error, d time.Duration) {
	send(collectorSuccessDesc, boolValue(err == nil), name)
	send(collectorDurationDesc, d.Seconds(), name)
}

func (c *Collector) collectSchedule(send sendFunc, s *client.Schedule, loc *time.Location) {
	if s == nil {
		send(configuredDesc, 0)
		return
	}
	send(configuredDesc, 1)
	if s.BackupsStored != nil {
		send(backupsStoredDesc, float64(*s.BackupsStored))
	}
	if s.Dump != nil {
		send(dumpDesc, boolValue(*s.Dump))
	}
	if s.Period != nil {
		send(periodDesc, float64(*s.Period))
	}
	if s.Hour != nil {
		send(hourDesc, float64(*s.Hour))
	}
	if s.Day != nil {
		send(dayDesc, float64(*s.Day))
	}
	send(infoDesc, 1, periodLabel(s.Period), storageTypeLabel(s.StorageType))
	if !s.LastBackup.IsZero() {
		send(lastBackupDesc, unixSeconds(s.LastBackup))
	}
	if loc == nil || s.Period == nil || s.Hour == nil || s.Day == nil {
		return
	}
	cron := schedule.Cron{Period: *s.Period, Hour: *s.Hour, Day: *s.Day}
	next, interval, err := schedule.Next(cron, s.LastBackup, c.now(), loc)
	c.target.logChange(&c.target.lastSlotErr, c.log, slog.LevelWarn, "cannot compute the next scheduled backup", err)
	if err != nil {
		return
	}
	send(nextBackupDesc, unixSeconds(next))
	send(intervalDesc, interval.Seconds())
}

func (c *Collector) collectProgress(send sendFunc, t *client.Progress) {
	if t == nil {
		send(taskRunningDesc, 0)
		return
	}
	send(taskRunningDesc, boolValue(t.Running()))
	send(taskProgressDesc, float64(t.Percent)/100)
	send(taskFailedDesc, boolValue(t.Failed()))
	if t.Failed() {
		c.target.logTaskFailure(c.log(), t)
	}
	if t.Warning != "" {
		c.target.logTaskWarning(c.log(), t)
	}
}

// collectHistory sends the stored-backup history: the success and duration
// of the last completed call (none while the first one runs), and what the
// last successful call listed.
func collectHistory(send sendFunc, interval time.Duration, h historyState) {
	send(historyIntervalDesc, interval.Seconds())
	if h.last != nil {
		sendCollector(send, "history", h.last.err, h.last.duration)
	}
	if s := h.stored; s != nil {
		send(historyBackupsDesc, float64(s.Backups))
		if !s.Newest.IsZero() {
			send(historyLatestDesc, unixSeconds(s.Newest))
			send(historyOldestDesc, unixSeconds(s.Oldest))
		}
		send(historyRefreshDesc, unixSeconds(s.fetched))
	}
}

// unixSeconds is t in Unix seconds; unlike UnixNano it does not overflow
// outside the years 1678 to 2262.
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}
