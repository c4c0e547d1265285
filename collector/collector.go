// Package collector turns the answers of a DocSpace portal into Prometheus
// metrics. Each DocSpace call is an endpoint, one file each (schedule.go,
// progress.go, timezone.go, history.go), listed in the endpoints table: a
// scrape makes the calls of the table at once, then turns each answer into
// samples. What lives between scrapes, and across reloads, is the portal's
// Memory (memory.go): its time zone, its stored-backup history, its
// Retry-After wait and what the log last said about it.
package collector

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// endpoint is one DocSpace call of a scrape and the metrics made of its
// answer.
type endpoint struct {
	// name is the collector label and the --collector.<name> switch; call
	// names it in the log.
	name, call, path string
	// flag is the help of its switch, on by default; "" for none.
	flag string
	// on tells whether a portal makes the call (nil: every portal); off is
	// the debug line of one that does not (nil: "the collector is off").
	on  func(p *Portal) bool
	off func(p *Portal) (msg string, attrs []any)
	// fetch makes the call, or answers from the portal's Memory.
	fetch func(s *scrape) answer
	// after, when set and true for the scrape, makes the endpoint fetch
	// once the other calls are answered, whose answers it reads
	// (s.answer, s.location).
	after func(s *scrape) bool
	// collect sends the samples of the answer; nil for none.
	collect func(s *scrape, a answer)
	// cure, when set, ends the endpoint's backoff after a failure that a
	// fix cures (see curable), at the scrape where the portal works again;
	// it returns the debug line that replaces the stale answer's, or "".
	cure func(s *scrape, a answer) string
}

// endpoints are the calls of a scrape, in the order of the log. The first,
// the backup schedule, decides docspace_up.
var endpoints = []*endpoint{scheduleEndpoint, progressEndpoint, settingsEndpoint, historyEndpoint, countEndpoint, restoreEndpoint}

// answer is what one endpoint brought back to a scrape.
type answer struct {
	value    any
	err      error
	duration time.Duration // of the call; 0 when answered from memory
	// failed: the scrape lacks what the call brings; the scrape's failed
	// calls are logged together.
	failed bool
	// pending: no call has completed yet, so no docspace_collector_* samples.
	pending bool
	// report, when set, logs the answer's failure, which the scrape logs
	// with its own calls' when they failed alike.
	report func(*slog.Logger)
	// note, when set, is the debug line of an answer from memory.
	note  string
	attrs []any
}

// timed makes a call and records its answer and duration.
func timed[T any](call func() (T, error)) answer {
	start := time.Now()
	v, err := call()
	return answer{value: v, err: err, duration: time.Since(start), failed: err != nil}
}

// curable tells whether err is of a kind that the operator's fix cures at
// once (the key, the URL, TLS, a permission, a payment): once the portal
// works again, such a failure of another call is not waited out.
func curable(err error) bool {
	switch kind, _ := errorKind(err); kind {
	case client.KindUnauthorized, client.KindForbidden, client.KindPaymentRequired, client.KindTLS, client.KindNotFound,
		client.KindKey, client.KindRedirect, client.KindNotJSON, client.KindNetwork:
		return true
	}
	return false
}

// Switch is a --collector.<name> flag, on by default.
type Switch struct{ Name, Help string }

// Switches returns the --collector.<name> flags of the endpoints table.
func Switches() []Switch {
	var s []Switch
	for _, e := range endpoints {
		if e.flag != "" {
			s = append(s, Switch{Name: e.name, Help: e.flag})
		}
	}
	return s
}

// Options are the collector settings shared by every portal.
type Options struct {
	Off            map[string]bool // the endpoints whose --collector.<name> switch is off
	UserAgent      string
	HistoryTimeout time.Duration // bounds one call of the stored-backup history
	// Logger, when set, gets the debug line of a call that used the last
	// good key because the key file was being rewritten.
	Logger *slog.Logger
	Pool   *client.Pool // the connections kept alive between scrapes
}

// Portal is one configured DocSpace portal, ready to be scraped: its
// configuration and API client, rebuilt by each reload and never changed,
// and its Memory, which outlives them.
type Portal struct {
	config config.Portal
	client *client.Client
	memory *Memory
	// endpoints is the endpoints table; calls tells which the portal makes.
	endpoints []*endpoint
	calls     []bool
	// location is the configured time zone; nil when the settings call
	// reads it.
	location       *time.Location
	historyTimeout time.Duration
}

