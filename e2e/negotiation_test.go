//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// A scrape protocol: what Prometheus asks for and what the exporter answers.
type scrapeProtocol struct {
	// accept is the Accept header's clauses, most wanted first, without
	// their q weights (which must fall from each clause to the next).
	accept []string
	// contentType is the answer's Content-Type.
	contentType string
}

// Prometheus' Accept header, from its source:
//   - 2.x (2.42): scrapeAcceptHeader in scrape/scrape.go, the same for every
//     job (protobuf comes first only with --enable-feature=native-histograms;
//     scrape_protocols arrived in 2.49).
//   - 3.x: acceptHeader in scrape/scrape.go builds it from the job's
//     scrape_protocols, by default config.DefaultScrapeProtocols (OpenMetrics
//     1.0.0, OpenMetrics 0.0.1, Prometheus text 1.0.0, Prometheus text 0.0.4),
//     with escaping=allow-utf-8 (the default metric_name_escaping_scheme) on
//     the formats that have it, then */*.
//
// The answers are promhttp's (EnableOpenMetrics, no compression): the first
// of its formats the Accept header allows, with the escaping scheme the
// clause asked for, else the default, underscores. Prometheus 3 fails a
// scrape whose Content-Type is missing or unknown unless the job has a
// fallback_scrape_protocol (model/textparse's extractMediaType); 2.x parses
// such an answer as text.
var (
	prometheus2Default = scrapeProtocol{
		accept: []string{
			"application/openmetrics-text;version=1.0.0",
			"application/openmetrics-text;version=0.0.1",
			"text/plain;version=0.0.4",
			"*/*",
		},
		contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
	}
	prometheus3Default = scrapeProtocol{
		accept: []string{
			"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8",
			"application/openmetrics-text;version=0.0.1",
			"text/plain;version=1.0.0;escaping=allow-utf-8",
			"text/plain;version=0.0.4",
			"*/*",
		},
		contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
	}
	// scrape_protocols: [PrometheusProto]
	prometheus3Protobuf = scrapeProtocol{
		accept: []string{
			"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
			"*/*",
		},
		contentType: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores",
	}
)

// protobufJob is the job added for Prometheus 3: the README's /probe of one
// portal, negotiated as protobuf only.
const protobufJob = "docspace_protobuf"

