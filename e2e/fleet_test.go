//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// The documented Prometheus set-ups that the tests below run, each the YAML
// block that follows its marker in its file (markerFiles).
const (
	discoveryMarker = "<!-- e2e: discovery -->"
	shardingMarker  = "<!-- e2e: sharding -->"
	// readmeExporter is the exporter's address in the README's examples.
	readmeExporter = "docspace-exporter.example.com:9977"
)

// TestE2EDiscovery runs Prometheus with the README's prometheus.yml, the
// mixin's alerts saved beside it under the name it gives, and changes the
// exporter's portals.yml only: every rule of the mixin is loaded and
// evaluated, a portal added and reloaded is scraped through /probe, one
// removed disappears, and Prometheus' own configuration file never changes.
func TestE2EDiscovery(t *testing.T) {
	bins := requireBinaries(t, "prometheus")
	dir := t.TempDir()
	exporterBin := buildExporter(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	t.Cleanup(cancel)

	portals, root := startFleet(t, 3)
	names := func(n ...int) []string {
		var s []string
		for _, i := range n {
			s = append(s, portalName(i))
		}
		return s
	}
	exporterConfig := writeFleetConfig(t, dir, root, names(0, 1))
	exporterAddr := freeAddr(t)
	exporter := startProcess(ctx, t, "docspace_exporter", exporterBin,
		"--config.file="+exporterConfig, "--web.listen-address="+exporterAddr)
	exporterURL := "http://" + exporterAddr
	waitReady(ctx, t, exporter, exporterURL+"/-/ready")
	checkDiscovery(ctx, t, exporterURL, exporterAddr, names(0, 1))

	promConfig := writeReadmePrometheusFile(t, dir, exporterAddr)
	before := fileSum(t, promConfig)
	prom := startPrometheus(ctx, t, bins["prometheus"], dir, "prometheus", promConfig)

	waitScraped(ctx, t, prom, names(0, 1))
	checkMixinRulesLoaded(ctx, t, prom)
	// The portal's labels from portals.yml are on its series.
	if typ, n, err := promQuery(ctx, prom, `docspace_up{job="docspace", instance="portal-00", env="test", shard_test="yes"} == 1`, true); err != nil || n != 1 {
		t.Errorf("portal-00 has no docspace_up 1 with its labels env and shard_test: %s, %d series, %v", typ, n, err)
	}

	// Add portal-02, remove portal-01, reload the exporter.
	writeFleetConfig(t, dir, root, names(0, 2))
	if _, err := httpDo(ctx, http.MethodPost, exporterURL+"/-/reload"); err != nil {
		t.Fatalf("reloading the exporter: %v", err)
	}
	checkDiscovery(ctx, t, exporterURL, exporterAddr, names(0, 2))
	waitScraped(ctx, t, prom, names(0, 2))
	if fileSum(t, promConfig) != before {
		t.Error("Prometheus' configuration file changed")
	}
	if n := portals[2].Requests(docspacetest.PathSchedule); n == 0 {
		t.Error("the added portal was never called")
	}
}

// TestE2ESharding runs two Prometheus servers with the sharding
// recipe over the targets one exporter discovers for 60 portals: each
// portal is scraped by exactly one server, and together they have every
// portal's series.
func TestE2ESharding(t *testing.T) {
	const fleetSize = 60
	bins := requireBinaries(t, "prometheus")
	dir := t.TempDir()
	exporterBin := buildExporter(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	t.Cleanup(cancel)

	_, root := startFleet(t, fleetSize)
	var all []string
	for i := range fleetSize {
		all = append(all, portalName(i))
	}
	exporterConfig := writeFleetConfig(t, dir, root, all)
	exporterAddr := freeAddr(t)
	exporter := startProcess(ctx, t, "docspace_exporter", exporterBin,
		"--config.file="+exporterConfig, "--web.listen-address="+exporterAddr)
	waitReady(ctx, t, exporter, "http://"+exporterAddr+"/-/ready")

	const shards = 2
	proms := make([]string, shards)
	for i := range shards {
		shard := fmt.Sprint(i)
		config := readmePrometheusConfig(t, shardingMarker, exporterAddr, func(job map[string]any) {
			setShard(t, job, shards, shard)
		})
		proms[i] = startPrometheus(ctx, t, bins["prometheus"], dir, "prometheus-shard-"+shard, writeFile(t, dir, "prometheus-"+shard+".yml", config))
	}

	// Each server discovers the whole fleet and keeps its shard.
	var active [shards][]string
	err := waitFor(ctx, 60*time.Second, func() error {
		for i, prom := range proms {
			targets, dropped, err := discoveredTargets(ctx, prom)
			if err != nil {
				return err
			}
			if len(targets)+dropped != fleetSize {
				return fmt.Errorf("server %d: %d active and %d dropped targets, want %d discovered", i, len(targets), dropped, fleetSize)
			}
			active[i] = targets
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, targets := range active {
		if len(targets) == 0 {
			t.Errorf("server %d scrapes no portal: the hashmod spreads nothing to it", i)
		}
		t.Logf("server %d scrapes %d portals", i, len(targets))
	}
	// Then their series: every portal on exactly one server.
	var series [shards][]string
	err = waitFor(ctx, 60*time.Second, func() error {
		for i, prom := range proms {
			instances, err := upInstances(ctx, prom)
			if err != nil {
				return err
			}
			if !slices.Equal(instances, active[i]) {
				return fmt.Errorf("server %d has docspace_up 1 for %d portals, scrapes %d", i, len(instances), len(active[i]))
			}
			series[i] = instances
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, instances := range series {
		for _, name := range instances {
			seen[name]++
		}
	}
	for _, name := range all {
		if seen[name] != 1 {
			t.Errorf("portal %s has series on %d servers, want exactly 1", name, seen[name])
		}
	}
	// All that the servers ever ingested is the fleet, once (the series
	// API also shows series that went stale).
	for i, prom := range proms {
		var ever []map[string]string
		if err := promAPI(ctx, prom+"/api/v1/series?"+url.Values{"match[]": {`docspace_up{job="docspace"}`}}.Encode(), &ever); err != nil {
			t.Fatal(err)
		}
		if len(ever) != len(series[i]) {
			t.Errorf("server %d ingested docspace_up of %d portals, scrapes %d", i, len(ever), len(series[i]))
		}
	}
}

// ---------------------------------------------------------------------------
// Helpers of the fleet tests

// checkDiscovery reads the exporter's discovery endpoint: one target per
// portal of names, the exporter itself probing it.
func checkDiscovery(ctx context.Context, t *testing.T, exporterURL, exporterAddr string, names []string) {
	t.Helper()
	body, err := httpGet(ctx, exporterURL+"/discovery")
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(body, &groups); err != nil {
		t.Fatalf("/discovery: %v\n%s", err, body)
	}
	var got []string
	for _, g := range groups {
		if !slices.Equal(g.Targets, []string{exporterAddr}) || g.Labels["__metrics_path__"] != "/probe" || g.Labels["instance"] != g.Labels["__param_target"] {
			t.Errorf("/discovery: a group is not the exporter probing a portal: %+v", g)
		}
		got = append(got, g.Labels["__param_target"])
	}
	if !slices.Equal(got, names) {
		t.Errorf("/discovery lists %v, want %v", got, names)
	}
}

func portalName(i int) string { return fmt.Sprintf("portal-%02d", i) }

// startFleet serves n healthy fake portals behind one listener, under
// /portal-00 ..., and returns them and the listener's root URL.
func startFleet(t *testing.T, n int) ([]*docspacetest.Portal, string) {
	t.Helper()
	mux := http.NewServeMux()
	slot := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Hour)
	portals := make([]*docspacetest.Portal, n)
	for i := range portals {
		p := docspacetest.NewPortal(apiKey)
		p.SetTimezone("UTC")
		p.SetProgress(docspacetest.ProgressCompleted)
		p.SetSchedule(schedule(0, slot.Hour(), 0, slot.AddDate(0, 0, -1).Add(3*time.Minute)))
		mux.Handle("/"+portalName(i)+"/", http.StripPrefix("/"+portalName(i), p))
		portals[i] = p
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		for _, p := range portals {
			p.Close()
		}
		srv.Close()
	})
	return portals, srv.URL
}

// writeFleetConfig writes dir/portals.yml with the named portals of
// startFleet at root, each labelled env=test and shard_test=yes.
func writeFleetConfig(t *testing.T, dir, root string, names []string) string {
	t.Helper()
	urls := map[string]string{}
	for _, name := range names {
		urls[name] = root + "/" + name
	}
	return writePortals(t, dir, names, urls, "    timezone: UTC\n    labels: {env: test, shard_test: 'yes'}\n")
}

// markerFiles names the file of each marker: the README's complete
// prometheus.yml, and the sharding recipe of docs/.
var markerFiles = map[string]string{
	discoveryMarker: "README.md",
	shardingMarker:  filepath.Join("docs", "sharding.md"),
}

// readmeBlock returns the YAML block that follows marker in its file.
func readmeBlock(t *testing.T, marker string) []byte {
	t.Helper()
	file := markerFiles[marker]
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), file))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := bytes.Cut(readme, []byte(marker+"\n```yaml\n"))
	if !ok {
		t.Fatalf("%s has no %q followed by a ```yaml block", file, marker)
	}
	block, _, ok := bytes.Cut(after, []byte("\n```\n"))
	if !ok {
		t.Fatalf("the YAML block after %q in %s does not end", marker, file)
	}
	return block
}

// readmePrometheusConfig returns the scrape_configs of the README's block
// after marker, with the exporter at exporterAddr, scrapes and discovery
// refreshes every second, and edit applied to the docspace job.
func readmePrometheusConfig(t *testing.T, marker, exporterAddr string, edit func(job map[string]any)) string {
	t.Helper()
	block := bytes.ReplaceAll(readmeBlock(t, marker), []byte(readmeExporter), []byte(exporterAddr))
	var cfg struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(block, &cfg); err != nil {
		t.Fatalf("the README's block after %q: %v", marker, err)
	}
	found := false
	for _, job := range cfg.ScrapeConfigs {
		job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
		if job["job_name"] != "docspace" {
			continue
		}
		found = true
		sd, ok := job["http_sd_configs"].([]any)
		if !ok || len(sd) != 1 {
			t.Fatalf("the README's job docspace after %q has not one http_sd_configs entry: %v", marker, job["http_sd_configs"])
		}
		sd[0].(map[string]any)["refresh_interval"] = "1s"
		if u := sd[0].(map[string]any)["url"]; u != "http://"+exporterAddr+"/discovery" {
			t.Fatalf("the README's discovery URL is %v, want http://%s/discovery", u, readmeExporter)
		}
		if edit != nil {
			edit(job)
		}
	}
	if !found {
		t.Fatalf("the README's block after %q has no job docspace", marker)
	}
	out, err := yaml.Marshal(map[string]any{"scrape_configs": cfg.ScrapeConfigs})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// writeReadmePrometheusFile writes dir/prometheus.yml: the README's whole
// block after discoveryMarker, with the exporter at exporterAddr, every
// interval one second and no Alertmanager, and mixin/alerts.yaml under the
// name of the block's one rule file, beside it.
func writeReadmePrometheusFile(t *testing.T, dir, exporterAddr string) string {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(readmeBlock(t, discoveryMarker), &doc); err != nil {
		t.Fatalf("the README's block after %q: %v", discoveryMarker, err)
	}
	var scrape struct {
		ScrapeConfigs any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(readmePrometheusConfig(t, discoveryMarker, exporterAddr, nil)), &scrape); err != nil {
		t.Fatal(err)
	}
	doc["scrape_configs"] = scrape.ScrapeConfigs
	doc["global"] = map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
	delete(doc, "alerting")
	files, _ := doc["rule_files"].([]any)
	if len(files) != 1 {
		t.Fatalf("the README's prometheus.yml names rule files %v, want one: the mixin's alerts", doc["rule_files"])
	}
	name, _ := files[0].(string)
	if name == "" || filepath.IsAbs(name) || filepath.Base(name) != name {
		t.Fatalf("the README's rule file %v is not a file name beside prometheus.yml", files[0])
	}
	alerts, err := os.ReadFile(filepath.Join(repoRoot(t), "mixin", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, name, string(alerts))
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "prometheus.yml", string(out))
}

// checkMixinRulesLoaded waits until Prometheus at prom has evaluated every
// alert of mixin/alerts.yaml without an error.
func checkMixinRulesLoaded(ctx context.Context, t *testing.T, prom string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "mixin", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var mixin struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(src, &mixin); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, g := range mixin.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				want[r.Alert] = true
			}
		}
	}
	if err := waitFor(ctx, 30*time.Second, func() error {
		var data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := promAPI(ctx, prom+"/api/v1/rules?type=alert", &data); err != nil {
			return err
		}
		ok := map[string]bool{}
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return fmt.Errorf("alert %s: health %q %s", r.Name, r.Health, r.LastError)
				}
				ok[r.Name] = true
			}
		}
		for name := range want {
			if !ok[name] {
				return fmt.Errorf("alert %s is not loaded and evaluated", name)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("Prometheus with the README's prometheus.yml: %v", err)
	}
	t.Logf("Prometheus with the README's prometheus.yml evaluates the mixin's %d alerts", len(want))
}

// setShard makes the README's hashmod recipe in job that of shard of n.
func setShard(t *testing.T, job map[string]any, n int, shard string) {
	t.Helper()
	relabels, _ := job["relabel_configs"].([]any)
	var hashmod, keep map[string]any
	for _, r := range relabels {
		switch r := r.(map[string]any); r["action"] {
		case "hashmod":
			hashmod = r
		case "keep":
			keep = r
		}
	}
	if hashmod == nil || keep == nil {
		t.Fatalf("the README's sharding recipe lacks a hashmod or a keep relabelling: %v", relabels)
	}
	hashmod["modulus"] = n
	keep["regex"] = shard
}

// startPrometheus starts Prometheus with config and returns its URL once
// ready.
func startPrometheus(ctx context.Context, t *testing.T, bin, dir, name, config string) string {
	t.Helper()
	addr := freeAddr(t)
	p := startProcess(ctx, t, name, bin,
		"--config.file="+config,
		"--storage.tsdb.path="+mkdir(t, dir, name+"-data"),
		"--web.listen-address="+addr)
	u := "http://" + addr
	waitReady(ctx, t, p, u+"/-/ready")
	return u
}

// waitScraped waits until the docspace job's targets in Prometheus are
// exactly the portals names, each up with docspace_up 1.
func waitScraped(ctx context.Context, t *testing.T, prom string, names []string) {
	t.Helper()
	err := waitFor(ctx, 60*time.Second, func() error {
		targets, _, err := discoveredTargets(ctx, prom)
		if err != nil {
			return err
		}
		if !slices.Equal(targets, names) {
			return fmt.Errorf("the targets are %v, want %v", targets, names)
		}
		up, err := upInstances(ctx, prom)
		if err != nil {
			return err
		}
		if !slices.Equal(up, names) {
			return fmt.Errorf("docspace_up 1 for %v, want %v", up, names)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// discoveredTargets returns the instances of the docspace job's active
// targets that are up and scraped through /probe?target=<instance>, sorted,
// and how many targets the job dropped by relabelling.
func discoveredTargets(ctx context.Context, prom string) ([]string, int, error) {
	var targets promTargets
	if err := promAPI(ctx, prom+"/api/v1/targets", &targets); err != nil {
		return nil, 0, err
	}
	var names []string
	for _, tg := range targets.ActiveTargets {
		if tg.Labels["job"] != "docspace" {
			continue
		}
		name := tg.Labels["instance"]
		u, err := url.Parse(tg.ScrapeURL)
		if err != nil || u.Path != "/probe" || u.Query().Get("target") != name {
			return nil, 0, fmt.Errorf("target %s is scraped at %s, not /probe?target=%s", name, tg.ScrapeURL, name)
		}
		if tg.Health != "up" {
			return nil, 0, fmt.Errorf("target %s is %q: %s", name, tg.Health, tg.LastError)
		}
		names = append(names, name)
	}
	dropped := 0
	for _, tg := range targets.DroppedTargets {
		if tg.DiscoveredLabels["job"] == "docspace" {
			dropped++
		}
	}
	slices.Sort(names)
	return names, dropped, nil
}

// upInstances returns the instances with docspace_up 1 now, sorted.
func upInstances(ctx context.Context, prom string) ([]string, error) {
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	q := url.Values{"query": {`docspace_up{job="docspace"} == 1`}}
	if err := promAPI(ctx, prom+"/api/v1/query?"+q.Encode(), &data); err != nil {
		return nil, err
	}
	var names []string
	for _, r := range data.Result {
		names = append(names, r.Metric["instance"])
	}
	slices.Sort(names)
	return names, nil
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
