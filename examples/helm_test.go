package examples

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/docspace-exporter/docspace_exporter/config"
)

const (
	chartDir    = "../charts/docspace-exporter"
	chartAlerts = chartDir + "/files/alerts.yaml"
	// The release and namespace of the renders: the release name is the
	// chart's, so the objects are named as the raw manifests are.
	chartRelease   = appName
	chartNamespace = "monitoring"
	kubeVersion    = "1.37.2"
)

// helmBin returns the helm binary: $HELM_BIN (the Makefile sets it to the
// one scripts/build-helm.sh builds) or helm on PATH. Missing, the test
// fails in CI and is skipped elsewhere.
func helmBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM_BIN")
	if bin == "" {
		bin = "helm"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		msg := "helm is not installed (bash scripts/build-helm.sh, then HELM_BIN=/var/cache/docspace-exporter/tools/helm-v4.3.2/helm): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// helm runs helm with args and returns its combined output and error.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return exec.Command(helmBin(t), args...).CombinedOutput()
}

// modeValues is the values file of a mode, "single" or "many".
func modeValues(mode string) string { return chartDir + "/ci/" + mode + "-values.yaml" }

// templateArgs are the arguments of `helm template` for mode.
func templateArgs(mode string, extra ...string) []string {
	return append([]string{"template", chartRelease, chartDir, "--namespace", chartNamespace,
		"-f", modeValues(mode), "--kube-version", kubeVersion,
		"--api-versions", "monitoring.coreos.com/v1", "--api-versions", "monitoring.coreos.com/v1alpha1"}, extra...)
}

// renderChart returns what `helm template` renders from the chart with the
// values of mode ("single" or "many"): multi-document YAML.
func renderChart(t *testing.T, mode string) []byte {
	t.Helper()
	out, err := helm(t, templateArgs(mode)...)
	if err != nil {
		t.Fatalf("helm template (%s): %v\n%s", mode, err, out)
	}
	return out
}

// decodeChart decodes every document of a render strictly into its API
// type.
func decodeChart(t *testing.T, mode string, out []byte) []runtime.Object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	var objs []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var probe map[string]any
		if err := sigsyaml.Unmarshal(doc, &probe); err != nil {
			t.Fatalf("helm template (%s): %v\n%s", mode, err, doc)
		}
		if len(probe) == 0 { // only comments
			continue
		}
		obj, err := decode("helm template ("+mode+")", doc)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// only returns the one object of type T among objs.
func only[T runtime.Object](t *testing.T, objs []runtime.Object) T {
	t.Helper()
	var out []T
	for _, o := range objs {
		if typed, ok := o.(T); ok {
			out = append(out, typed)
		}
	}
	if len(out) != 1 {
		t.Fatalf("the render has %d %T, want 1", len(out), *new(T))
	}
	return out[0]
}

// kinds returns the kinds of objs, sorted.
func kinds(objs []runtime.Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, reflect.TypeOf(o).Elem().Name())
	}
	slices.Sort(ks)
	return ks
}

func TestHelmLint(t *testing.T) {
	for _, mode := range []string{"single", "many"} {
		t.Run(mode, func(t *testing.T) {
			out, err := helm(t, "lint", "--strict", chartDir, "-f", modeValues(mode), "--kube-version", kubeVersion)
			if err != nil {
				t.Fatalf("helm lint --strict -f %s: %v\n%s", modeValues(mode), err, out)
			}
			if !strings.Contains(string(out), "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint: %s", out)
			}
		})
	}
}

