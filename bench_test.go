package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
	"github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

// The benchmarks below measure whole scrapes as Prometheus makes them: a
// GET of the exporter over a kept-alive loopback connection, which calls an
// in-process fake portal answering after benchLatency. Compare with
//
//	go test -run '^$' -bench Scrape -benchmem -count 6 . | tee bench.txt
//	benchstat -col /impl bench.txt
//
// cpu-ns/op is the CPU time (user and system, getrusage) of the whole test
// process per scrape: the scraper, the exporter and the fake portal alike,
// so only differences between impls are the exporter's. allocs/op and B/op
// count the whole process too. latency-ns/op is the mean time from sending
// a scrape to having read its body; sec/op is wall time over concurrent
// scrapes. bytes/op is the body received per scrape (compressed for gzip)
// and upstream-calls/op the calls of getbackupschedule that reached the
// fake per scrape.
const (
	benchLatency = 20 * time.Millisecond
	// benchConcurrency is how many scrapes run at once in conc=64 and in
	// BenchmarkConcurrentScrapes.
	benchConcurrency = 64
	// benchScrapeTimeout is sent as X-Prometheus-Scrape-Timeout-Seconds.
	benchScrapeTimeout = "10"
)

// prometheusAccept is the Accept header of Prometheus 3 with its default
// scrape protocols: the exporter answers it with OpenMetrics.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
	"application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3," +
	"text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// benchImpl is one way of serving a scrape.
type benchImpl struct {
	name string
	// gzip sends Accept-Encoding: gzip (as Prometheus does by default) and
	// expects a compressed answer.
	gzip bool
	// handler serves /metrics/<i> for i below targets, each a portal of
	// its own (all on the one fake).
	handler func(b *testing.B, p *benchPortal, targets int) http.Handler
}

var (
	implExporter = benchImpl{name: "exporter", handler: func(b *testing.B, p *benchPortal, targets int) http.Handler {
		return exporterHandler(b, p, targets, false, false)
	}}
	implExporterGzip = benchImpl{name: "exporter-gzip", gzip: true, handler: func(b *testing.B, p *benchPortal, targets int) http.Handler {
		return exporterHandler(b, p, targets, true, false)
	}}
	implExporterKeyFile = benchImpl{name: "exporter-keyfile", handler: func(b *testing.B, p *benchPortal, targets int) http.Handler {
		return exporterHandler(b, p, targets, false, true)
	}}
	implMinimal = benchImpl{name: "minimal", handler: func(b *testing.B, p *benchPortal, _ int) http.Handler {
		return minimalHandler(b, p)
	}}
)

// benchLoad is how BenchmarkScrape scrapes: conc scrapes at a time, spread
// over targets portals.
type benchLoad struct{ conc, targets int }

// BenchmarkScrape compares, side by side against a fake portal answering
// after 20 ms, the exporter (impl=exporter: newScrapeHandler(...).serve,
// self-metrics off, progress off, history off, time zone UTC so no settings
// call, the key from an environment variable), the same with compression
// on (impl=exporter-gzip), the same with the key read from its file for
// every call (impl=exporter-keyfile), and the least any exporter must do in
// its place (impl=minimal: one GET of getbackupschedule with a fixed key
// over a kept-alive connection, decode the JSON, write the same gauges by
// hand, in OpenMetrics as the scraper asks). impl=exporter and impl=minimal
// do the same work.
//
// Three loads, each a row of benchstat -col /impl:
//
//   - conc=1/targets=1: one scrape at a time, as one Prometheus scraping one
//     portal; the process falls idle during each 20 ms wait, so waking up
//     weighs on cpu-ns/op and few scrapes are measured: it is noisy.
//   - conc=16/targets=16: 16 scrapers back to back, each scraping a portal
//     of its own (16 targets with their own clients, on the one fake), so
//     that no call can be shared: every scrape of every impl makes exactly
//     one upstream call (upstream-calls/op 1), and cpu-ns/op compares like
//     with like. This is the row for the CPU ratio.
//   - conc=64/targets=1: 64 scrapers back to back on one portal, as many
//     Prometheus servers would: the exporter's client shares the calls in
//     flight (upstream-calls/op far below 1) while impl=minimal makes one
//     call per scrape, so its CPU includes more upstream work, the fake's
//     included.
//
// Every run has a fake of its own: the fake records every Authorization
// header it receives, and that growing heap would weigh on the garbage
// collections of the runs after it.
func BenchmarkScrape(b *testing.B) {
	for _, load := range []benchLoad{{1, 1}, {16, 16}, {benchConcurrency, 1}} {
		for _, impl := range []benchImpl{implExporter, implExporterGzip, implExporterKeyFile, implMinimal} {
			b.Run(fmt.Sprintf("impl=%s/conc=%d/targets=%d", impl.name, load.conc, load.targets), func(b *testing.B) {
				benchScrapes(b, newBenchPortal(b), impl, load)
			})
		}
	}
}

