//go:build e2e

// Package e2e runs docspace_exporter end to end: fake DocSpace portals, the
// exporter binary, Prometheus 2.x with the mixin's alerts and Alertmanager,
// all on 127.0.0.1. Run it with `make e2e`, which is
//
//	cd e2e && go test -count=1 -tags e2e -run E2E -v ./
//
// It needs prometheus, promtool and prometheus-alertmanager (`make deps`).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
	"github.com/docspace-exporter/docspace_exporter/mixin"
)

const (
	// budget bounds everything after the exporter is built.
	budget = 3 * time.Minute
	// buildTimeout bounds `go build` of the exporter (a cold build cache is slow).
	buildTimeout = 4 * time.Minute
	// alertFor replaces every `for:` of the mixin's alerts.
	alertFor = "2s"
	// apiKey is the fake portals' key (never a real one).
	apiKey = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// lastBackupLayout is how MySQL-backed DocSpace writes lastBackupTime (UTC).
	lastBackupLayout = "2006-01-02T15:04:05"
)

// The portals, by the name used in the exporter config, the /probe target
// and Prometheus' instance label.
const (
	healthy      = "healthy"
	overdue      = "overdue"
	failed       = "failed"
	unauthorized = "unauthorized"
	noSchedule   = "noschedule"
	notStored    = "notstored"
	historyFails = "historyfails"
	expiring     = "expiring"
	restoring    = "restoring"
)

var portalNames = []string{healthy, overdue, failed, unauthorized, noSchedule, notStored, historyFails, expiring, restoring}

// wantAlerts is every alert that must fire, and for which instances. No other
// alert may fire; in particular the healthy portal raises none.
var wantAlerts = map[string][]string{
	"DocSpaceBackupOverdue":         {overdue},
	"DocSpaceBackupFailed":          {failed},
	"DocSpaceAPIDown":               {restoring, unauthorized},
	"DocSpaceBackupScheduleMissing": {noSchedule},
	"DocSpaceBackupNotStored":       {notStored},
	"DocSpaceBackupHistoryStale":    {historyFails},
	"DocSpaceBackupExpiring":        {expiring},
}