// checkChartCommon checks what both modes render: the Deployment as the raw
// manifests have it (non-root, read-only, probes, no key in the spec), the
// Service selecting its pods, and the mixin's alerts; never a Secret. It
// returns the objects, the container and the Service.
func checkChartCommon(t *testing.T, mode string) ([]runtime.Object, corev1.Container, *corev1.Service) {
	t.Helper()
	out := renderChart(t, mode)
	if strings.Contains(string(out), "sk-") {
		t.Errorf("helm template (%s) renders something like a key", mode)
	}
	objs := decodeChart(t, mode, out)
	for _, o := range objs {
		if _, ok := o.(*corev1.Secret); ok {
			t.Errorf("helm template (%s) renders a Secret: the keys come from an existing one", mode)
		}
	}
	file := "helm template (" + mode + ")"
	d := only[*appsv1.Deployment](t, objs)
	c := checkDeployment(t, file, d)

	svc := only[*corev1.Service](t, objs)
	checkMeta(t, file, svc.ObjectMeta, appName)
	if len(svc.Spec.Selector) == 0 || !subsetOf(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("%s: the Service's selector %v does not select the pods %v", file, svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if p := svc.Spec.Ports; len(p) != 1 || p[0].Port != port || p[0].TargetPort.String() != portName {
		t.Errorf("%s: Service ports %+v, want %d to %s", file, p, port, portName)
	}

	src, err := os.ReadFile(mixinAlerts)
	if err != nil {
		t.Fatal(err)
	}
	var alerts struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	if err := sigsyaml.UnmarshalStrict(src, &alerts); err != nil {
		t.Fatalf("%s: %v", mixinAlerts, err)
	}
	rule := only[*monitoringv1.PrometheusRule](t, objs)
	checkMeta(t, file, rule.ObjectMeta, appName)
	groupNames := func(gs []monitoringv1.RuleGroup) []string {
		var names []string
		for _, g := range gs {
			names = append(names, g.Name)
		}
		return names
	}
	if got, want := groupNames(rule.Spec.Groups), groupNames(alerts.Groups); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("%s: PrometheusRule groups %v, want the mixin's %v", file, got, want)
	}
	if !reflect.DeepEqual(rule.Spec.Groups, alerts.Groups) {
		t.Errorf("%s: the PrometheusRule's groups differ from %s: run `make generate`", file, mixinAlerts)
	}
	return objs, c, svc
}

// checkChartServiceMonitor checks the ServiceMonitor scrapes the Service's
// /metrics with job set to job, and returns its endpoint.
func checkChartServiceMonitor(t *testing.T, objs []runtime.Object, svc *corev1.Service, job string) monitoringv1.Endpoint {
	t.Helper()
	sm := only[*monitoringv1.ServiceMonitor](t, objs)
	checkMeta(t, "ServiceMonitor", sm.ObjectMeta, appName)
	if len(sm.Spec.Selector.MatchLabels) == 0 || !subsetOf(sm.Spec.Selector.MatchLabels, svc.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor: want 1 endpoint, got %d", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != portName || ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %s %s, want %s /metrics", ep.Port, ep.Path, portName)
	}
	if got := relabelledJob(ep.RelabelConfigs); got != job {
		t.Errorf("ServiceMonitor sets job=%q, want %q", got, job)
	}
	return ep
}

func TestHelmTemplateSingle(t *testing.T) {
	objs, c, svc := checkChartCommon(t, "single")
	if got, want := kinds(objs), []string{"Deployment", "PrometheusRule", "Service", "ServiceMonitor"}; !slices.Equal(got, want) {
		t.Errorf("rendered kinds %v, want %v", got, want)
	}
	wantArgs := []string{"--docspace.url=https://portal.example.com", keyFlag, "--web.listen-address=:9977"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %v, want %v", c.Args, wantArgs)
	}
	d := only[*appsv1.Deployment](t, objs)
	v := mountedVolume(t, "helm template (single)", d.Spec.Template.Spec, keyDir)
	checkKeyVolume(t, "helm template (single)", v, appName)
	if items := v.Secret.Items; len(items) != 1 || items[0].Key != "api-key" || items[0].Path != "api-key" {
		t.Errorf("volume %s: want the Secret key api-key at path api-key, got %+v", v.Name, items)
	}
	ep := checkChartServiceMonitor(t, objs, svc, mixinJob)
	if got, _ := relabelledLabel(ep.RelabelConfigs, "instance"); got != "portal.example.com" {
		t.Errorf("ServiceMonitor sets instance=%q, want the host of single.url, portal.example.com", got)
	}
	if ep.Interval != "1m" || ep.ScrapeTimeout != "15s" {
		t.Errorf("ServiceMonitor interval %s, scrapeTimeout %s, want 1m and 15s", ep.Interval, ep.ScrapeTimeout)
	}
}