// BenchmarkConcurrentScrapes fires bursts of 64 simultaneous scrapes at one
// exporter and counts the calls that reach the fake portal: the exporter's
// client shares calls in flight, so upstream-calls/scrape should be far
// below 1 (target <= 0.2); impl=minimal, which shares nothing, is 1. One op
// is one burst; cpu-ns/scrape is the process CPU per scrape.
func BenchmarkConcurrentScrapes(b *testing.B) {
	for _, impl := range []benchImpl{implExporter, implMinimal} {
		b.Run(fmt.Sprintf("impl=%s/burst=%d", impl.name, benchConcurrency), func(b *testing.B) {
			portal := newBenchPortal(b)
			s := newBenchScraper(b, portal, impl, benchLoad{benchConcurrency, 1})
			calls := portal.fake.Requests(docspacetest.PathSchedule)
			b.ReportAllocs()
			runtime.GC()
			cpu := docspacetest.ProcessCPU(b)
			for b.Loop() {
				var wg sync.WaitGroup
				for range benchConcurrency {
					wg.Go(func() { s.scrape(b, 0) })
				}
				wg.Wait()
			}
			scrapes := float64(b.N * benchConcurrency)
			b.ReportMetric(float64(docspacetest.ProcessCPU(b)-cpu)/scrapes, "cpu-ns/scrape")
			b.ReportMetric(float64(portal.fake.Requests(docspacetest.PathSchedule)-calls)/scrapes, "upstream-calls/scrape")
			b.ReportMetric(float64(s.latency.Load())/scrapes, "latency-ns/scrape")
		})
	}
}

// benchScrapes scrapes impl b.N times as load says. Scraper goroutine i
// scrapes target i modulo load.targets.
func benchScrapes(b *testing.B, portal *benchPortal, impl benchImpl, load benchLoad) {
	s := newBenchScraper(b, portal, impl, load)
	calls := portal.fake.Requests(docspacetest.PathSchedule)
	b.ReportAllocs()
	// Each run starts from a fresh heap, not amid the setup's garbage.
	runtime.GC()
	var cpu time.Duration
	if load.conc == 1 {
		cpu = docspacetest.ProcessCPU(b)
		for b.Loop() {
			s.scrape(b, 0)
		}
	} else {
		// RunParallel runs parallelism x GOMAXPROCS goroutines.
		procs := runtime.GOMAXPROCS(0)
		parallelism := (load.conc + procs - 1) / procs
		if parallelism*procs != load.conc {
			b.Logf("GOMAXPROCS=%d: %d scrapers instead of %d", procs, parallelism*procs, load.conc)
		}
		b.SetParallelism(parallelism)
		var next atomic.Int64
		b.ResetTimer()
		cpu = docspacetest.ProcessCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			target := int(next.Add(1)-1) % load.targets
			for pb.Next() {
				s.scrape(b, target)
			}
		})
	}
	cpu = docspacetest.ProcessCPU(b) - cpu
	n := float64(b.N)
	b.ReportMetric(float64(cpu)/n, "cpu-ns/op")
	b.ReportMetric(float64(s.latency.Load())/n, "latency-ns/op")
	b.ReportMetric(float64(s.bytes.Load())/n, "bytes/op")
	b.ReportMetric(float64(portal.fake.Requests(docspacetest.PathSchedule)-calls)/n, "upstream-calls/op")
}