func TestE2E(t *testing.T) {
	bins := requireBinaries(t, "prometheus", "promtool", "prometheus-alertmanager")
	dir := t.TempDir()

	buildStart := time.Now()
	exporterBin := buildExporter(t, dir)
	t.Logf("built the exporter in %s", time.Since(buildStart).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), budget)
	t.Cleanup(cancel)
	start := time.Now()

	// 1. Fake portals.
	portalURLs := startPortals(t, time.Now().UTC())

	// 2. The exporter.
	exporterAddr := freeAddr(t)
	exporterConfig := writeExporterConfig(t, dir, portalURLs)
	exporter := startProcess(ctx, t, "docspace_exporter", exporterBin,
		"--config.file="+exporterConfig, "--web.listen-address="+exporterAddr)
	exporterURL := "http://" + exporterAddr
	waitReady(ctx, t, exporter, exporterURL+"/-/ready")

	// 3. Alertmanager.
	amAddr := freeAddr(t)
	amConfig := writeFile(t, dir, "alertmanager.yml", alertmanagerConfig)
	am := startProcess(ctx, t, "alertmanager", bins["prometheus-alertmanager"],
		"--config.file="+amConfig,
		"--storage.path="+mkdir(t, dir, "alertmanager-data"),
		"--web.listen-address="+amAddr,
		"--web.external-url=http://"+amAddr,
		"--cluster.listen-address=")
	amURL := "http://" + amAddr
	waitReady(ctx, t, am, amURL+"/-/ready")

	// 4. Prometheus with the mixin's alerts, their `for:` shortened.
	rules := writeShortenedAlerts(t, dir, bins["promtool"])
	promAddr := freeAddr(t)
	promConfig := writeFile(t, dir, "prometheus.yml", prometheusConfig(t, exporterAddr, amAddr, rules))
	prom := startProcess(ctx, t, "prometheus", bins["prometheus"],
		"--config.file="+promConfig,
		"--storage.tsdb.path="+mkdir(t, dir, "prometheus-data"),
		"--web.listen-address="+promAddr)
	promURL := "http://" + promAddr
	waitReady(ctx, t, prom, promURL+"/-/ready")
	t.Logf("portals, exporter (%s), Alertmanager (%s) and Prometheus (%s) ready after %s",
		exporterURL, amURL, promURL, time.Since(start).Round(time.Millisecond))

	procs := []*process{exporter, am, prom}
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"targets_up", func(t *testing.T) { checkTargetsUp(ctx, t, promURL) }},
		{"promtool_check_metrics", func(t *testing.T) { checkMetricsLint(ctx, t, bins["promtool"], exporterURL) }},
		{"dashboard_queries", func(t *testing.T) { checkDashboardQueries(ctx, t, promURL) }},
		{"alerts", func(t *testing.T) { checkAlerts(ctx, t, promURL, amURL) }},
	}
	for _, s := range steps {
		stepStart := time.Now()
		ok := t.Run(s.name, s.run)
		result := "ok"
		if !ok {
			result = "FAILED"
		}
		t.Logf("%s: %s after %s", s.name, result, time.Since(stepStart).Round(time.Millisecond))
		for _, p := range procs {
			if err := p.exited(); err != nil {
				t.Fatalf("%s stopped while the test ran: %v", p.name, err)
			}
		}
		if !ok && s.name == "targets_up" {
			t.Fatal("the targets are not all up, so the other checks cannot work; see the logs below")
		}
	}
	t.Logf("all checks done %s after start (build excluded)", time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------
// Fake portals

// startPortals starts one httptest server per fake portal and returns their
// URLs by portal name. now is the current UTC time; lastBackupTime values are
// relative to it.
func startPortals(t *testing.T, now time.Time) map[string]string {
	t.Helper()
	// The slot of the healthy schedules is the next whole hour at least 1h
	// away, so it stays in the future for the whole test; their last run was
	// at the previous slot, a day or a week ago.
	slot := now.Add(2 * time.Hour).Truncate(time.Hour)
	weeklyLast := slot.AddDate(0, 0, -7).Add(4 * time.Minute)
	weekly := schedule(1, slot.Hour(), int(slot.Weekday())+1, weeklyLast) // day: 1 = Sunday
	dailyLast := slot.AddDate(0, 0, -1).Add(3 * time.Minute)
	daily := schedule(0, slot.Hour(), 0, dailyLast)
	// Overdue: a daily schedule that last ran three days ago, so its next
	// slot passed two days ago.
	lateLast := now.Truncate(time.Hour).AddDate(0, 0, -3).Add(5 * time.Minute)
	late := schedule(0, now.Hour(), 0, lateLast)
	// Failed: a daily schedule whose backup started two hours ago and
	// failed; its file is not due in the history before 6h.
	failedLast := now.Add(-2 * time.Hour).Truncate(time.Hour).Add(2 * time.Minute)
	failedDaily := schedule(0, failedLast.Hour(), 0, failedLast)

	// The stored backups: older ones, and the backup of the last start,
	// stored a few minutes after it.
	// storedIn puts them in a storage type (4 DataStore, whose backups
	// expire a day after they are made); stored, in a room.
	storedIn := func(last time.Time, storage int) []docspacetest.Backup {
		return []docspacetest.Backup{
			docspacetest.StoredBackup("docspace", last.Add(3*time.Minute), storage, docspacetest.DateTimeMySQL),
			docspacetest.StoredBackup("docspace", last.AddDate(0, 0, -7).Add(4*time.Minute), storage, docspacetest.DateTimePostgres),
			docspacetest.StoredBackup("docspace", last.AddDate(0, 0, -9).Add(5*time.Hour), storage, docspacetest.DateTimeMySQL), // manual
		}
	}
	stored := func(last time.Time) []docspacetest.Backup { return storedIn(last, 0) }
	setups := map[string]func(p *docspacetest.Portal){
		healthy: func(p *docspacetest.Portal) {
			p.SetSchedule(weekly)
			p.SetHistory(stored(weeklyLast)...)
		},
		overdue: func(p *docspacetest.Portal) {
			p.SetSchedule(late)
			p.SetHistory(stored(lateLast)...)
		},
		failed: func(p *docspacetest.Portal) {
			p.SetSchedule(failedDaily)
			p.SetProgress(docspacetest.ProgressFailed)
			p.SetHistory(stored(failedLast)[1:]...)
		},
		// Not stored: the backup of the last start (yesterday) completed,
		// but its file has since vanished from the storage, so the portal
		// drops it from its history when the exporter reads it.
		notStored: func(p *docspacetest.Portal) {
			p.SetSchedule(daily)
			backups := stored(dailyLast)
			backups[0].Gone = true
			p.SetHistory(backups...)
		},
		// Every history call fails, so the history has never been read.
		historyFails: func(p *docspacetest.Portal) {
			p.SetSchedule(daily)
			p.SetHistory(stored(dailyLast)...)
			p.SetOverride(docspacetest.PathHistory, docspacetest.ServerError("Could not find a part of the path."))
		},
		// Expiring: backups go well, but all are in DataStore: the two
		// older ones have expired, and the newest, made some 22h ago,
		// expires in 1-2h.
		expiring: func(p *docspacetest.Portal) {
			p.SetSchedule(daily)
			p.SetHistory(storedIn(dailyLast, 4)...)
		},
		unauthorized: func(p *docspacetest.Portal) {
			p.SetSchedule(daily)
			p.SetOverride(docspacetest.PathSchedule, docspacetest.Unauthorized())
		},
		noSchedule: func(p *docspacetest.Portal) { p.SetSchedule("") },
		// Restoring: DocSpace restores the portal from a backup, so it
		// answers every backup call with 403 but getrestoreprogress.
		restoring: func(p *docspacetest.Portal) {
			p.SetSchedule(daily)
			p.SetHistory(stored(dailyLast)...)
			p.SetRestore(docspacetest.RestoreRunning)
		},
	}
	urls := make(map[string]string, len(setups))
	for _, name := range portalNames {
		p := docspacetest.NewPortal(apiKey)
		p.SetTimezone("UTC")
		p.SetProgress(docspacetest.ProgressCompleted)
		setups[name](p)
		srv := httptest.NewServer(p)
		t.Cleanup(func() {
			p.Close()
			srv.Close()
		})
		urls[name] = srv.URL
	}
	return urls
}

// schedule returns a ScheduleDto: period 0 daily, 1 weekly, 2 monthly; hour
// and day in the portal's time zone (UTC here); last is lastBackupTime.
func schedule(period, hour, day int, last time.Time) string {
	return fmt.Sprintf(`{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":%d,"hour":%d,"day":%d},"backupsStored":7,"lastBackupTime":%q,"dump":false}`,
		period, hour, day, last.UTC().Format(lastBackupLayout))
}

// ---------------------------------------------------------------------------
// Configuration files

func writeExporterConfig(t *testing.T, dir string, portalURLs map[string]string) string {
	return writePortals(t, dir, portalNames, portalURLs, "")
}

// writePortals writes dir/portals.yml listing the portals names, each with
// its URL from urls, the key file dir/api-key and the lines extra.
func writePortals(t *testing.T, dir string, names []string, urls map[string]string, extra string) string {
	t.Helper()
	keyFile := filepath.Join(dir, "api-key")
	if err := os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("portals:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  - name: %s\n    url: %q\n    api_key_file: %q\n%s", name, urls[name], keyFile, extra)
	}
	return writeFile(t, dir, "portals.yml", b.String())
}

