// Command loadtest puts a bounded load on one running docspace_exporter and
// measures what it costs that process. scripts/load.sh builds and starts
// everything it needs (the exporter and fake portals) and runs it.
//
// Two loads are offered:
//
//   - --mode=scrape: --concurrency workers scrape /metrics back to back
//     (closed loop) for --duration, as if many Prometheus servers scraped
//     one portal.
//   - --mode=probe: --targets portals portal-0001, portal-0002, ... are each
//     probed once every --interval through /probe?target=<name>, the probes
//     spread evenly over the interval by a ticker (open loop: a slow exporter
//     does not slow the load down), as one Prometheus scraping a fleet does.
//   - --mode=soak: the probe load for --duration (default 10m) against fake
//     portals of which some fail, while the configuration is flipped and
//     reloaded; see soak.go.
//
// With --fake-portal=ADDR (scrape mode), the load generator serves the
// exporter's portal itself: one fake DocSpace portal (internal/docspacetest)
// on ADDR, answering after --portal-latency and accepting the key of
// --key-file; start the exporter with --docspace.url=http://ADDR. The calls
// reaching it are counted, so that the calls per scrape show how well the
// exporter shares concurrent calls. --max-requests=640 --concurrency=64 is a
// burst of 640 scrapes, 64 at a time.
//
// A request is an error when it fails, answers other than 200, or its body
// lacks the line "docspace_up 1". While the load runs, the exporter's
// resident memory is read from /proc/<pid>/status every 100 ms, and once more
// right after the last answer; its CPU time is read from /proc/<pid>/stat
// before and after, so the load generator and the fake portals sharing the
// machine do not count. The run ends after --duration or --max-requests
// requests, whichever comes first.
//
// The results are printed, then one PASS or FAIL line per threshold given
// (--max-errors is always checked); the exit status is 1 when any fails.
// The thresholds count every request; in probe mode the latencies of the
// probes sent after the first interval, when every portal has been probed
// once, are shown too, apart. Only loopback exporters are accepted.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, which
// is 100 on every Linux architecture Go supports.
const userHZ = 100

// rssSampleInterval is how often the exporter's resident memory is read.
const rssSampleInterval = 100 * time.Millisecond

// The load modes.
const (
	modeScrape = "scrape"
	modeProbe  = "probe"
)

// upLine is the line a body must hold for the request to count as a success.
var upLine = []byte("\ndocspace_up 1\n")

type options struct {
	mode          string
	exporter      *url.URL
	pid           int
	duration      time.Duration
	concurrency   int
	targets       int
	interval      time.Duration
	maxRequests   int64
	timeout       time.Duration
	portalLatency time.Duration
	// portals and key, when set, make probe mode also call each probed
	// portal directly (schedule and progress at once, as the exporter
	// does), to measure the portals' own latency under the same load.
	portals *url.URL
	key     string
	// fake, when set, is the portal this process serves the exporter
	// (--fake-portal), whose calls are counted.
	fake *docspacetest.Portal
	// portalURLs, when set instead of portals, holds the URL of each
	// portal by name (fakedocspace --portals-file).
	portalURLs map[string]string
	// roots, when set, are the CAs of the portals' certificates (--ca-file).
	roots *x509.CertPool
	// tlsCounts, when set, is the fake's count of TLS connections
	// (fakedocspace's /-/tls), read before and after the run.
	tlsCounts *url.URL
}

// portalURL returns the URL of the portal called name, for the direct
// calls; false when none is known.
func (o *options) portalURL(name string) (string, bool) {
	if o.portalURLs != nil {
		u, ok := o.portalURLs[name]
		return u, ok
	}
	if o.portals != nil {
		return o.portals.String() + "/" + name, true
	}
	return "", false
}