// benchPortal is the fake portal the benchmarks scrape, answering after
// benchLatency, with the API key in a file as deployments have it. Making
// one also checks that impl=minimal serves what the exporter serves.
type benchPortal struct {
	fake    *docspacetest.Portal
	url     string
	keyFile string
	// help holds the "# HELP" and "# TYPE" lines of each metric family the
	// exporter serves, for impl=minimal to write the same.
	help map[string]string
}

func newBenchPortal(b *testing.B) *benchPortal {
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleS3)
	fake.SetLatency(benchLatency)
	server := httptest.NewServer(fake)
	b.Cleanup(func() { fake.Close(); server.Close() })
	p := &benchPortal{fake: fake, url: server.URL, keyFile: filepath.Join(b.TempDir(), "key")}
	if err := os.WriteFile(p.keyFile, []byte(testKey+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	p.help = exporterHelp(b, p)
	checkSameMetrics(b, p)
	return p
}

// exporterHandler serves targets portals on /metrics/<i>, each as the
// exporter serves --docspace.url with --web.disable-exporter-metrics,
// --no-collector.progress, --no-collector.count and
// --docspace.history-interval=0, the restore progress (asked only after a
// failed schedule call) off, and the time zone given so that no settings
// call is made: one upstream call a scrape.
// Each portal has its own client, so calls are shared only within one.
// gzip turns compression on, which the exporter leaves off.
func exporterHandler(b *testing.B, p *benchPortal, targets int, gzip, keyFile bool) http.Handler {
	b.Setenv("DSX_BENCH_KEY", testKey)
	all := make([]*collector.Portal, targets)
	for i := range all {
		settings := config.Portal{Name: fmt.Sprint("bench-", i), URL: p.url, APIKeyEnv: "DSX_BENCH_KEY", Timezone: "UTC"}
		if keyFile {
			settings.APIKeyEnv, settings.APIKeyFile = "", p.keyFile
		}
		t, err := buildTarget(settings, testDefaults, testOptions(collector.Options{Off: map[string]bool{"progress": true, "count": true, "restore": true}}))
		if err != nil {
			b.Fatal(err)
		}
		all[i] = t
	}
	s := newScrapeHandler(slog.New(slog.DiscardHandler), 500*time.Millisecond, nil)
	if gzip {
		compressing := *s
		compressing.opts.DisableCompression = false
		s = &compressing
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/metrics/"))
		if err != nil || i < 0 || i >= len(all) {
			http.NotFound(w, r)
			return
		}
		s.serve(w, r, all[i], nil)
	})
}