// alertmanagerConfig sends every alert to a receiver without integrations:
// the test only reads the alerts back through the API.
const alertmanagerConfig = `route:
  receiver: blackhole
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
`

// prometheusConfig is the README's discovery set-up, scraping every second,
// with the mixin's alerts and Alertmanager.
func prometheusConfig(t *testing.T, exporterAddr, amAddr, rulesFile string) string {
	t.Helper()
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
`, rulesFile, amAddr) + readmePrometheusConfig(t, discoveryMarker, exporterAddr, nil)
}

// writeShortenedAlerts writes mixin/alerts.yaml with the `for:` of every rule
// set to alertFor, and checks the result with promtool.
func writeShortenedAlerts(t *testing.T, dir, promtool string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "mixin", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, n, err := shortenFor(src, alertFor)
	if err != nil {
		t.Fatalf("rewriting mixin/alerts.yaml: %v", err)
	}
	if n == 0 {
		t.Fatal("mixin/alerts.yaml has no rule with for: to shorten; the layout groups[].rules[].for changed?")
	}
	t.Logf("mixin/alerts.yaml: the for: of %d rules set to %s", n, alertFor)
	path := writeFile(t, dir, "alerts.yaml", string(out))
	if b, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the shortened alerts: %v\n%s", err, b)
	}
	return path
}

// shortenFor sets the `for:` of every rule in a Prometheus rule file to d and
// returns the new file and how many rules it changed.
func shortenFor(src []byte, d string) ([]byte, int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, 0, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, 0, errors.New("not a single YAML document")
	}
	changed := 0
	for _, group := range mappingValue(doc.Content[0], "groups").Content {
		for _, rule := range mappingValue(group, "rules").Content {
			if v := mappingValue(rule, "for"); v.Kind == yaml.ScalarNode {
				v.Value, v.Tag, v.Style = d, "!!str", 0
				changed++
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	return out, changed, err
}

// mappingValue returns the value of key in a mapping node, or an empty node.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
	}
	return &yaml.Node{}
}

// ---------------------------------------------------------------------------
// Checks

// checkTargetsUp waits until Prometheus reports every target of both jobs up.
func checkTargetsUp(ctx context.Context, t *testing.T, promURL string) {
	want := map[string]bool{"docspace_exporter/": true}
	for _, name := range portalNames {
		want["docspace/"+name] = true
	}
	err := waitFor(ctx, 60*time.Second, func() error {
		var targets promTargets
		if err := promAPI(ctx, promURL+"/api/v1/targets", &targets); err != nil {
			return err
		}
		var problems []string
		seen := map[string]bool{}
		for _, tg := range targets.ActiveTargets {
			key := tg.Labels["job"] + "/"
			if tg.Labels["job"] == "docspace" {
				key += tg.Labels["instance"]
			}
			seen[key] = true
			if tg.Health != "up" {
				problems = append(problems, fmt.Sprintf("%s (%s) is %q: %s", key, tg.ScrapeURL, tg.Health, tg.LastError))
			}
		}
		for key := range want {
			if !seen[key] {
				problems = append(problems, key+" is not a Prometheus target")
			}
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	})
	if err != nil {
		t.Errorf("not every target is up in Prometheus (the probe of the 401 portal must be up too: the exporter answers 200 with docspace_up 0): %v", err)
	}
}

// checkMetricsLint runs `promtool check metrics` on the exporter's /metrics
// and on a /probe of every portal: each must be clean, without a hint.
func checkMetricsLint(ctx context.Context, t *testing.T, promtool, exporterURL string) {
	endpoints := []string{exporterURL + "/metrics"}
	for _, name := range portalNames {
		endpoints = append(endpoints, exporterURL+"/probe?target="+name)
	}
	for _, u := range endpoints {
		body, err := httpGet(ctx, u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			continue
		}
		cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		out, err := cmd.CombinedOutput()
		switch {
		case err != nil:
			t.Errorf("promtool check metrics fails on %s: %v\n%s\n--- the body:\n%s", u, err, out, body)
		case len(bytes.TrimSpace(out)) > 0:
			t.Errorf("promtool check metrics on %s is not clean:\n%s", u, out)
		}
	}
}

// checkDashboardQueries waits until every dashboard query returns data, then
// reports every query that still does not.
func checkDashboardQueries(ctx context.Context, t *testing.T, promURL string) {
	queries, err := mixin.PanelQueries()
	if err != nil {
		t.Fatalf("reading the dashboard queries: %v", err)
	}
	if len(queries) == 0 {
		t.Fatal("mixin.PanelQueries() returned no query")
	}
	var failures []string
	err = waitFor(ctx, 60*time.Second, func() error {
		failures = failures[:0]
		for _, q := range queries {
			expr, err := mixin.ExpandVariables(q.Expr, mixin.ExampleVariables)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s / panel %q / %s: %v", q.Dashboard, q.Panel, q.RefID, err))
				continue
			}
			if err := queryHasData(ctx, promURL, expr, q.Instant); err != nil {
				failures = append(failures, fmt.Sprintf("%s / panel %q / %s (instant=%t): %s\n      %v",
					q.Dashboard, q.Panel, q.RefID, q.Instant, expr, err))
			}
		}
		if len(failures) > 0 {
			return fmt.Errorf("%d of %d queries fail", len(failures), len(queries))
		}
		return nil
	})
	if err != nil {
		t.Errorf("dashboard queries without data: %v:\n  %s", err, strings.Join(failures, "\n  "))
		return
	}
	t.Logf("all %d dashboard queries return data", len(queries))
}

// checkAlerts waits until exactly the wanted alerts fire, in Prometheus and
// in Alertmanager, and no other; then checks the text of DocSpaceAPIDown.
func checkAlerts(ctx context.Context, t *testing.T, promURL, amURL string) {
	var amAlerts []alert
	check := func() error {
		promAlerts, err := prometheusAlerts(ctx, promURL)
		if err != nil {
			return err
		}
		if diff := diffAlerts(byName(promAlerts, "firing"), wantAlerts); diff != "" {
			return fmt.Errorf("Prometheus: %s", diff)
		}
		if amAlerts, err = alertmanagerAlerts(ctx, amURL); err != nil {
			return err
		}
		if diff := diffAlerts(byName(amAlerts, ""), wantAlerts); diff != "" {
			return fmt.Errorf("Prometheus fires the right alerts, but Alertmanager differs: %s", diff)
		}
		return nil
	}
	if err := waitFor(ctx, 60*time.Second, check); err != nil {
		t.Fatalf("the alerts are not as expected: %v\nAlertmanager has: %s", err, describeAlerts(amAlerts))
	}
	// Alerts that show up late (e.g. DocSpaceBackupStale with a time zone
	// lost later) must not be missed: the set must hold over several
	// evaluations and notifications.
	if err := holdsFor(ctx, 5*time.Second, check); err != nil {
		t.Fatalf("the alerts changed after matching: %v\nAlertmanager has: %s", err, describeAlerts(amAlerts))
	}
	for _, a := range amAlerts {
		if a.Labels["instance"] == healthy {
			t.Errorf("the healthy portal raised %s", a.Labels["alertname"])
		}
		if a.Labels["alertname"] != "DocSpaceAPIDown" {
			continue
		}
		desc := a.Annotations["description"]
		if a.Labels["instance"] == restoring {
			if !strings.Contains(desc, "403: DocSpace is restoring the portal from a backup (40% done)") {
				t.Errorf("DocSpaceAPIDown for %s does not tell the restore apart from an outage:\n%s", a.Labels["instance"], desc)
			}
			continue
		}
		if !strings.Contains(desc, "HTTP status 401") || !strings.Contains(desc, "401: the API key or token was rejected") {
			t.Errorf("DocSpaceAPIDown for %s does not explain the 401 (key rejected):\n%s", a.Labels["instance"], desc)
		}
		if !strings.Contains(a.Annotations["summary"], "(HTTP 401)") {
			t.Errorf("DocSpaceAPIDown summary does not name HTTP 401: %q", a.Annotations["summary"])
		}
	}
	t.Logf("alerts as expected: %s", describeAlerts(amAlerts))
}

// ---------------------------------------------------------------------------
// Prometheus and Alertmanager APIs

// promTargets is the answer of Prometheus' /api/v1/targets.
type promTargets struct {
	ActiveTargets []struct {
		Labels    map[string]string `json:"labels"`
		ScrapeURL string            `json:"scrapeUrl"`
		Health    string            `json:"health"`
		LastError string            `json:"lastError"`
	} `json:"activeTargets"`
	DroppedTargets []struct {
		DiscoveredLabels map[string]string `json:"discoveredLabels"`
	} `json:"droppedTargets"`
}

// promAPI GETs a Prometheus API URL and decodes its data into v.
func promAPI(ctx context.Context, u string, v any) error {
	body, err := httpGet(ctx, u)
	if err != nil {
		return err
	}
	var resp struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("decoding %s: %w", u, err)
	}
	if resp.Status != "success" {
		return fmt.Errorf("status %q: %s: %s", resp.Status, resp.ErrorType, resp.Error)
	}
	return json.Unmarshal(resp.Data, v)
}

// promQuery runs expr as an instant query now, or as a range query over
// the last minute with a 1s step (as Grafana does for a time series panel),
// and returns the result type and the number of series.
func promQuery(ctx context.Context, promURL, expr string, instant bool) (string, int, error) {
	params := url.Values{"query": {expr}}
	endpoint := "/api/v1/query"
	if !instant {
		now := time.Now()
		endpoint = "/api/v1/query_range"
		params.Set("start", fmt.Sprint(now.Add(-time.Minute).Unix()))
		params.Set("end", fmt.Sprint(now.Unix()))
		params.Set("step", "1")
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := promAPI(ctx, promURL+endpoint+"?"+params.Encode(), &data); err != nil {
		return "", 0, err
	}
	if data.ResultType == "scalar" || data.ResultType == "string" {
		return data.ResultType, 1, nil
	}
	var series []json.RawMessage
	if err := json.Unmarshal(data.Result, &series); err != nil {
		return "", 0, err
	}
	return data.ResultType, len(series), nil
}

// queryHasData fails when expr errs or returns nothing.
func queryHasData(ctx context.Context, promURL, expr string, instant bool) error {
	typ, n, err := promQuery(ctx, promURL, expr, instant)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("empty %s result", typ)
	}
	return nil
}

// alert is an alert as both Alertmanager (v2) and Prometheus (v1) return it.
type alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // Prometheus: pending or firing
	Status      struct {
		State string `json:"state"` // Alertmanager: active, suppressed, unprocessed
	} `json:"status"`
}

// alertmanagerAlerts returns the alerts Alertmanager holds (resolved ones
// are left out by the API).
func alertmanagerAlerts(ctx context.Context, amURL string) ([]alert, error) {
	body, err := httpGet(ctx, amURL+"/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	var alerts []alert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("decoding Alertmanager alerts: %w", err)
	}
	return alerts, nil
}

// prometheusAlerts returns Prometheus' active alerts, pending and firing.
func prometheusAlerts(ctx context.Context, promURL string) ([]alert, error) {
	var data struct {
		Alerts []alert `json:"alerts"`
	}
	err := promAPI(ctx, promURL+"/api/v1/alerts", &data)
	return data.Alerts, err
}

// byName groups alerts by name: alert name -> sorted instances. A non-empty
// state keeps only the Prometheus alerts in that state.
func byName(alerts []alert, state string) map[string][]string {
	out := map[string][]string{}
	for _, a := range alerts {
		if state != "" && a.State != state {
			continue
		}
		name := a.Labels["alertname"]
		out[name] = append(out[name], a.Labels["instance"])
	}
	for _, instances := range out {
		slices.Sort(instances)
	}
	return out
}

// diffAlerts describes how got differs from want, or returns "".
func diffAlerts(got, want map[string][]string) string {
	var diffs []string
	for name, instances := range want {
		if !slices.Equal(got[name], instances) {
			diffs = append(diffs, fmt.Sprintf("%s fires for %v, want %v", name, got[name], instances))
		}
	}
	for name, instances := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s for %v", name, instances))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
}

func describeAlerts(alerts []alert) string {
	if len(alerts) == 0 {
		return "no alert"
	}
	var parts []string
	for _, a := range alerts {
		parts = append(parts, fmt.Sprintf("%s{instance=%q} %s", a.Labels["alertname"], a.Labels["instance"], a.Status.State))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// ---------------------------------------------------------------------------
// Processes

// process is a started child process whose output goes to a log file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done
}

// startProcess starts bin with args. It is stopped (SIGTERM, then SIGKILL)
// at the end of the test, and its log is shown when the test failed.
func startProcess(ctx context.Context, t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- log of %s (%s %s):\n%s", name, bin, strings.Join(args, " "), tail(logPath, 40))
		}
	})
	return p
}

// exited returns an error when the process has stopped.
func (p *process) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("exited with status 0")
		}
		return p.err
	default:
		return nil
	}
}

// waitReady waits until u answers 200, failing early if p stops.
func waitReady(ctx context.Context, t *testing.T, p *process, u string) {
	t.Helper()
	err := waitFor(ctx, 30*time.Second, func() error {
		if err := p.exited(); err != nil {
			return fmt.Errorf("%w: %s stopped: %v", errStop, p.name, err)
		}
		_, err := httpGet(ctx, u)
		return err
	})
	if err != nil {
		t.Fatalf("%s is not ready at %s: %v", p.name, u, err)
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines left out]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// buildExporter builds the exporter at the repository root into dir.
func buildExporter(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "docspace_exporter")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-buildvcs=false", "-o", bin, ".")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the exporter: %v\n%s", err, out)
	}
	return bin
}

// goTool is the go command that runs this test, else the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); isExecutable(p) {
			return p
		}
	}
	return "go"
}

// binaryEnv names the environment variable that selects each binary, so the
// suite can run against other builds than Debian's (the Makefile runs it
// against Debian's packages and against the Prometheus 3 and Alertmanager
// builds of scripts/build-prometheus.sh).
var binaryEnv = map[string]string{
	"prometheus":              "E2E_PROMETHEUS",
	"promtool":                "E2E_PROMTOOL",
	"prometheus-alertmanager": "E2E_ALERTMANAGER",
}

// requireBinaries finds each of names in its environment variable
// (binaryEnv), else on PATH or in /usr/bin; a missing one fails the test
// (never skips it).
func requireBinaries(t *testing.T, names ...string) map[string]string {
	t.Helper()
	found := map[string]string{}
	var missing []string
	for _, name := range names {
		if env := binaryEnv[name]; os.Getenv(env) != "" {
			if p := os.Getenv(env); isExecutable(p) {
				found[name] = p
			} else {
				missing = append(missing, fmt.Sprintf("%s (%s=%s is not an executable)", name, env, p))
			}
		} else if p, err := exec.LookPath(name); err == nil {
			found[name] = p
		} else if p := "/usr/bin/" + name; isExecutable(p) {
			found[name] = p
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("missing %s (looked in E2E_PROMETHEUS, E2E_PROMTOOL, E2E_ALERTMANAGER, on PATH and in /usr/bin): "+
			"the end-to-end test needs them; run `make deps` (scripts/install-deps.sh installs the Debian packages "+
			"prometheus and prometheus-alertmanager, scripts/build-prometheus.sh builds Prometheus 3 and Alertmanager)",
			strings.Join(missing, ", "))
	}
	for _, p := range found {
		out, _ := exec.Command(p, "--version").CombinedOutput()
		first, _, _ := strings.Cut(string(out), "\n")
		t.Logf("%s: %s", p, first)
	}
	return found
}

// ---------------------------------------------------------------------------
// Small helpers

// errStop marks an error after which waitFor stops at once.
var errStop = errors.New("giving up")

// waitFor calls cond until it returns nil, for at most timeout (and never
// past ctx's deadline). It returns cond's last error when time runs out, or
// at once when cond returns an error wrapping errStop.
func waitFor(ctx context.Context, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil || errors.Is(err, errStop) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still failing after %s: %w", timeout, err)
		case <-tick.C:
		}
	}
}

// holdsFor checks that cond keeps returning nil for d.
func holdsFor(ctx context.Context, d time.Duration, cond func() error) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := cond(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// httpGet returns the body of a 200 answer to GET u.
func httpGet(ctx context.Context, u string) ([]byte, error) { return httpDo(ctx, http.MethodGet, u) }

// httpDo returns the body of a 200 answer to a request without body.
func httpDo(ctx context.Context, method, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// freeAddr returns a 127.0.0.1 address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root %s has no go.mod: run the test from ./e2e (go test ./e2e/)", root)
	}
	return root
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mkdir(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}
