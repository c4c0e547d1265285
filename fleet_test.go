package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// countedPortal is a fake portal whose server counts its open connections.
type countedPortal struct {
	fake *docspacetest.Portal
	url  string
	open func() int
}

func newCountedPortal(t *testing.T) *countedPortal {
	t.Helper()
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleWeekly)
	srv := httptest.NewUnstartedServer(fake)
	open := docspacetest.CountConnections(srv)
	srv.Start()
	t.Cleanup(func() { fake.Close(); srv.Close() })
	return &countedPortal{fake: fake, url: srv.URL, open: open}
}

// fleetConfig is a configuration of the portals given as name, URL and
// timeout, in that order, with a fixed time zone.
func fleetConfig(t *testing.T, keyFile string, portals ...string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("portals:\n")
	for i := 0; i < len(portals); i += 3 {
		fmt.Fprintf(&b, "  - {name: %s, url: '%s', timeout: %s, api_key_file: '%s', timezone: UTC}\n",
			portals[i], portals[i+1], portals[i+2], keyFile)
	}
	cfg, err := config.Parse([]byte(b.String()), "portals.yml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scrapeTarget scrapes one portal of a fleet.
func scrapeTarget(t *testing.T, f *fleet, name string, logger *slog.Logger) {
	t.Helper()
	target := f.lookup(name)
	if target == nil {
		t.Fatalf("no portal %s", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	testutil.CollectAndCount(target.Scrape(ctx, logger))
}

// A reload builds every portal anew, and the new one uses the connections
// the old one left in the shared pool; a scrape in flight during a reload
// ends normally.
func TestReloadKeepsConnections(t *testing.T) {
	a, b := newCountedPortal(t), newCountedPortal(t)
	keyFile := writeFile(t, "key", testKey)
	logger := slog.New(slog.DiscardHandler)
	// One call a scrape, so one connection a portal.
	opts := testOptions(collector.Options{Off: map[string]bool{"progress": true}})
	v1 := fleetConfig(t, keyFile, "a", a.url, "10s", "b", b.url, "10s")
	v2 := fleetConfig(t, keyFile, "a", a.url, "9s", "b", b.url, "10s")

	f1, err := newFleet(v1, nil, testDefaults, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "a", logger)
	scrapeTarget(t, f1, "b", logger)
	opened := a.open() + b.open()
	f2, err := newFleet(v2, f1, testDefaults, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f2.lookup("a") == f1.lookup("a") || f2.lookup("a").Config().Timeout != 9*time.Second {
		t.Fatal("the reload did not build the portal anew")
	}
	scrapeTarget(t, f2, "a", logger)
	scrapeTarget(t, f2, "b", logger)
	if n := a.open() + b.open(); n != opened {
		t.Errorf("after the reload %d connections are open, want the %d of before: the new portals use them", n, opened)
	}

	a.fake.SetLatency(300 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n := testutil.CollectAndCount(f2.lookup("a").Scrape(ctx, logger), "docspace_up"); n != 1 {
			t.Errorf("the scrape in flight gave %d docspace_up", n)
		}
	}()
	docspacetest.WaitFor(t, "the scrape to reach the portal", func() bool { return a.fake.Requests(docspacetest.PathSchedule) == 3 })
	if _, err := newFleet(v1, f2, testDefaults, opts); err != nil {
		t.Fatal(err)
	}
	<-done
}

// A rebuilt portal keeps what the exporter remembers of it: a reload
// neither calls a portal that asked to wait nor logs its failure again.
func TestReloadKeepsWhatAPortalLearnt(t *testing.T) {
	p := newCountedPortal(t)
	p.fake.SetOverride(docspacetest.PathSchedule, docspacetest.RateLimited())
	p.fake.SetOverride(docspacetest.PathProgress, docspacetest.RateLimited())
	keyFile := writeFile(t, "key", testKey)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	opts := testOptions(collector.Options{})

	f1, err := newFleet(fleetConfig(t, keyFile, "main", p.url, "10s"), nil, testDefaults, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "main", logger)
	calls := p.fake.Requests(docspacetest.PathSchedule)
	if n := strings.Count(logs.String(), "DocSpace scrape failed"); n != 1 {
		t.Fatalf("the first scrape logged %d failures, want 1:\n%s", n, logs)
	}
	f2, err := newFleet(fleetConfig(t, keyFile, "main", p.url, "9s"), f1, testDefaults, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f2, "main", logger)
	if n := p.fake.Requests(docspacetest.PathSchedule); n != calls {
		t.Errorf("after the reload the portal was called again (%d calls, want %d) although it asked to wait", n, calls)
	}
	if n := strings.Count(logs.String(), "DocSpace scrape"); n != 1 {
		t.Errorf("after the reload the failure was logged again:\n%s", logs)
	}
}

// Each thing the exporter remembers of a portal survives a reload that
// builds the portal anew: its time zone, its stored-backup history, what
// the log said of its latest failed task, and of its calls (Retry-After is
// above). A reload that gives the portal another URL starts it afresh.
func TestReloadKeepsEachRememberedThing(t *testing.T) {
	p := newCountedPortal(t)
	p.fake.SetTimezone("Europe/Berlin")
	p.fake.SetProgress(docspacetest.ProgressFailed)
	other := newCountedPortal(t)
	other.fake.SetProgress(docspacetest.ProgressFailed)
	keyFile := writeFile(t, "key", testKey)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	opts := testOptions(collector.Options{HistoryTimeout: time.Minute})
	d := config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}
	parse := func(url, timeout string) *config.Config {
		t.Helper()
		cfg, err := config.Parse(fmt.Appendf(nil, "portals:\n  - {name: main, url: '%s', timeout: %s, api_key_file: '%s'}\n", url, timeout, keyFile), "portals.yml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	f, err := newFleet(parse(p.url, "10s"), nil, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f, "main", logger)
	for i, timeout := range []string{"9s", "8s"} {
		if f, err = newFleet(parse(p.url, timeout), f, d, opts); err != nil {
			t.Fatal(err)
		}
		scrapeTarget(t, f, "main", logger)
		for _, c := range []struct {
			what string
			got  int
		}{
			{"settings calls (the time zone)", p.fake.Requests(docspacetest.PathSettings)},
			{"history calls", p.fake.Requests(docspacetest.PathHistory)},
			{"log lines of the failed task", strings.Count(logs.String(), "the latest DocSpace backup task failed")},
		} {
			if c.got != 1 {
				t.Errorf("after reload %d: %d %s, want 1", i+1, c.got, c.what)
			}
		}
	}

	if f, err = newFleet(parse(other.url, "8s"), f, d, opts); err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f, "main", logger)
	if n := other.fake.Requests(docspacetest.PathSettings) + other.fake.Requests(docspacetest.PathHistory); n != 2 {
		t.Errorf("a portal moved to another URL made %d settings and history calls, want 2: it starts afresh", n)
	}
	if n := strings.Count(logs.String(), "the latest DocSpace backup task failed"); n != 2 {
		t.Errorf("a portal moved to another URL logged its failed task %d times in all, want 2", n)
	}
}

// A reload reads a portal's CA file again.
func TestReloadRereadsTheCAFile(t *testing.T) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleWeekly)
	srv := httptest.NewTLSServer(fake)
	t.Cleanup(func() { fake.Close(); srv.Close() })
	keyFile := writeFile(t, "key", testKey)
	wrongCA, _ := selfSignedCert(t)
	caFile := writeFile(t, "ca.pem", string(wrongCA))
	cfg, err := config.Parse(fmt.Appendf(nil, "portals:\n  - {name: main, url: '%s', api_key_file: '%s', timezone: UTC, tls: {ca_file: '%s'}}\n",
		srv.URL, keyFile, caFile), "portals.yml")
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(collector.Options{})
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	f1, err := newFleet(cfg, nil, testDefaults, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "main", logger)
	if !strings.Contains(logs.String(), "does not sign the portal's certificate") {
		t.Fatalf("the wrong CA file was not reported:\n%s", logs)
	}

	// The operator puts the right CA into the same file and reloads.
	writeConfig(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	f2, err := newFleet(cfg, f1, testDefaults, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f2, "main", logger)
	if !strings.Contains(logs.String(), "DocSpace scrape works again") {
		t.Errorf("the portal does not work with the new CA file:\n%s", logs)
	}
}

// A reload that changes a portal's labels or its timeout keeps its stored
// backup history, so the history is not read again before its interval
// has passed.
func TestReloadKeepsTheStoredBackupHistory(t *testing.T) {
	p := newCountedPortal(t)
	keyFile := writeFile(t, "key", testKey)
	opts := testOptions(collector.Options{HistoryTimeout: time.Minute})
	d := config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}
	parse := func(timeout, env string) *config.Config {
		t.Helper()
		cfg, err := config.Parse(fmt.Appendf(nil, "portals:\n  - {name: main, url: '%s', timeout: %s, api_key_file: '%s', timezone: UTC, labels: {env: %s}}\n",
			p.url, timeout, keyFile, env), "portals.yml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	logger := slog.New(slog.DiscardHandler)
	f1, err := newFleet(parse("10s", "prod"), nil, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "main", logger)
	if n := p.fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Fatalf("the first scrape read the history %d times, want 1", n)
	}
	f2, err := newFleet(parse("10s", "staging"), f1, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	f3, err := newFleet(parse("9s", "staging"), f2, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := testutil.GatherAndCount(prometheusRegistry(t, f3.lookup("main").Scrape(ctx, logger)), "docspace_backup_history_backups")
	if err != nil || n != 1 {
		t.Errorf("after the rebuild: %d docspace_backup_history_backups series (%v), want the kept one", n, err)
	}
	if n := p.fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("after two reloads the history was read %d times in all, want 1", n)
	}
}

// prometheusRegistry returns a registry holding c.
func prometheusRegistry(t *testing.T, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	r := prometheus.NewRegistry()
	r.MustRegister(c)
	return r
}

// A history call in flight belongs to what the exporter remembers of the
// portal: reloads while it hangs start no other call, and when it ends the
// rebuilt portal serves its answer.
func TestReloadKeepsTheHistoryCallInFlight(t *testing.T) {
	p := newCountedPortal(t)
	p.fake.SetHistory(docspacetest.HistoryWeekly...)
	p.fake.SetPathHang(docspacetest.PathHistory, true)
	keyFile := writeFile(t, "key", testKey)
	opts := testOptions(collector.Options{HistoryTimeout: time.Minute})
	d := config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}
	logger := slog.New(slog.DiscardHandler)
	// scrape tells whether a scrape serves a list of stored backups.
	scrape := func(f *fleet) bool {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		n, err := testutil.GatherAndCount(prometheusRegistry(t, f.lookup("main").Scrape(ctx, logger)), "docspace_backup_history_backups")
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	f, err := newFleet(fleetConfig(t, keyFile, "main", p.url, "10s"), nil, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrape(f) // its deadline passes: the call goes on in the background
	for i := range 8 {
		timeout := []string{"9s", "10s"}[i%2]
		if f, err = newFleet(fleetConfig(t, keyFile, "main", p.url, timeout), f, d, opts); err != nil {
			t.Fatal(err)
		}
		scrape(f)
	}
	if n := p.fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("8 reloads of a portal whose history call hangs made %d history calls, want 1", n)
	}
	p.fake.SetPathHang(docspacetest.PathHistory, false)
	docspacetest.WaitFor(t, "the rebuilt portal to serve the answer of the call", func() bool {
		return scrape(f)
	})
	if n := p.fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("after the call ended: %d history calls, want 1", n)
	}
}

// A reload reads every key file again: one that is gone fails the reload,
// even for a portal whose settings did not change, and the last good
// configuration stays in use.
func TestReloadChecksEveryKeyFile(t *testing.T) {
	p := newCountedPortal(t)
	keyFile := writeFile(t, "key", testKey)
	cfg := fleetConfig(t, keyFile, "main", p.url, "10s")
	f, err := newFleet(cfg, nil, testDefaults, testOptions(collector.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	_, err = newFleet(cfg, f, testDefaults, testOptions(collector.Options{}))
	if err == nil || !strings.Contains(err.Error(), "api_key_file: cannot read the API key file") {
		t.Errorf("a reload with the key file gone: %v, want an error naming api_key_file", err)
	}
}