type thresholds struct {
	maxErrors       int64
	maxRSSMiB       *float64 // nil when not checked
	maxCPUCoreRatio *float64
	maxP99Over      *time.Duration
	maxRSSAfterMiB  *float64
	maxUpstream     *float64 // schedule calls per request
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New("loadtest", "Bounded load test of one running docspace_exporter process.")
	var (
		o                      options
		exporter               string
		th                     thresholds
		rssSet, cpuSet, p99Set bool
		rssAfterSet, upSet     bool
		portals, keyFile       string
		fakePortal             string
		portalsFile, caFile    string
		tlsCountsURL           string
		maxRSS, maxCPU         float64
		maxRSSAfter, maxUp     float64
		maxP99Over             time.Duration
	)
	app.Flag("mode", "scrape: --concurrency workers scrape /metrics back to back; probe: --targets portals, each probed once every --interval.").
		Required().EnumVar(&o.mode, modeScrape, modeProbe, modeSoak)
	app.Flag("exporter", "Root URL of the exporter (loopback only).").Default("http://127.0.0.1:9977").StringVar(&exporter)
	app.Flag("pid", "Process id of the exporter, whose CPU time and memory are measured.").Required().IntVar(&o.pid)
	app.Flag("duration", "How long to load the exporter (default 30s for scrape, 3m for probe).").DurationVar(&o.duration)
	app.Flag("concurrency", "Scrape mode: how many workers scrape at once.").Default("50").IntVar(&o.concurrency)
	app.Flag("targets", "Probe mode: how many portals (portal-0001 ...) to probe.").Default("1000").IntVar(&o.targets)
	app.Flag("interval", "Probe mode: every portal is probed once per interval.").Default("15s").DurationVar(&o.interval)
	app.Flag("max-requests", "Hard cap on the requests sent; the run ends when it is reached.").Default("500000").Int64Var(&o.maxRequests)
	app.Flag("timeout", "Timeout of one request.").Default("10s").DurationVar(&o.timeout)
	app.Flag("portal-latency", "Latency of the fake portals, taken off p99 for --max-p99-over unless --portals is given.").Default("0s").DurationVar(&o.portalLatency)
	app.Flag("portals", "Probe mode: root URL of the fake portals (loopback only); each probed portal is also called directly, and the p99 of those calls is taken off the probes' p99 for --max-p99-over.").StringVar(&portals)
	app.Flag("portals-file", "Probe mode: like --portals, with each portal's URL read from this file of \"name URL\" lines (loopback only), as fakedocspace --portals-file writes it.").StringVar(&portalsFile)
	app.Flag("ca-file", "PEM file of the CA of the fake portals' certificates, for their direct calls over HTTPS (fakedocspace --tls.ca-cert-file).").StringVar(&caFile)
	app.Flag("tls-counts", "URL of fakedocspace's /-/tls (loopback only): the TLS connections and handshakes of the exporter during the run are counted, the direct calls' own taken off.").StringVar(&tlsCountsURL)
	app.Flag("key-file", "File with the key the fake portals accept, for --portals, --portals-file and --fake-portal.").StringVar(&keyFile)
	app.Flag("fake-portal", "Scrape mode: serve one fake DocSpace portal on this loopback address (host:port) during the run, answering after --portal-latency and accepting the key of --key-file, and count the calls the exporter makes to it (start the exporter with --docspace.url=http://host:port).").
		StringVar(&fakePortal)
	app.Flag("max-errors", "Most errors allowed.").Default("0").Int64Var(&th.maxErrors)
	app.Flag("max-rss-mib", "Most resident memory (peak) the exporter may use, in MiB; unchecked when not given.").
		IsSetByUser(&rssSet).Float64Var(&maxRSS)
	app.Flag("max-cpu-core-ratio", "Most CPU the exporter may use, as a fraction of one core (0.25 = 25%); unchecked when not given.").
		IsSetByUser(&cpuSet).Float64Var(&maxCPU)
	app.Flag("max-p99-over", "Most the p99 latency may exceed --portal-latency; unchecked when not given.").
		IsSetByUser(&p99Set).DurationVar(&maxP99Over)
	app.Flag("max-rss-after-mib", "Most resident memory the exporter may hold right after the last answer, in MiB; unchecked when not given.").
		IsSetByUser(&rssAfterSet).Float64Var(&maxRSSAfter)
	app.Flag("max-upstream-per-request", "With --fake-portal: most getbackupschedule calls per request; unchecked when not given.").
		IsSetByUser(&upSet).Float64Var(&maxUp)
	var soak soakOptions
	soak.flags(app)
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: error: %v, try --help\n", err)
		return 2
	}

	var err error
	if o.exporter, err = loopbackURL(exporter); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: error: --exporter: %v\n", err)
		return 2
	}
	if portalsFile != "" {
		if o.portalURLs, err = readPortalURLs(portalsFile); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: error: --portals-file: %v\n", err)
			return 2
		}
	}
	if portals != "" {
		if o.portals, err = loopbackURL(portals); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: error: --portals: %v\n", err)
			return 2
		}
	}
	if portals != "" || portalsFile != "" || fakePortal != "" {
		key, err := os.ReadFile(keyFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: error: --key-file: %v\n", err)
			return 2
		}
		o.key = strings.TrimSpace(string(key))
	}
	if tlsCountsURL != "" {
		if o.tlsCounts, err = loopbackURL(tlsCountsURL); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: error: --tls-counts: %v\n", err)
			return 2
		}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: error: --ca-file: %v\n", err)
			return 2
		}
		o.roots = x509.NewCertPool()
		o.roots.AppendCertsFromPEM(pem)
	}
	if o.duration == 0 {
		o.duration = map[string]time.Duration{modeScrape: 30 * time.Second, modeProbe: 3 * time.Minute}[o.mode]
	}
	switch {
	case o.duration < 0 || o.timeout <= 0 || o.maxRequests <= 0:
		err = errors.New("--duration, --timeout and --max-requests must be positive")
	case o.mode == modeScrape && o.concurrency <= 0:
		err = errors.New("--concurrency must be positive")
	case o.mode == modeProbe && (o.targets <= 0 || o.targets > 99999 || o.interval < time.Duration(o.targets)):
		err = errors.New("--targets must be 1 to 99999 and --interval at least 1ns per target")
	case fakePortal != "" && o.mode != modeScrape:
		err = errors.New("--fake-portal needs --mode=scrape")
	case upSet && fakePortal == "":
		err = errors.New("--max-upstream-per-request needs --fake-portal")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: error: %v\n", err)
		return 2
	}
	if rssSet {
		th.maxRSSMiB = &maxRSS
	}
	if cpuSet {
		th.maxCPUCoreRatio = &maxCPU
	}
	if p99Set {
		th.maxP99Over = &maxP99Over
	}
	if rssAfterSet {
		th.maxRSSAfterMiB = &maxRSSAfter
	}
	if upSet {
		th.maxUpstream = &maxUp
	}
	if fakePortal != "" {
		stop, err := serveFake(&o, fakePortal)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: error: --fake-portal: %v\n", err)
			return 2
		}
		defer stop()
	}

	if o.mode == modeSoak {
		return runSoak(o, soak, th)
	}
	res, err := measure(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: error: %v\n", err)
		return 1
	}
	res.print(os.Stdout, o)
	if !res.check(os.Stdout, o, th) {
		return 1
	}
	return 0
}

