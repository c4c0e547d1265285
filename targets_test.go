package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
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
	testutil.CollectAndCount(collector.New(ctx, target, logger, nil))
}

// waitFor waits up to 5 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A reload that replaces a portal lets go of its old connections, those
// idle at once and those in use when their calls end; an unchanged portal
// keeps its own.
func TestReloadLetsGoOfReplacedPortals(t *testing.T) {
	changed, kept := newCountedPortal(t), newCountedPortal(t)
	keyFile := writeFile(t, "key", testKey)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := collector.Options{Progress: true}
	v1 := fleetConfig(t, keyFile, "changed", changed.url, "10s", "kept", kept.url, "10s")
	v2 := fleetConfig(t, keyFile, "changed", changed.url, "9s", "kept", kept.url, "10s")

	f1, err := newFleet(v1, nil, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "changed", logger)
	scrapeTarget(t, f1, "kept", logger)
	if changed.open() == 0 || kept.open() == 0 {
		t.Fatalf("no connection kept alive after a scrape: %d and %d", changed.open(), kept.open())
	}
	keptConns := kept.open()

	f2, err := newFleet(v2, f1, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f2.lookup("changed") == f1.lookup("changed") || f2.lookup("kept") != f1.lookup("kept") {
		t.Fatal("the reload did not rebuild exactly the changed portal")
	}
	waitFor(t, "the replaced portal's idle connections to close", func() bool { return changed.open() == 0 })
	if n := kept.open(); n != keptConns {
		t.Errorf("the unchanged portal has %d connections open, want its %d", n, keptConns)
	}

	// A scrape in flight while its portal is replaced ends normally, and
	// then its connections close.
	scrapeTarget(t, f2, "changed", logger)
	changed.fake.SetLatency(300 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := collector.New(ctx, f2.lookup("changed"), logger, nil)
		if n := testutil.CollectAndCount(c, "docspace_up"); n != 1 {
			t.Errorf("the scrape in flight gave %d docspace_up", n)
		}
	}()
	waitFor(t, "the scrape to reach the portal", func() bool { return changed.fake.Requests(docspacetest.PathSchedule) == 3 })
	if _, err := newFleet(v1, f2, 10*time.Second, opts); err != nil {
		t.Fatal(err)
	}
	<-done
	waitFor(t, "the connections of the scrape in flight to close", func() bool { return changed.open() == 0 })
}

// A rebuilt portal keeps what the old one learnt: a reload neither calls
// a portal that asked to wait nor logs its failure again.
func TestReloadKeepsWhatAPortalLearnt(t *testing.T) {
	p := newCountedPortal(t)
	p.fake.SetOverride(docspacetest.PathSchedule, docspacetest.RateLimited())
	p.fake.SetOverride(docspacetest.PathProgress, docspacetest.RateLimited())
	keyFile := writeFile(t, "key", testKey)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	opts := collector.Options{Progress: true}

	f1, err := newFleet(fleetConfig(t, keyFile, "main", p.url, "10s"), nil, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "main", logger)
	calls := p.fake.Requests(docspacetest.PathSchedule)
	if n := strings.Count(logs.String(), "DocSpace scrape failed"); n != 1 {
		t.Fatalf("the first scrape logged %d failures, want 1:\n%s", n, logs)
	}
	f2, err := newFleet(fleetConfig(t, keyFile, "main", p.url, "9s"), f1, 10*time.Second, opts)
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

// A reload builds a portal again when its CA file's content changed, even
// if nothing else of it did.
func TestReloadRereadsAChangedCAFile(t *testing.T) {
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
	opts := collector.Options{}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	f1, err := newFleet(cfg, nil, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "main", logger)
	if !strings.Contains(logs.String(), "does not sign the portal's certificate") {
		t.Fatalf("the wrong CA file was not reported:\n%s", logs)
	}
	if f2, err := newFleet(cfg, f1, 10*time.Second, opts); err != nil || f2.lookup("main") != f1.lookup("main") {
		t.Fatalf("a reload with nothing changed rebuilt the portal (%v)", err)
	}

	// The operator puts the right CA into the same file and reloads.
	writeConfig(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	f2, err := newFleet(cfg, f1, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f2.lookup("main") == f1.lookup("main") {
		t.Fatal("the reload kept the portal built with the old CA file")
	}
	scrapeTarget(t, f2, "main", logger)
	if !strings.Contains(logs.String(), "DocSpace scrape works again") {
		t.Errorf("the portal does not work with the new CA file:\n%s", logs)
	}
}

// A reload that changes only a portal's labels keeps its target; one that
// changes how it is scraped (its timeout) builds a new target that keeps
// the stored-backup history, so neither reads the history again before its
// interval has passed.
func TestReloadKeepsTheStoredBackupHistory(t *testing.T) {
	p := newCountedPortal(t)
	keyFile := writeFile(t, "key", testKey)
	opts := collector.Options{HistoryInterval: time.Hour, HistoryTimeout: time.Minute}
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
	f1, err := newFleet(parse("10s", "prod"), nil, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	scrapeTarget(t, f1, "main", logger)
	if n := p.fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Fatalf("the first scrape read the history %d times, want 1", n)
	}

	f2, err := newFleet(parse("10s", "staging"), f1, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f2.lookup("main") != f1.lookup("main") {
		t.Error("a reload that changed only a label rebuilt the portal")
	}
	f3, err := newFleet(parse("9s", "staging"), f2, 10*time.Second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f3.lookup("main") == f2.lookup("main") {
		t.Fatal("a reload that changed the timeout kept the old target")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := testutil.GatherAndCount(prometheusRegistry(t, collector.New(ctx, f3.lookup("main"), logger, nil)), "docspace_backup_history_backups")
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
