package main

// --mode=soak: a long run of the probe load against fake portals of which
// some fail (see cmd/fakedocspace --hung, --server-error, --rate-limited,
// --reset), while the exporter's configuration file is flipped between two
// versions and reloaded. It reports over time what would show a leak or
// noise: goroutines, open file descriptors, resident memory, CPU and log
// lines per minute, and the latency of the healthy portals' probes against
// the portals' own.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

const modeSoak = "soak"

// soakOptions are the settings of --mode=soak.
type soakOptions struct {
	configFile    string        // the exporter's --config.file
	flipTo        string        // another valid version of it
	reloadEvery   time.Duration // how often the configuration is flipped and reloaded
	logFile       string        // the exporter's log
	retryAfter    time.Duration // the rate-limited portals' Retry-After
	scrapeTimeout time.Duration // sent in X-Prometheus-Scrape-Timeout-Seconds
	warmUp        time.Duration // not judged for flatness and log lines
	sampleEvery   time.Duration
	maxLogLines   float64 // a minute, after the warm-up
	maxGrowth     float64 // of goroutines, fds and RSS from after the warm-up to the end
}

func (s *soakOptions) flags(app *kingpin.Application) {
	app.Flag("soak.config-file", "Soak mode: the exporter's --config.file, flipped and reloaded.").StringVar(&s.configFile)
	app.Flag("soak.flip-to", "Soak mode: another valid version of --soak.config-file.").StringVar(&s.flipTo)
	app.Flag("soak.reload-every", "Soak mode: how often the configuration is flipped and POST /-/reload sent.").Default("30s").DurationVar(&s.reloadEvery)
	app.Flag("soak.log-file", "Soak mode: the exporter's log file, whose lines are counted.").StringVar(&s.logFile)
	app.Flag("soak.retry-after", "Soak mode: the Retry-After of the rate-limited fake portals.").Default("60s").DurationVar(&s.retryAfter)
	app.Flag("soak.scrape-timeout", "Soak mode: the scrape timeout sent with every probe, as Prometheus does.").Default("10s").DurationVar(&s.scrapeTimeout)
	app.Flag("soak.warm-up", "Soak mode: the start of the run that is not judged for flatness and log lines.").Default("2m").DurationVar(&s.warmUp)
	app.Flag("soak.sample-every", "Soak mode: how often goroutines, fds, RSS, CPU and log lines are sampled.").Default("10s").DurationVar(&s.sampleEvery)
	app.Flag("soak.max-log-lines", "Soak mode: most log lines in any minute after the warm-up.").Default("10").Float64Var(&s.maxLogLines)
	app.Flag("soak.max-growth", "Soak mode: most growth of goroutines, fds and RSS from just after the warm-up to the end (0.2 = 20%), besides a small slack.").
		Default("0.2").Float64Var(&s.maxGrowth)
}

// What a probe of each kind of fake portal must answer (all with HTTP 200).
var soakExpect = map[string][]string{
	"none":         {"\ndocspace_up 1\n"},
	"hung":         {"\ndocspace_up 0\n", "\ndocspace_api_status_code 0\n"},
	"server_error": {"\ndocspace_up 0\n", "\ndocspace_api_status_code 500\n"},
	"rate_limited": {"\ndocspace_up 0\n", "\ndocspace_api_status_code 429\n"},
	"reset":        {"\ndocspace_up 0\n", "\ndocspace_api_status_code 0\n"},
}

// fakePortal is a row of the fake's GET /-/portals.
type fakePortal struct {
	Name             string `json:"name"`
	Fault            string `json:"fault"`
	Requests         int64  `json:"requests"`
	ScheduleRequests int64  `json:"schedule_requests"`
}

// soakSample is the state of the exporter at one time.
type soakSample struct {
	at         time.Duration // since the start
	goroutines float64
	fds        int
	rss        int64
	cpu        time.Duration
	logLines   int
}