// serveFake serves one fake portal on the loopback address addr, answering
// after o.portalLatency and accepting o.key, and sets o.fake. stop ends it.
func serveFake(o *options, addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%q: want a loopback address, e.g. 127.0.0.1:9000", addr)
	}
	fake := docspacetest.NewPortal(o.key)
	fake.SetLatency(o.portalLatency)
	fake.SetSchedule(docspacetest.ScheduleWeekly)
	fake.SetProgress(docspacetest.ProgressCompleted)
	// The backups of ScheduleWeekly's last two starts, stored 3 minutes in.
	last := time.Date(2026, 6, 29, 2, 10, 31, 0, time.UTC)
	fake.SetHistory(docspacetest.StoredBackup("docspace", last, 0, docspacetest.DateTimeMySQL),
		docspacetest.StoredBackup("docspace", last.AddDate(0, 0, -7), 0, docspacetest.DateTimeMySQL))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	server := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(l) }()
	o.fake = fake
	return func() {
		fake.Close()
		_ = server.Close()
	}, nil
}

// readPortalURLs reads a file of "name URL" lines; every URL must be a
// loopback one.
func readPortalURLs(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for line := range strings.Lines(string(data)) {
		name, raw, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			return nil, fmt.Errorf("%q is not a \"name URL\" line", line)
		}
		u, err := loopbackURL(raw)
		if err != nil {
			return nil, err
		}
		urls[name] = u.String()
	}
	return urls, nil
}