// NewPortal builds the portal p, with m, what the exporter remembers of it.
// It reads the key file (or variable), so that a missing or empty key is
// reported now, and the CA file. p must have passed p.Check; every error
// is located with p.Errorf.
func NewPortal(p config.Portal, m *Memory, o Options) (*Portal, error) {
	var (
		errs []error
		key  client.KeySource
	)
	switch {
	case p.APIKeyFile != "":
		var kept func(string)
		if o.Logger != nil {
			kept = func(reason string) { o.Logger.Debug(reason, "portal", p.Name, "configured_at", p.Source()) }
		}
		k, err := client.NewFileKey(p.APIKeyFile, kept)
		if err != nil {
			errs = append(errs, p.Errorf(config.FieldAPIKeyFile, "%w", err))
		}
		key = k
	case p.APIKeyEnv != "":
		v := os.Getenv(p.APIKeyEnv)
		if strings.TrimSpace(v) == "" {
			errs = append(errs, p.Errorf(config.FieldAPIKeyEnv, "the environment variable %s is unset or empty: put the API key in it", p.APIKeyEnv))
		} else if _, err := client.ParseKey("the environment variable "+p.APIKeyEnv, []byte(v)); err != nil {
			errs = append(errs, p.Errorf(config.FieldAPIKeyEnv, "%w", err))
		}
		key = client.StaticKey(v)
	}
	tls := client.TLSConfig{InsecureSkipVerify: p.TLS.InsecureSkipVerify}
	if p.TLS.CAFile != "" {
		roots, err := client.LoadCA(p.TLS.CAFile)
		if err != nil {
			errs = append(errs, p.Errorf(config.FieldCAFile, "%w", err))
		}
		tls.RootCAs = roots
	}
	location, err := p.Location()
	if err != nil {
		errs = append(errs, p.Errorf(config.FieldTimezone, "%w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c, err := client.New(client.Config{URL: p.URL, Key: key, UserAgent: o.UserAgent, Pool: o.Pool, TLS: tls, CAKey: p.Key(config.FieldCAFile), RetryAfter: &m.retryAfter})
	if err != nil {
		return nil, p.Errorf("", "%w", err)
	}
	portal := &Portal{config: p, client: c, memory: m, endpoints: endpoints, location: location, historyTimeout: o.HistoryTimeout}
	for _, e := range endpoints {
		portal.calls = append(portal.calls, !o.Off[e.name] && (e.on == nil || e.on(portal)))
	}
	return portal, nil
}

// Summary is what a scrape found, in short, for the landing page.
type Summary struct {
	At time.Time // of the scrape; zero before the first
	Up bool
	// NextBackup, LastBackup and Newest are the next and the last
	// scheduled backup and the newest stored one; zero when unknown.
	NextBackup, LastBackup, Newest time.Time
}

// LastScrape returns what the portal's last scrape found.
func (p *Portal) LastScrape() Summary {
	p.memory.mu.Lock()
	defer p.memory.mu.Unlock()
	return p.memory.last
}

// Config returns the portal's configuration.
func (p *Portal) Config() config.Portal { return p.config }

// dumpQuery is the backup endpoints' query: Dump=true for the dump-based
// schedule, nothing (DocSpace's default) otherwise.
func (p *Portal) dumpQuery() string {
	if p.config.Dump {
		return "Dump=true"
	}
	return ""
}

// scrape is one scrape of a portal.
type scrape struct {
	ctx     context.Context
	portal  *Portal
	logger  *slog.Logger // use log(), which names the portal
	answers []answer     // one per endpoint
	metrics []prometheus.Metric
	summary Summary
	// zone is the portal's time zone known when the scrape began: the
	// configured one, or the one last read from its settings; nil if none.
	zone *time.Location
}

// Scrape makes one scrape of the portal within ctx's deadline: the calls
// of the endpoints table, at once, then their metrics. It is the one way to
// scrape, for /metrics, /probe and the debug page: the calls are made
// before a registry gathers, as blackbox_exporter probes.
func (p *Portal) Scrape(ctx context.Context, logger *slog.Logger) *Metrics {
	s := &scrape{ctx: ctx, portal: p, logger: logger, answers: make([]answer, len(p.endpoints)),
		metrics: make([]prometheus.Metric, 0, len(allDescs)+4)} // a few families have several series
	start := time.Now()
	s.zone = p.location
	if s.zone == nil {
		s.zone = p.memory.zone.known()
	}
	for _, after := range []bool{false, true} {
		var wg sync.WaitGroup
		for i, e := range p.endpoints {
			if p.calls[i] && (e.after != nil && e.after(s)) == after {
				wg.Go(func() { s.answers[i] = e.fetch(s) })
			}
		}
		wg.Wait()
	}
	first := s.answers[0]
	if first.err == nil && p.memory.failing(subjectCalls) {
		for i, e := range p.endpoints {
			if !p.calls[i] || e.cure == nil {
				continue
			}
			if note := e.cure(s, s.answers[i]); note != "" {
				a := &s.answers[i]
				a.failed, a.note, a.attrs = false, note, nil
			}
		}
	}
	s.logCalls()

	s.send(upDesc, boolValue(first.err == nil))
	s.send(statusCodeDesc, float64(client.StatusCode(first.err)))
	s.send(durationDesc, time.Since(start).Seconds())
	var failures, reported []failure
	for i, e := range p.endpoints {
		a := s.answers[i]
		if !p.calls[i] {
			continue
		}
		if !a.pending {
			s.send(collectorSuccessDesc, boolValue(a.err == nil), e.name)
			s.send(collectorDurationDesc, a.duration.Seconds(), e.name)
		}
		if a.report != nil {
			reported = append(reported, failure{e.call, a.err, a.report})
		}
		if a.failed {
			failures = append(failures, failure{call: e.call, err: a.err})
		} else if e.collect != nil {
			e.collect(s, a)
		}
	}
	s.logFailures(failures, reported)
	s.summary.At, s.summary.Up = p.memory.now(), first.err == nil
	p.memory.mu.Lock()
	p.memory.last = s.summary
	p.memory.mu.Unlock()
	return &Metrics{s.metrics, s.summary}
}

// log returns the logger naming the portal; built on demand, as most
// scrapes log nothing.
func (s *scrape) log() *slog.Logger {
	return s.logger.With("portal", s.portal.config.Name, "configured_at", s.portal.config.Source())
}

// send adds one gauge sample to the scrape's metrics.
func (s *scrape) send(d *prometheus.Desc, v float64, labels ...string) {
	s.metrics = append(s.metrics, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
}

// answer returns the scrape's answer of e.
func (s *scrape) answer(e *endpoint) answer {
	if i := slices.Index(s.portal.endpoints, e); i >= 0 {
		return s.answers[i]
	}
	return answer{}
}

// Metrics are the metrics of one scrape, to register for one gathering,
// and their Summary.
type Metrics struct {
	metrics []prometheus.Metric
	Summary Summary
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(descs chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		descs <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(metrics chan<- prometheus.Metric) {
	for _, metric := range m.metrics {
		metrics <- metric
	}
}