// soakProbe is the outcome of one probe.
type soakProbe struct {
	sent    time.Duration // since the start
	fault   string
	latency time.Duration
	err     error
}

// soakRun is what a soak run collected.
type soakRun struct {
	start    time.Time
	faults   map[string]string // portal name to fault
	mu       sync.Mutex
	probes   []soakProbe
	samples  []soakSample // while the load runs
	end      soakSample   // once the probes in flight have ended
	reloads  int
	reloadKO []string
	direct   *recorder // the healthy portals' own latency
	after    []fakePortal
}

// runSoak runs --mode=soak and returns the exit status.
func runSoak(o options, s soakOptions, th thresholds) int {
	if o.duration == 0 {
		o.duration = 10 * time.Minute
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "loadtest: error: "+format+"\n", a...)
		return 2
	}
	switch {
	case o.portals == nil || s.configFile == "" || s.flipTo == "" || s.logFile == "":
		return fail("--mode=soak needs --portals, --key-file, --soak.config-file, --soak.flip-to and --soak.log-file")
	case o.targets <= 0 || o.targets > 9999 || o.interval < time.Duration(o.targets):
		return fail("--targets must be 1 to 9999 and --interval at least 1ns per target")
	case s.reloadEvery <= 0 || s.sampleEvery <= 0 || s.warmUp >= o.duration:
		return fail("--soak.reload-every and --soak.sample-every must be positive, --soak.warm-up shorter than --duration")
	}
	versions := make([][]byte, 2)
	for i, path := range []string{s.configFile, s.flipTo} {
		var err error
		if versions[i], err = os.ReadFile(path); err != nil {
			return fail("%v", err)
		}
	}
	c := &http.Client{
		Timeout:       o.timeout,
		Transport:     &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	portals, err := fakePortals(c, o)
	if err != nil {
		return fail("%v", err)
	}
	run := &soakRun{faults: map[string]string{}, direct: &recorder{res: &result{}}}
	for _, p := range portals {
		run.faults[p.Name] = p.Fault
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	run.start = time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { run.sample(ctx, o, s, c) })
	wg.Go(func() { run.flip(ctx, o, s, c, versions) })
	run.probe(ctx, o, s, c)
	cancel()
	wg.Wait()
	run.end = run.sampleNow(o, s, c)
	if run.after, err = fakePortals(c, o); err != nil {
		return fail("%v", err)
	}
	// The configuration file as it was at the start.
	if err := os.WriteFile(s.configFile, versions[0], 0o600); err != nil {
		return fail("%v", err)
	}
	if !run.report(os.Stdout, o, s, th) {
		return 1
	}
	return 0
}

// fakePortals reads the fake's list of portals, with their faults and
// request counts.
func fakePortals(c *http.Client, o options) ([]fakePortal, error) {
	resp, err := c.Get(o.portals.String() + "/-/portals")
	if err != nil {
		return nil, fmt.Errorf("listing the fake portals: %w", err)
	}
	defer resp.Body.Close()
	var portals []fakePortal
	if err := json.NewDecoder(resp.Body).Decode(&portals); err != nil {
		return nil, fmt.Errorf("listing the fake portals: %w", err)
	}
	if len(portals) < o.targets {
		return nil, fmt.Errorf("the fake serves %d portals, fewer than --targets=%d", len(portals), o.targets)
	}
	return portals, nil
}

// probe probes every portal once per interval, as probe mode does, until
// ctx ends, and calls the healthy portals directly alongside.
func (run *soakRun) probe(ctx context.Context, o options, s soakOptions, c *http.Client) {
	tick := o.interval / time.Duration(o.targets)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for sent := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for due := int(time.Since(run.start) / tick); sent < due; sent++ {
			name := fmt.Sprintf("portal-%04d", sent%o.targets+1)
			fault := run.faults[name]
			wg.Go(func() { run.probeOne(c, o, s, name, fault) })
			if fault == "none" {
				wg.Go(func() { direct(c, o.portals.String()+"/"+name, o.key, run.direct) })
			}
		}
	}
}