// loopbackURL parses raw and refuses it unless its host is a loopback
// address or localhost.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return nil, fmt.Errorf("%q: only a loopback exporter (127.0.0.1, [::1], localhost) may be loaded", raw)
	}
	return u, nil
}

// result is what one run measured.
type result struct {
	elapsed      time.Duration
	requests     int64
	capped       bool // the run ended at --max-requests
	errStatus    int64
	errTransport int64
	errBody      int64
	firstErrors  []string // the first few distinct errors, for diagnosis
	latencies    []time.Duration
	warm         []time.Duration // probe mode: latencies of the probes sent after the first interval
	direct       []time.Duration // probe mode: latencies of the direct calls of the portals
	directErrors int64
	cpu          time.Duration // exporter CPU time (user+system) during the run
	peak         memory        // the sample with the largest VmRSS
	hwm          int64         // bytes, VmHWM at the end
	after        memory        // read right after the last answer
	// upstream counts the calls that reached the fake portal by path,
	// with --fake-portal.
	upstream map[string]int
	// tls counts the exporter's TLS connections to the portals, with
	// --tls-counts.
	tls *handshakes
}

// handshakes counts TLS connections: full handshakes, resumed ones, and
// those that negotiated HTTP/2.
type handshakes [3]atomic.Int64

// count is a tls.Config's VerifyConnection that counts.
func (h *handshakes) count(cs tls.ConnectionState) error {
	if cs.DidResume {
		h[1].Add(1)
	} else {
		h[0].Add(1)
	}
	if cs.NegotiatedProtocol == "h2" {
		h[2].Add(1)
	}
	return nil
}