// TestE2ENegotiation runs Prometheus with the README's discovery set-up, the
// exporter behind a recording reverse proxy, and checks the protocol of the
// scrapes of /metrics and /probe: the Accept header Prometheus sends and the
// Content-Type the exporter answers, as the README says for each major
// version. With Prometheus 3, a job with scrape_protocols: [PrometheusProto]
// gets protobuf and ingests the same series.
func TestE2ENegotiation(t *testing.T) {
	bins := requireBinaries(t, "prometheus")
	major := prometheusMajor(t, bins["prometheus"])
	dir := t.TempDir()
	exporterBin := buildExporter(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	t.Cleanup(cancel)

	_, root := startFleet(t, 1)
	name := portalName(0)
	exporterConfig := writeFleetConfig(t, dir, root, []string{name})
	exporterAddr := freeAddr(t)
	exporter := startProcess(ctx, t, "docspace_exporter", exporterBin,
		"--config.file="+exporterConfig, "--web.listen-address="+exporterAddr)
	waitReady(ctx, t, exporter, "http://"+exporterAddr+"/-/ready")

	// The README's jobs reach the exporter through one proxy (the targets of
	// /discovery are the proxy too: it forwards the Host Prometheus used),
	// the protobuf job through another.
	readme := startRecorder(t, exporterAddr)
	protobuf := startRecorder(t, exporterAddr)
	config := readmePrometheusConfig(t, discoveryMarker, readme.addr, nil)
	want := map[*recorder]map[string]scrapeProtocol{}
	switch major {
	case 2:
		want[readme] = map[string]scrapeProtocol{"/metrics": prometheus2Default, "/probe": prometheus2Default}
	case 3:
		want[readme] = map[string]scrapeProtocol{"/metrics": prometheus3Default, "/probe": prometheus3Default}
		want[protobuf] = map[string]scrapeProtocol{"/probe": prometheus3Protobuf}
		config = withProtobufJob(t, config, protobuf.addr, name)
	default:
		t.Fatalf("Prometheus %d.x: this test knows the scrape protocols of 2.x and 3.x only; look up its defaults and add them", major)
	}
	prom := startPrometheus(ctx, t, bins["prometheus"], dir, "prometheus", writeFile(t, dir, "prometheus.yml", config))
	waitScraped(ctx, t, prom, []string{name})
	if err := waitFor(ctx, 30*time.Second, func() error {
		return queryHasData(ctx, prom, `up{job="docspace_exporter"} == 1`, true)
	}); err != nil {
		t.Fatalf("the exporter's /metrics is not up in Prometheus: %v", err)
	}
	if major == 3 {
		checkProtobufSeries(ctx, t, prom, name)
	}

	for rec, paths := range want {
		for path, proto := range paths {
			ex, ok := rec.last(path)
			if !ok {
				t.Errorf("Prometheus never scraped %s through the proxy at %s", path, rec.addr)
				continue
			}
			t.Logf("Prometheus %d.x, %s: Accept: %s; Accept-Encoding: %s; answer %d, Content-Type: %s",
				major, path, ex.accept, ex.acceptEncoding, ex.status, ex.contentType)
			if err := checkAccept(ex.accept, proto.accept); err != nil {
				t.Errorf("Prometheus %d.x scrapes %s with Accept: %s: %v", major, path, ex.accept, err)
			}
			if !sameMediaType(ex.contentType, proto.contentType) {
				t.Errorf("the exporter answers Prometheus %d.x on %s with Content-Type %q, want %q", major, path, ex.contentType, proto.contentType)
			}
			if ex.contentEncoding != "" {
				t.Errorf("the exporter compresses its answer on %s (Content-Encoding %q); the README says it does not", path, ex.contentEncoding)
			}
			if ex.status != http.StatusOK {
				t.Errorf("the exporter answers %s with status %d", path, ex.status)
			}
		}
	}
}

// prometheusMajor returns the major version `prometheus --version` reports.
func prometheusMajor(t *testing.T, bin string) int {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	m := regexp.MustCompile(`^prometheus, version (\d+)\.`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s --version does not start with `prometheus, version N.`:\n%s", bin, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	return major
}

// withProtobufJob adds to the scrape_configs of config the job protobufJob:
// /probe?target=name at addr, instance name, with scrape_protocols
// [PrometheusProto].
func withProtobufJob(t *testing.T, config, addr, name string) string {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, map[string]any{
		"job_name":         protobufJob,
		"scrape_interval":  "1s",
		"scrape_timeout":   "1s",
		"scrape_protocols": []string{"PrometheusProto"},
		"metrics_path":     "/probe",
		"params":           map[string][]string{"target": {name}},
		"static_configs":   []map[string]any{{"targets": []string{addr}, "labels": map[string]string{"instance": name}}},
	})
	out, err := yaml.Marshal(map[string]any{"scrape_configs": cfg.ScrapeConfigs})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// checkProtobufSeries waits until the protobuf job has docspace_up 1 for
// the portal and as many series as the README's job scraping it as text.
func checkProtobufSeries(ctx context.Context, t *testing.T, prom, name string) {
	t.Helper()
	var text, proto int
	err := waitFor(ctx, 30*time.Second, func() error {
		if err := queryHasData(ctx, prom, fmt.Sprintf(`docspace_up{job=%q, instance=%q} == 1`, protobufJob, name), true); err != nil {
			return fmt.Errorf("docspace_up 1 of the protobuf job: %w", err)
		}
		var err error
		if _, text, err = promQuery(ctx, prom, fmt.Sprintf(`{job="docspace", instance=%q}`, name), true); err != nil {
			return err
		}
		if _, proto, err = promQuery(ctx, prom, fmt.Sprintf(`{job=%q, instance=%q}`, protobufJob, name), true); err != nil {
			return err
		}
		if text == 0 || proto != text {
			return fmt.Errorf("%s has %d series scraped as protobuf, %d as text", name, proto, text)
		}
		return nil
	})
	if err != nil {
		t.Errorf("the protobuf scrape does not ingest the portal's series: %v", err)
		return
	}
	t.Logf("%s: %d series scraped as protobuf, as many as scraped as text", name, proto)
}

// checkAccept checks an Accept header against the clauses want, which must
// come in that order, their q weights (1 when absent) falling.
func checkAccept(header string, want []string) error {
	var clauses []string
	var weights []float64
	for c := range strings.SplitSeq(header, ",") {
		var params []string
		q := 1.0
		for p := range strings.SplitSeq(strings.TrimSpace(c), ";") {
			if v, ok := strings.CutPrefix(p, "q="); ok {
				var err error
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					return fmt.Errorf("clause %q: %w", c, err)
				}
				continue
			}
			params = append(params, p)
		}
		clauses = append(clauses, strings.Join(params, ";"))
		weights = append(weights, q)
	}
	if !slices.Equal(clauses, want) {
		return fmt.Errorf("its clauses are %q, want %q", clauses, want)
	}
	for i := 1; i < len(weights); i++ {
		if weights[i] >= weights[i-1] {
			return fmt.Errorf("the q weights %v do not fall", weights)
		}
	}
	return nil
}

// sameMediaType reports whether two Content-Type values are the same media
// type with the same parameters.
func sameMediaType(got, want string) bool {
	gotType, gotParams, err := mime.ParseMediaType(got)
	if err != nil {
		return false
	}
	wantType, wantParams, err := mime.ParseMediaType(want)
	return err == nil && gotType == wantType && maps.Equal(gotParams, wantParams)
}

// exchange is what a recorder saw of one request and its answer.
type exchange struct {
	accept, acceptEncoding       string
	status                       int
	contentType, contentEncoding string
}

// recorder is a reverse proxy to the exporter that keeps the last exchange
// of each path.
type recorder struct {
	addr      string
	mu        sync.Mutex
	exchanges map[string]exchange
}

// startRecorder starts a recorder in front of the exporter at exporterAddr.
func startRecorder(t *testing.T, exporterAddr string) *recorder {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: exporterAddr}
	rec := &recorder{exchanges: map[string]exchange{}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// /discovery names the address Prometheus asked: the proxy.
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.exchanges[resp.Request.URL.Path] = exchange{
				accept:          resp.Request.Header.Get("Accept"),
				acceptEncoding:  resp.Request.Header.Get("Accept-Encoding"),
				status:          resp.StatusCode,
				contentType:     resp.Header.Get("Content-Type"),
				contentEncoding: resp.Header.Get("Content-Encoding"),
			}
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	rec.addr = srv.Listener.Addr().String()
	return rec
}

// last returns the last exchange on path.
func (r *recorder) last(path string) (exchange, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ex, ok := r.exchanges[path]
	return ex, ok
}