// probeOne probes one portal and checks its answer against its fault.
func (run *soakRun) probeOne(c *http.Client, o options, s soakOptions, name, fault string) {
	req, err := http.NewRequest(http.MethodGet, o.exporter.String()+"/probe?target="+name, nil)
	if err != nil {
		panic(err) // the URL is built from a checked one
	}
	req.Header.Set("Accept", "text/plain")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(s.scrapeTimeout.Seconds(), 'f', -1, 64))
	start := time.Now()
	p := soakProbe{sent: start.Sub(run.start), fault: fault}
	var body []byte
	resp, err := c.Do(req)
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	p.latency = time.Since(start)
	switch {
	case err != nil:
		p.err = err
	case resp.StatusCode != http.StatusOK:
		p.err = fmt.Errorf("%s: status %s", name, resp.Status)
	default:
		for _, want := range soakExpect[fault] {
			if !bytes.Contains(body, []byte(want)) {
				p.err = fmt.Errorf("%s (%s): body without %q: %s", name, fault, strings.TrimSpace(want), upValue(body))
				break
			}
		}
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	run.probes = append(run.probes, p)
}

// flip writes the other version of the configuration file and reloads
// the exporter, every reloadEvery, until ctx ends.
func (run *soakRun) flip(ctx context.Context, o options, s soakOptions, c *http.Client, versions [][]byte) {
	ticker := time.NewTicker(s.reloadEvery)
	defer ticker.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		err := os.WriteFile(s.configFile, versions[i%2], 0o600)
		if err == nil {
			err = reload(c, o)
		}
		run.mu.Lock()
		run.reloads++
		if err != nil {
			run.reloadKO = append(run.reloadKO, err.Error())
		}
		run.mu.Unlock()
	}
}