// readHandshakes reads fakedocspace's /-/tls.
func readHandshakes(c *http.Client, u *url.URL) (*handshakes, error) {
	h := &handshakes{}
	resp, err := c.Get(u.String())
	if err != nil {
		return nil, fmt.Errorf("--tls-counts: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("--tls-counts: %w", err)
	}
	fields := map[string]*atomic.Int64{"full_handshakes": &h[0], "resumed_handshakes": &h[1], "http2_connections": &h[2]}
	for line := range strings.SplitSeq(string(body), "\n") {
		name, value, _ := strings.Cut(line, " ")
		if n, err := strconv.ParseInt(value, 10, 64); err == nil && fields[name] != nil {
			fields[name].Store(n)
		}
	}
	return h, nil
}

func (r *result) errors() int64 { return r.errStatus + r.errTransport + r.errBody }

// recorder collects the outcome of the requests, from many goroutines.
type recorder struct {
	warmFrom time.Time // requests sent from then on are warm; zero for none

	mu  sync.Mutex
	res *result
}

// record notes a request sent at start that took latency; kind is the error
// counter to increase, nil for a success.
func (rec *recorder) record(start time.Time, latency time.Duration, kind *int64, err error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.res.requests++
	rec.res.latencies = append(rec.res.latencies, latency)
	if !rec.warmFrom.IsZero() && !start.Before(rec.warmFrom) {
		rec.res.warm = append(rec.res.warm, latency)
	}
	if kind == nil {
		return
	}
	*kind++
	msg := err.Error()
	if len(rec.res.firstErrors) < 5 && !slices.Contains(rec.res.firstErrors, msg) {
		rec.res.firstErrors = append(rec.res.firstErrors, msg)
	}
}

// measure runs the load and measures the exporter meanwhile.
func measure(o options) (*result, error) {
	cpuBefore, err := cpuTime(o.pid)
	if err != nil {
		return nil, err
	}
	rssCtx, stopRSS := context.WithCancel(context.Background())
	rssDone := make(chan memory)
	go func() { rssDone <- samplePeakRSS(rssCtx, o.pid) }()

	res := &result{}
	rec := &recorder{res: res}
	// httpClient calls the exporter.
	httpClient := &http.Client{
		Timeout: o.timeout,
		Transport: &http.Transport{
			MaxIdleConns:        2 * max(o.concurrency, 64),
			MaxIdleConnsPerHost: 2 * max(o.concurrency, 64),
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// portalClient makes the direct calls of the portals and reads the
	// fake's TLS counts, its handshakes counted in own. The portals are
	// called as the exporter calls them, over HTTP/2 where they offer it,
	// and each sampled portal's connections are kept from one probe to the
	// next, so that the portals' own latency is their answer, not a
	// handshake. Past maxDirectPortals only some portals are called (see
	// directStride): a connection kept to each of 10,000 portals would
	// take, beside their 10,000 listeners, every file descriptor the fake
	// may have.
	var own handshakes
	portalClient := &http.Client{
		Timeout: o.timeout,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 2, // schedule and progress at once, over HTTP/1.1
			IdleConnTimeout:     3 * max(o.interval, 30*time.Second),
			TLSClientConfig:     &tls.Config{RootCAs: o.roots, VerifyConnection: own.count},
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var sent atomic.Int64
	take := func() bool { return sent.Add(1) <= o.maxRequests }
	var fakeBefore *handshakes
	if o.tlsCounts != nil {
		if fakeBefore, err = readHandshakes(portalClient, o.tlsCounts); err != nil {
			stopRSS()
			return nil, err
		}
		for i := range own { // the reading's own connection is in fakeBefore
			own[i].Store(0)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	start := time.Now()
	if o.mode == modeProbe {
		rec.warmFrom = start.Add(o.interval)
		probe(ctx, o, httpClient, portalClient, rec, take)
	} else {
		scrape(ctx, o, httpClient, rec, take)
	}
	res.elapsed = time.Since(start)
	res.capped = sent.Load() > o.maxRequests

	cpuAfter, err := cpuTime(o.pid)
	stopRSS()
	res.peak = <-rssDone
	if err != nil {
		return nil, fmt.Errorf("%w (did the exporter exit during the run?)", err)
	}
	res.cpu = cpuAfter - cpuBefore
	if o.tlsCounts != nil {
		fakeAfter, err := readHandshakes(portalClient, o.tlsCounts)
		if err != nil {
			return nil, err
		}
		res.tls = &handshakes{}
		for i := range fakeAfter {
			res.tls[i].Store(fakeAfter[i].Load() - fakeBefore[i].Load() - own[i].Load())
		}
	}
	end, err := readMemory(o.pid)
	if err != nil {
		return nil, err
	}
	res.hwm = end.hwm
	res.after = end
	if o.fake != nil {
		res.upstream = make(map[string]int)
		for _, path := range upstreamPaths {
			res.upstream[path] = o.fake.Requests(path)
		}
	}
	return res, nil
}

// upstreamPaths are the calls of the exporter that --fake-portal counts.
var upstreamPaths = []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathSettings, docspacetest.PathHistory}

// upstreamPerRequest returns the calls of path that reached the fake
// portal per request.
func (r *result) upstreamPerRequest(path string) float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.upstream[path]) / float64(r.requests)
}

// scrape runs o.concurrency workers that scrape /metrics back to back until
// ctx is done or take refuses.
func scrape(ctx context.Context, o options, c *http.Client, rec *recorder, take func() bool) {
	target := o.exporter.String() + "/metrics"
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && take() {
				get(c, target, rec)
			}
		})
	}
	wg.Wait()
}