func TestHelmTemplateMany(t *testing.T) {
	objs, c, svc := checkChartCommon(t, "many")
	if got, want := kinds(objs), []string{"ConfigMap", "Deployment", "PrometheusRule", "ScrapeConfig", "Service", "ServiceMonitor"}; !slices.Equal(got, want) {
		t.Errorf("rendered kinds %v, want %v", got, want)
	}
	wantArgs := []string{"--config.file=" + configDir + "/portals.yml", "--web.listen-address=:9977"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %v, want %v", c.Args, wantArgs)
	}
	const file = "helm template (many)"
	d := only[*appsv1.Deployment](t, objs)
	pod := d.Spec.Template.Spec
	cm := only[*corev1.ConfigMap](t, objs)
	checkMeta(t, file, cm.ObjectMeta, portalsConfig)
	if v := mountedVolume(t, file, pod, configDir); v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("the volume at %s is not the ConfigMap %s: %+v", configDir, cm.Name, v.VolumeSource)
	}
	if d.Spec.Template.Annotations["checksum/portals"] == "" {
		t.Error("the pod template has no checksum/portals annotation: a changed portals.yml would not roll the exporter out")
	}
	keys := mountedVolume(t, file, pod, keysDir)
	checkKeyVolume(t, file, keys, keysSecret)
	if len(keys.Secret.Items) != 0 {
		t.Errorf("the keys volume picks items %v: every key of the Secret should be a file", keys.Secret.Items)
	}

	// The ConfigMap holds the values' portals.yml as given, and the
	// exporter accepts it.
	var values struct {
		Many struct {
			PortalsYml string `json:"portalsYml"`
		} `json:"many"`
	}
	raw, err := os.ReadFile(modeValues("many"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	src := cm.Data["portals.yml"]
	if src == "" || src != values.Many.PortalsYml {
		t.Fatalf("the ConfigMap's portals.yml is\n%s\nwant many.portalsYml of %s:\n%s", src, modeValues("many"), values.Many.PortalsYml)
	}
	cfg, err := config.Parse([]byte(src), "portals.yml")
	if err != nil {
		t.Fatalf("the exporter refuses the ConfigMap's portals.yml: %v", err)
	}
	var names []string
	for _, p := range cfg.Portals {
		names = append(names, p.Name)
		if path.Dir(p.APIKeyFile) != keysDir {
			t.Errorf("portal %s: api_key_file %q is not under %s", p.Name, p.APIKeyFile, keysDir)
		}
	}
	if !slices.Equal(names, []string{"main", "archive"}) {
		t.Errorf("portals %v, want main and archive", names)
	}

	checkChartServiceMonitor(t, objs, svc, exporterJob)
	sc := only[*monitoringv1alpha1.ScrapeConfig](t, objs)
	checkMeta(t, file, sc.ObjectMeta, appName)
	if job := sc.Spec.JobName; job == nil || *job != mixinJob {
		t.Errorf("ScrapeConfig jobName is not %q, the job the alerts select", mixinJob)
	}
	want := "http://docspace-exporter." + chartNamespace + ".svc:9977/discovery"
	if sd := sc.Spec.HTTPSDConfigs; len(sd) != 1 || string(sd[0].URL) != want {
		t.Errorf("ScrapeConfig httpSDConfigs %+v, want one with url %s", sd, want)
	}
}

// TestHelmSchema: values.schema.json refuses a misspelt value, at the top
// and nested, and the chart refuses a mode's missing Secret.
func TestHelmSchema(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		schema bool     // helm lint fails too (it only warns of a missing required value)
		want   []string // all in the error
	}{
		{"top", []string{"--set", "replicaCont=2"}, true, []string{"values don't meet the specifications of the schema", "additional properties 'replicaCont' not allowed"}},
		{"nested", []string{"--set", "serviceMonitor.intervall=30s"}, true, []string{"values don't meet the specifications of the schema", "/serviceMonitor", "additional properties 'intervall' not allowed"}},
		{"mode", []string{"--set", "mode=multi"}, true, []string{"values don't meet the specifications of the schema", "/mode"}},
		{"no secret", []string{"--set", "single.existingSecret="}, false, []string{"single.existingSecret (the Secret of the API key) is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := [][]string{templateArgs("single", tt.args...)}
			if tt.schema {
				cmds = append(cmds, append([]string{"lint", "--strict", chartDir, "-f", modeValues("single")}, tt.args...))
			}
			for _, cmd := range cmds {
				out, err := helm(t, cmd...)
				if err == nil {
					t.Fatalf("helm %s passes:\n%s", strings.Join(cmd, " "), out)
				}
				for _, w := range tt.want {
					if !strings.Contains(string(out), w) {
						t.Errorf("helm %s: the error does not contain %q:\n%s", cmd[0], w, out)
					}
				}
			}
		})
	}
	// Without the mistake, the same command passes.
	if out, err := helm(t, templateArgs("single", "--set", "replicaCount=2")...); err != nil {
		t.Errorf("helm template --set replicaCount=2: %v\n%s", err, out)
	}
}

// chartAlertsFile is files/alerts.yaml of the chart: mixin/alerts.yaml
// under this file's generated-by line.
func chartAlertsFile(src []byte) []byte {
	if first, rest, ok := bytes.Cut(src, []byte("\n")); ok && bytes.HasPrefix(first, []byte("# Code generated")) {
		src = rest
	}
	return append([]byte(generatedBy), src...)
}

// TestChartAlerts: the chart's files/alerts.yaml is generated from
// mixin/alerts.yaml; `make generate` (-update) rewrites it.
func TestChartAlerts(t *testing.T) {
	src, err := os.ReadFile(mixinAlerts)
	if err != nil {
		t.Fatal(err)
	}
	want := chartAlertsFile(src)
	if *update {
		if err := os.WriteFile(chartAlerts, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(chartAlerts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not generated from %s: run `make generate`", chartAlerts, mixinAlerts)
	}
}