// minimalHandler is the least an exporter must do for a scrape: one GET of
// the schedule with Bearer auth (a key fixed at start, as the exporter's
// from an environment variable) over a kept-alive connection, decode the
// JSON, and write the exporter's gauges (HELP and TYPE included) by hand,
// in OpenMetrics when the scraper asks for it as Prometheus does, else in
// the text format. It serves every path alike, and shares no call.
func minimalHandler(b *testing.B, p *benchPortal) http.Handler {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 2 * benchConcurrency
	transport.MaxIdleConnsPerHost = 2 * benchConcurrency
	hc := &http.Client{Transport: transport}
	b.Cleanup(hc.CloseIdleConnections)
	auth := "Bearer " + testKey
	url := p.url + docspacetest.PathSchedule
	periods := []string{"daily", "weekly", "monthly"}
	storageTypes := []string{"documents", "thirdparty_documents", "custom_cloud", "local", "data_store", "thirdparty_consumer"}
	label := func(names []string, i int) string {
		if i < 0 || i >= len(names) {
			return "unknown"
		}
		return names[i]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var env struct {
			Response *struct {
				StorageType int `json:"storageType"`
				CronParams  struct {
					Period schedule.Period `json:"period"`
					Hour   int             `json:"hour"`
					Day    int             `json:"day"`
				} `json:"cronParams"`
				BackupsStored  int    `json:"backupsStored"`
				LastBackupTime string `json:"lastBackupTime"`
				Dump           bool   `json:"dump"`
			} `json:"response"`
			Status int `json:"status"`
		}
		status, up := 0, false
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, url, nil)
		if err == nil {
			req.Header.Set("Authorization", auth)
			var resp *http.Response
			if resp, err = hc.Do(req); err == nil {
				status = resp.StatusCode
				err = json.NewDecoder(resp.Body).Decode(&env)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				up = err == nil && status == http.StatusOK && env.Status == 0 && env.Response != nil
			}
		}
		callDuration := time.Since(start).Seconds()

		buf := make([]byte, 0, 4096)
		gauge := func(name, labels string, v float64) {
			buf = append(buf, p.help[name]...)
			buf = append(buf, name...)
			buf = append(buf, labels...)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
			buf = append(buf, '\n')
		}
		b2f := func(v bool) float64 {
			if v {
				return 1
			}
			return 0
		}
		gauge("docspace_up", "", b2f(up))
		gauge("docspace_api_status_code", "", float64(status))
		gauge("docspace_scrape_duration_seconds", "", callDuration)
		gauge("docspace_collector_success", `{collector="schedule"}`, b2f(up))
		gauge("docspace_collector_duration_seconds", `{collector="schedule"}`, callDuration)
		if up {
			s := env.Response
			last, _ := time.Parse("2006-01-02T15:04:05", s.LastBackupTime)
			gauge("docspace_backup_schedule_configured", "", 1)
			gauge("docspace_backup_schedule_backups_stored", "", float64(s.BackupsStored))
			gauge("docspace_backup_schedule_dump_enabled", "", b2f(s.Dump))
			gauge("docspace_backup_schedule_period", "", float64(s.CronParams.Period))
			gauge("docspace_backup_schedule_hour", "", float64(s.CronParams.Hour))
			gauge("docspace_backup_schedule_day", "", float64(s.CronParams.Day))
			gauge("docspace_backup_schedule_info", `{period="`+label(periods, int(s.CronParams.Period))+
				`",storage_type="`+label(storageTypes, s.StorageType)+`"}`, 1)
			gauge("docspace_backup_last_timestamp_seconds", "", float64(last.UnixNano())/1e9)
			cron := schedule.Cron{Period: s.CronParams.Period, Hour: s.CronParams.Hour, Day: s.CronParams.Day}
			if next, interval, err := schedule.Next(cron, last, time.Now(), time.UTC); err == nil {
				gauge("docspace_backup_schedule_next_timestamp_seconds", "", float64(next.UnixNano())/1e9)
				gauge("docspace_backup_schedule_interval_seconds", "", interval.Seconds())
			}
		}
		if strings.Contains(r.Header.Get("Accept"), "application/openmetrics-text") {
			buf = append(buf, "# EOF\n"...)
			w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		}
		_, _ = w.Write(buf)
	})
}

// exporterHelp scrapes the exporter once in the text format and returns the
// "# HELP" and "# TYPE" lines of each family, by family name.
func exporterHelp(b *testing.B, p *benchPortal) map[string]string {
	body := scrapeText(b, exporterHandler(b, p, 1, false, false))
	help := make(map[string]string)
	for line := range strings.Lines(body) {
		for _, prefix := range []string{"# HELP ", "# TYPE "} {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				name, _, _ := strings.Cut(rest, " ")
				help[name] += line
			}
		}
	}
	return help
}