// probe sends one probe every interval/targets, going round the targets,
// until ctx is done or take refuses, then waits for the probes in flight
// (each bounded by the request timeout). Probe i is due i ticks after the
// start; a tick the ticker dropped, because this goroutine ran late, is made
// up at the next one, so the rate holds however the exporter answers.
func probe(ctx context.Context, o options, c, portals *http.Client, rec *recorder, take func() bool) {
	stride := directStride(o.targets)
	tick := o.interval / time.Duration(o.targets)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	for sent := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for due := int(time.Since(start) / tick); sent < due; sent++ {
			if !take() {
				return
			}
			i := sent % o.targets
			name := fmt.Sprintf("portal-%04d", i+1)
			target := fmt.Sprintf("%s/probe?target=%s", o.exporter, name)
			wg.Go(func() { get(c, target, rec) })
			if portal, ok := o.portalURL(name); ok && i%stride == 0 {
				wg.Go(func() { direct(portals, portal, o.key, rec) })
			}
		}
	}
}

// maxDirectPortals is how many portals at most are called directly, for
// their own latency.
const maxDirectPortals = 1000

// directStride is the step between the portals called directly: every
// portal up to maxDirectPortals, else every directStride-th.
func directStride(targets int) int {
	return (targets + maxDirectPortals - 1) / maxDirectPortals
}

// get makes one request and records its latency and outcome. The latency
// runs until the whole body is read.
func get(c *http.Client, target string, rec *recorder) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		panic(err) // the URL is built from a checked one
	}
	req.Header.Set("Accept", "text/plain")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		rec.record(start, time.Since(start), &rec.res.errTransport, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	latency := time.Since(start)
	switch {
	case err != nil:
		rec.record(start, latency, &rec.res.errTransport, fmt.Errorf("reading the body: %w", err))
	case resp.StatusCode != http.StatusOK:
		rec.record(start, latency, &rec.res.errStatus, fmt.Errorf("status %s", resp.Status))
	case !bytes.Contains(body, upLine):
		rec.record(start, latency, &rec.res.errBody, fmt.Errorf("body without %q: %s", bytes.TrimSpace(upLine), upValue(body)))
	default:
		rec.record(start, latency, nil, nil)
	}
}

// direct calls a portal as the exporter's probe does, getbackupschedule and
// getbackupprogress at once, and records the time until both answered.
func direct(c *http.Client, portal, key string, rec *recorder) {
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Bool
	for _, path := range []string{"/api/2.0/backup/getbackupschedule", "/api/2.0/backup/getbackupprogress"} {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, portal+path, nil)
			if err != nil {
				panic(err) // the URL is built from a checked one
			}
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := c.Do(req)
			if err != nil {
				failed.Store(true)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	latency := time.Since(start)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.res.direct = append(rec.res.direct, latency)
	if failed.Load() {
		rec.res.directErrors++
	}
}

// upValue returns the docspace_up lines of body, or a note that there are none.
func upValue(body []byte) string {
	var lines []string
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "docspace_up") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	if len(lines) == 0 {
		return "no docspace_up at all"
	}
	return strings.Join(lines, "; ")
}

// cpuTime returns the user plus system CPU time process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the exporter's CPU time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: count the fields
	// after it. utime and stime are fields 14 and 15, state (3) being the
	// first after the name.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, data)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, data)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, data)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// memory is the resident memory of a process, in bytes, from
// /proc/<pid>/status: rss = anon (heap, stacks) + file (mapped binary) +
// shmem; hwm is the peak rss of the process' life.
type memory struct {
	rss, anon, file, hwm int64
}