// reload sends POST /-/reload to the exporter.
func reload(c *http.Client, o options) error {
	resp, err := c.Post(o.exporter.String()+"/-/reload", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reload: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// sample samples the exporter every sampleEvery until ctx ends.
func (run *soakRun) sample(ctx context.Context, o options, s soakOptions, c *http.Client) {
	ticker := time.NewTicker(s.sampleEvery)
	defer ticker.Stop()
	for {
		run.sampleOnce(o, s, c)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// sampleOnce records the exporter's state now.
func (run *soakRun) sampleOnce(o options, s soakOptions, c *http.Client) {
	smp := run.sampleNow(o, s, c)
	run.mu.Lock()
	defer run.mu.Unlock()
	run.samples = append(run.samples, smp)
}

// sampleNow reads the exporter's state now; what cannot be read is left 0.
func (run *soakRun) sampleNow(o options, s soakOptions, c *http.Client) soakSample {
	smp := soakSample{at: time.Since(run.start)}
	smp.goroutines, _ = exporterGauge(c, o, "go_goroutines")
	if entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", o.pid)); err == nil {
		smp.fds = len(entries)
	}
	if m, err := readMemory(o.pid); err == nil {
		smp.rss = m.rss
	}
	smp.cpu, _ = cpuTime(o.pid)
	smp.logLines, _ = countLines(s.logFile)
	return smp
}

// exporterGauge reads one unlabelled gauge from the exporter's /metrics.
func exporterGauge(c *http.Client, o options, name string) (float64, error) {
	resp, err := c.Get(o.exporter.String() + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", name)
}

// countLines counts the lines of a file.
func countLines(path string) (int, error) {
	data, err := os.ReadFile(path)
	return bytes.Count(data, []byte("\n")), err
}

// soakMinute is one row of the report.
type soakMinute struct {
	goroutines float64
	fds        int
	rss        int64
	cpu        time.Duration // used in the minute
	logLines   int           // written in the minute
	probes     int
	errors     int
	healthy    []time.Duration // latencies of the healthy portals' probes
}

// minutes turns the samples and probes into one row per minute; a row's
// gauges are those of the last sample in it.
func (run *soakRun) minutes(o options) []soakMinute {
	n := int(math.Ceil(o.duration.Minutes()))
	rows := make([]soakMinute, n)
	at := func(d time.Duration) int { return min(int(d/time.Minute), n-1) }
	var prev soakSample
	for i, smp := range run.samples {
		r := &rows[at(smp.at)]
		r.goroutines, r.fds, r.rss = smp.goroutines, smp.fds, smp.rss
		if i > 0 {
			r.cpu += smp.cpu - prev.cpu
			r.logLines += smp.logLines - prev.logLines
		}
		prev = smp
	}
	for _, p := range run.probes {
		r := &rows[at(p.sent)]
		r.probes++
		if p.err != nil {
			r.errors++
		} else if p.fault == "none" {
			r.healthy = append(r.healthy, p.latency)
		}
	}
	return rows
}

// report prints the run over time, then one PASS or FAIL line per target,
// and reports whether all passed.
func (run *soakRun) report(w io.Writer, o options, s soakOptions, th thresholds) bool {
	faults := map[string]int{}
	for name, f := range run.faults {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "portal-")); err == nil && n <= o.targets {
			faults[f]++
		}
	}
	fmt.Fprintf(w, "load        %d portals (%d healthy, %d hung, %d HTTP 500, %d HTTP 429 with Retry-After %s, %d reset), each probed every %s for %s;\n"+
		"            config flipped and reloaded every %s (%d reloads, %d failed)\n",
		o.targets, faults["none"], faults["hung"], faults["server_error"], faults["rate_limited"], s.retryAfter, faults["reset"],
		o.interval, o.duration, s.reloadEvery, run.reloads, len(run.reloadKO))
	for _, e := range first(run.reloadKO, 3) {
		fmt.Fprintf(w, "  e.g.      %s\n", e)
	}
	fmt.Fprintln(w, "minute  goroutines   fds   RSS MiB   CPU cores   log lines   probes   errors   healthy p99")
	rows := run.minutes(o)
	for i, r := range rows {
		slices.Sort(r.healthy)
		fmt.Fprintf(w, "%6d  %10.0f  %4d  %8.1f  %10.3f  %10d  %7d  %7d  %12s\n", i+1, r.goroutines, r.fds, mib(r.rss),
			r.cpu.Seconds()/60, r.logLines, r.probes, r.errors, percentile(r.healthy, 99).Round(10*time.Microsecond))
	}

	var (
		errs     []string
		nErrors  int
		healthy  []time.Duration
		peakRSS  int64
		warmFrom = o.interval
	)
	for _, p := range run.probes {
		if p.err != nil {
			nErrors++
			if msg := p.err.Error(); len(errs) < 5 && !slices.Contains(errs, msg) {
				errs = append(errs, msg)
			}
		} else if p.fault == "none" && p.sent >= warmFrom {
			healthy = append(healthy, p.latency)
		}
	}
	for _, smp := range append(run.samples, run.end) {
		peakRSS = max(peakRSS, smp.rss)
	}
	if m, err := readMemory(o.pid); err == nil {
		peakRSS = max(peakRSS, m.hwm)
	}
	fmt.Fprintf(w, "after       the load, once the probes in flight ended: %.0f goroutines, %d fds, %.1f MiB RSS\n",
		run.end.goroutines, run.end.fds, mib(run.end.rss))
	fmt.Fprintf(w, "probes      %d, %d errors\n", len(run.probes), nErrors)
	for _, e := range errs {
		fmt.Fprintf(w, "  e.g.      %s\n", e)
	}
	slices.Sort(healthy)
	direct := run.direct.res.direct
	slices.Sort(direct)
	fmt.Fprintf(w, "healthy     %s (probes sent after the first %s)\n", latencySummary(healthy), o.interval)
	fmt.Fprintf(w, "  portals   %s (%d direct calls of the healthy portals; %d errors)\n", latencySummary(direct), len(direct), run.direct.res.directErrors)
	limit429 := int64(math.Ceil(o.duration.Seconds()/s.retryAfter.Seconds())) + 1
	var max429, sum429, n429 int64
	for _, p := range run.after {
		if p.Fault == "rate_limited" {
			max429 = max(max429, p.ScheduleRequests)
			sum429 += p.ScheduleRequests
			n429++
		}
	}
	fmt.Fprintf(w, "HTTP 429    %d schedule calls to %d rate-limited portals, at most %d to one (allowed: one per Retry-After, %d in %s)\n",
		sum429, n429, max429, limit429, o.duration)

	v := &verdicts{w: w}
	verdict := v.check
	verdict(len(run.probes) > 0, "probes: %d > 0", len(run.probes))
	verdict(int64(nErrors) <= th.maxErrors, "probes with a wrong answer: %d <= %d", nErrors, th.maxErrors)
	verdict(len(run.reloadKO) == 0 && run.reloads > 0, "reloads: %d, %d failed", run.reloads, len(run.reloadKO))
	if th.maxRSSMiB != nil {
		verdict(mib(peakRSS) <= *th.maxRSSMiB, "peak RSS: %.1f MiB <= %g MiB", mib(peakRSS), *th.maxRSSMiB)
	}
	if th.maxCPUCoreRatio != nil && len(run.samples) > 1 {
		last, firstSmp := run.samples[len(run.samples)-1], run.samples[0]
		cores := (last.cpu - firstSmp.cpu).Seconds() / (last.at - firstSmp.at).Seconds()
		verdict(cores <= *th.maxCPUCoreRatio, "CPU: %.3f of one core <= %g", cores, *th.maxCPUCoreRatio)
	}
	if th.maxP99Over != nil {
		over := percentile(healthy, 99) - percentile(direct, 99)
		verdict(len(healthy) > 0 && over <= *th.maxP99Over, "healthy p99 over the portals' own p99: %s <= %s", over.Round(10*time.Microsecond), *th.maxP99Over)
	}
	settled := int(s.warmUp / time.Minute)
	worst := 0
	for _, r := range rows[settled:] {
		worst = max(worst, r.logLines)
	}
	verdict(float64(worst) < s.maxLogLines, "log lines a minute after the first %s: at most %d < %g", s.warmUp, worst, s.maxLogLines)
	verdict(max429 <= limit429, "schedule calls to one rate-limited portal: %d <= %d", max429, limit429)
	for _, g := range []struct {
		name  string
		value func(soakSample) float64
		slack float64
		unit  string
	}{
		{"goroutines", func(s soakSample) float64 { return s.goroutines }, 50, ""},
		{"open fds", func(s soakSample) float64 { return float64(s.fds) }, 50, ""},
		{"RSS", func(s soakSample) float64 { return mib(s.rss) }, 10, " MiB"},
	} {
		early, late := run.flatness(o, s, g.value)
		limit := early*(1+s.maxGrowth) + g.slack
		verdict(late <= limit, "%s flat: %.1f%s at the end <= %.1f%s after the warm-up * %.2f + %g", g.name, late, g.unit, early, g.unit, 1+s.maxGrowth, g.slack)
	}
	return !v.failed
}

// flatness returns the mean of value over the samples of the quarter of
// the run after the warm-up, and over those of the last quarter.
func (run *soakRun) flatness(o options, s soakOptions, value func(soakSample) float64) (early, late float64) {
	quarter := (o.duration - s.warmUp) / 4
	mean := func(from, to time.Duration) float64 {
		var sum float64
		var n int
		for _, smp := range run.samples {
			if smp.at >= from && smp.at < to {
				sum += value(smp)
				n++
			}
		}
		if n == 0 {
			return math.NaN()
		}
		return sum / float64(n)
	}
	return mean(s.warmUp, s.warmUp+quarter), mean(o.duration-quarter, o.duration+time.Minute)
}

// first returns at most n elements of s.
func first(s []string, n int) []string { return s[:min(n, len(s))] }