// checkSameMetrics fails unless impl=minimal serves the same series, HELP
// and TYPE lines as the exporter, in the text format.
func checkSameMetrics(b *testing.B, p *benchPortal) {
	structure := func(body string) []string {
		var lines []string
		for line := range strings.Lines(body) {
			if !strings.HasPrefix(line, "#") {
				line, _, _ = strings.Cut(line, " ")
				if i := strings.LastIndex(line, "}"); i >= 0 {
					line = line[:i+1]
				}
			}
			lines = append(lines, strings.TrimSpace(line))
		}
		slices.Sort(lines)
		return lines
	}
	exporter := structure(scrapeText(b, exporterHandler(b, p, 1, false, false)))
	minimal := structure(scrapeText(b, minimalHandler(b, p)))
	if !slices.Equal(exporter, minimal) {
		b.Fatalf("impl=minimal does not serve what the exporter serves:\nexporter:\n%s\nminimal:\n%s",
			strings.Join(exporter, "\n"), strings.Join(minimal, "\n"))
	}
}

// scrapeText scrapes h once in the text format.
func scrapeText(b *testing.B, h http.Handler) string {
	r := httptest.NewRequest(http.MethodGet, "/metrics/0", nil)
	r.Header.Set("Accept", "text/plain;version=0.0.4")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "\ndocspace_up 1\n") {
		b.Fatalf("HTTP %d: %s", w.Code, body)
	}
	return body
}

// benchScraper scrapes one impl served on loopback, as Prometheus does.
type benchScraper struct {
	urls   []string // by target
	gzip   bool
	client *http.Client
	bufs   sync.Pool
	// gunzips counts gzip answers, one in gzipCheckEvery of which is
	// decompressed and checked.
	gunzips atomic.Int64
	latency atomic.Int64 // ns, summed over the scrapes
	bytes   atomic.Int64 // body bytes received, summed
}

// gzipCheckEvery: decompressing is Prometheus' cost, not the exporter's, so
// only one gzip answer in this many is decompressed and checked.
const gzipCheckEvery = 16

// newBenchScraper serves impl on loopback and returns a scraper of it with
// load.conc connections open, warmed up and checked.
func newBenchScraper(b *testing.B, portal *benchPortal, impl benchImpl, load benchLoad) *benchScraper {
	conc := load.conc
	server := httptest.NewServer(impl.handler(b, portal, load.targets))
	b.Cleanup(server.Close)
	transport := &http.Transport{
		// Accept-Encoding is set by hand for gzip, and the body then read
		// as it came on the wire.
		DisableCompression:  true,
		MaxIdleConns:        2 * conc,
		MaxIdleConnsPerHost: 2 * conc,
		IdleConnTimeout:     time.Minute,
	}
	s := &benchScraper{gzip: impl.gzip, client: &http.Client{Transport: transport}}
	for i := range load.targets {
		s.urls = append(s.urls, fmt.Sprintf("%s/metrics/%d", server.URL, i))
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	b.Cleanup(s.client.CloseIdleConnections)
	for range 2 {
		var wg sync.WaitGroup
		for i := range conc {
			wg.Go(func() { s.scrape(b, i%load.targets) })
		}
		wg.Wait()
	}
	s.latency.Store(0)
	s.bytes.Store(0)
	return s
}

// scrape makes one scrape of target and checks that it reports the portal
// up.
func (s *benchScraper) scrape(b *testing.B, target int) {
	req, err := http.NewRequest(http.MethodGet, s.urls[target], nil)
	if err != nil {
		b.Error(err)
		return
	}
	req.Header.Set("Accept", prometheusAccept)
	req.Header.Set(scrapeTimeoutHeader, benchScrapeTimeout)
	if s.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(buf)
	buf.Reset()
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	s.latency.Add(int64(time.Since(start)))
	s.bytes.Add(int64(buf.Len()))
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Errorf("HTTP %d, %v: %s", resp.StatusCode, err, buf)
		return
	}
	body := buf.Bytes()
	if s.gzip {
		if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" {
			b.Errorf("Content-Encoding %q, want gzip", enc)
			return
		}
		if s.gunzips.Add(1)%gzipCheckEvery != 1 {
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			b.Errorf("gunzip: %v", err)
			return
		}
	}
	// OpenMetrics writes 1.0, the text format 1.
	if !bytes.Contains(body, []byte("\ndocspace_up 1\n")) && !bytes.Contains(body, []byte("\ndocspace_up 1.0\n")) {
		b.Errorf("the portal is not up: %s", body)
	}
}