// readMemory reads the memory of process pid.
func readMemory(pid int) (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("reading the exporter's memory: %w", err)
	}
	var m memory
	fields := map[string]*int64{"VmRSS": &m.rss, "RssAnon": &m.anon, "RssFile": &m.file, "VmHWM": &m.hwm}
	for line := range strings.Lines(string(data)) {
		name, value, _ := strings.Cut(line, ":")
		dst, ok := fields[name]
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("unexpected line in /proc/%d/status: %q", pid, line)
		}
		*dst = kb * 1024
		delete(fields, name)
	}
	if len(fields) > 0 {
		return memory{}, fmt.Errorf("/proc/%d/status lacks some of VmRSS, RssAnon, RssFile and VmHWM", pid)
	}
	return m, nil
}

// samplePeakRSS reads the memory of pid every rssSampleInterval until ctx is
// done and returns the sample with the largest resident memory.
func samplePeakRSS(ctx context.Context, pid int) memory {
	ticker := time.NewTicker(rssSampleInterval)
	defer ticker.Stop()
	var peak memory
	for {
		if m, err := readMemory(pid); err == nil && m.rss > peak.rss {
			peak = m
		}
		select {
		case <-ctx.Done():
			return peak
		case <-ticker.C:
		}
	}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted, by the
// nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// peakMiB is the exporter's peak resident memory: VmHWM covers the whole
// life of the process, the samples only the run; the larger counts.
func (r *result) peakMiB() float64 { return mib(max(r.peak.rss, r.hwm)) }

func (r *result) coreRatio() float64 { return r.cpu.Seconds() / r.elapsed.Seconds() }

func (r *result) p99() time.Duration {
	slices.Sort(r.latencies)
	return percentile(r.latencies, 99)
}

func (r *result) print(w io.Writer, o options) {
	slices.Sort(r.latencies)
	switch o.mode {
	case modeScrape:
		fmt.Fprintf(w, "load        %d workers scraping %s/metrics back to back for %s\n", o.concurrency, o.exporter, o.duration)
	default:
		fmt.Fprintf(w, "load        %d targets, each probed every %s (%.1f probes/s) on %s for %s\n",
			o.targets, o.interval, float64(o.targets)/o.interval.Seconds(), o.exporter, o.duration)
	}
	capped := ""
	if r.capped {
		capped = fmt.Sprintf(" (stopped at --max-requests=%d)", o.maxRequests)
	}
	fmt.Fprintf(w, "elapsed     %s%s\n", r.elapsed.Round(time.Millisecond), capped)
	fmt.Fprintf(w, "requests    %d (%.1f/s)\n", r.requests, float64(r.requests)/r.elapsed.Seconds())
	fmt.Fprintf(w, "errors      %d (status %d, transport %d, body %d)\n", r.errors(), r.errStatus, r.errTransport, r.errBody)
	for _, e := range r.firstErrors {
		fmt.Fprintf(w, "  e.g.      %s\n", e)
	}
	perRequest := time.Duration(0)
	if r.requests > 0 {
		perRequest = r.cpu / time.Duration(r.requests)
	}
	fmt.Fprintf(w, "cpu         %.2f s of exporter CPU = %s per request = %.1f%% of one core\n",
		r.cpu.Seconds(), perRequest.Round(time.Microsecond), 100*r.coreRatio())
	fmt.Fprintf(w, "rss         peak %.1f MiB (largest VmRSS sampled %.1f MiB = anon %.1f + file %.1f; VmHWM %.1f MiB)\n",
		r.peakMiB(), mib(r.peak.rss), mib(r.peak.anon), mib(r.peak.file), mib(r.hwm))
	fmt.Fprintf(w, "  after     %.1f MiB right after the last answer (anon %.1f + file %.1f)\n",
		mib(r.after.rss), mib(r.after.anon), mib(r.after.file))
	if r.upstream != nil {
		fmt.Fprintf(w, "upstream    %.3f schedule calls per request (%d getbackupschedule, %d getbackupprogress, %d settings, %d getbackuphistory for %d requests)\n",
			r.upstreamPerRequest(docspacetest.PathSchedule), r.upstream[docspacetest.PathSchedule],
			r.upstream[docspacetest.PathProgress], r.upstream[docspacetest.PathSettings], r.upstream[docspacetest.PathHistory], r.requests)
	}
	if r.tls != nil {
		full, resumed, h2 := r.tls[0].Load(), r.tls[1].Load(), r.tls[2].Load()
		perRequest := func(n int64) float64 { return float64(n) / float64(max(r.requests, 1)) }
		fmt.Fprintf(w, "tls         %.2f connections, %.2f full handshakes per request (%d connections: %d full, %d resumed handshakes; %d HTTP/2)\n",
			perRequest(full+resumed), perRequest(full), full+resumed, full, resumed, h2)
	}
	fmt.Fprintf(w, "latency     %s\n", latencySummary(r.latencies))
	if len(r.direct) > 0 {
		slices.Sort(r.direct)
		sampled := "the portals"
		if stride := directStride(o.targets); stride > 1 {
			sampled = fmt.Sprintf("1 portal in %d", stride)
		}
		fmt.Fprintf(w, "  portals   %s (%d direct calls of %s over kept connections, schedule and progress at once; %d errors)\n",
			latencySummary(r.direct), len(r.direct), sampled, r.directErrors)
	}
	if len(r.warm) > 0 {
		slices.Sort(r.warm)
		fmt.Fprintf(w, "  warm      %s (the %d probes sent after the first %s, every portal having been probed)\n",
			latencySummary(r.warm), len(r.warm), o.interval)
	}
}

// latencySummary formats the percentiles of sorted latencies.
func latencySummary(sorted []time.Duration) string {
	p := func(q float64) time.Duration { return percentile(sorted, q).Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", p(50), p(90), p(99), p(100))
}

// verdicts prints PASS and FAIL lines and remembers whether all passed.
type verdicts struct {
	w      io.Writer
	failed bool
}

// check prints one PASS or FAIL line; format says what was checked.
func (v *verdicts) check(pass bool, format string, args ...any) {
	word := "PASS"
	if !pass {
		word, v.failed = "FAIL", true
	}
	fmt.Fprintf(v.w, "%s  "+format+"\n", append([]any{word}, args...)...)
}

// check prints one PASS or FAIL line per threshold and reports whether all
// passed.
func (r *result) check(w io.Writer, o options, th thresholds) bool {
	v := &verdicts{w: w}
	verdict := v.check
	verdict(r.requests > 0, "requests: %d > 0", r.requests)
	verdict(r.errors() <= th.maxErrors, "errors: %d <= %d", r.errors(), th.maxErrors)
	if th.maxRSSMiB != nil {
		verdict(r.peakMiB() <= *th.maxRSSMiB, "peak RSS: %.1f MiB <= %g MiB", r.peakMiB(), *th.maxRSSMiB)
	}
	if th.maxRSSAfterMiB != nil {
		verdict(mib(r.after.rss) <= *th.maxRSSAfterMiB, "RSS after the run: %.1f MiB <= %g MiB", mib(r.after.rss), *th.maxRSSAfterMiB)
	}
	if th.maxUpstream != nil {
		per := r.upstreamPerRequest(docspacetest.PathSchedule)
		verdict(per <= *th.maxUpstream, "schedule calls per request: %.3f <= %g", per, *th.maxUpstream)
	}
	if th.maxCPUCoreRatio != nil {
		verdict(r.coreRatio() <= *th.maxCPUCoreRatio, "CPU: %.3f of one core <= %g", r.coreRatio(), *th.maxCPUCoreRatio)
	}
	if th.maxP99Over != nil {
		p99 := r.p99()
		portal, what := o.portalLatency, "--portal-latency"
		if len(r.direct) > 0 {
			slices.Sort(r.direct)
			portal, what = percentile(r.direct, 99), "the portals' own p99, measured alongside"
		}
		over := p99 - portal
		verdict(over <= *th.maxP99Over, "p99 over portal latency (%s): %s - %s = %s <= %s", what,
			p99.Round(10*time.Microsecond), portal.Round(10*time.Microsecond), over.Round(10*time.Microsecond), *th.maxP99Over)
	}
	return !v.failed
}
