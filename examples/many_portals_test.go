package examples

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/docspace-exporter/docspace_exporter/config"
)

const (
	manyDir       = k8sDir + "/many-portals"
	keysSecret    = appName + "-keys"
	portalsConfig = appName + "-portals"
	configDir     = "/etc/docspace_exporter/config"
	keysDir       = "/etc/docspace_exporter/keys"
	// exporterJob is the job of the exporter's own metrics that the
	// mixin's alerts select (mixin/config.libsonnet).
	exporterJob = "docspace_exporter"
)

// TestManyPortals checks the many-portals variant as kustomize renders it:
// the exporter reads portals.yml from the generated ConfigMap, each portal's
// key from a file of one Secret, and Prometheus finds the portals on the
// exporter's discovery endpoint.
func TestManyPortals(t *testing.T) {
	const file = manyDir + "/deployment.yaml"
	k := checkKustomization(t, manyDir)
	c := checkDeployment(t, file, object[*appsv1.Deployment](t, file))
	if !slices.Contains(c.Args, "--config.file="+configDir+"/portals.yml") {
		t.Errorf("%s: args %v lack --config.file=%s/portals.yml", file, c.Args, configDir)
	}

	// Rendered: the Deployment mounts the generated ConfigMap (its name
	// with kustomize's hash) and the keys.
	deployments := rendered[*appsv1.Deployment](t, manyDir)
	configMaps := rendered[*corev1.ConfigMap](t, manyDir)
	if len(deployments) != 1 || len(configMaps) != 1 {
		t.Fatalf("kustomize build %s: %d Deployments and %d ConfigMaps, want one of each", manyDir, len(deployments), len(configMaps))
	}
	pod := deployments[0].Spec.Template.Spec
	cm := configMaps[0]
	if !strings.HasPrefix(cm.Name, portalsConfig+"-") {
		t.Errorf("the ConfigMap is %q, want %s with kustomize's hash", cm.Name, portalsConfig)
	}
	if v := mountedVolume(t, file, pod, configDir); v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("%s: the volume at %s is not the ConfigMap %s: %+v", file, configDir, cm.Name, v.VolumeSource)
	}
	keys := mountedVolume(t, file, pod, keysDir)
	checkKeyVolume(t, file, keys, keysSecret)
	if len(keys.Secret.Items) != 0 {
		t.Errorf("%s: the keys volume picks items %v: every key of the Secret should be a file", file, keys.Secret.Items)
	}

	// portals.yml is valid for the exporter, and every key it names is a
	// file of the Secret.
	src, ok := cm.Data["portals.yml"]
	if !ok {
		t.Fatalf("the ConfigMap has no portals.yml: %v", cm.Data)
	}
	cfg, err := config.Parse([]byte(src), manyDir+"/portals.yml")
	if err != nil {
		t.Fatalf("the exporter refuses it: %v", err)
	}
	secretKeys := checkSecretExample(t, manyDir, keysSecret)
	for _, p := range cfg.Portals {
		if path.Dir(p.APIKeyFile) != keysDir || !slices.Contains(secretKeys, path.Base(p.APIKeyFile)) {
			t.Errorf("portal %s: api_key_file %q is not a key of secret.example.yaml (%v) under %s", p.Name, p.APIKeyFile, secretKeys, keysDir)
		}
		if len(p.Labels) == 0 {
			t.Errorf("portal %s has no labels: the example should show them", p.Name)
		}
	}

	// Prometheus scrapes the exporter's own metrics through the
	// ServiceMonitor, and the portals through the discovery endpoint of
	// the Service.
	svc := checkService(t, manyDir)
	checkServiceMonitor(t, manyDir, svc, "/metrics", exporterJob)
	const scrapeFile = manyDir + "/scrapeconfig.yaml"
	sc := object[*monitoringv1alpha1.ScrapeConfig](t, scrapeFile)
	checkMeta(t, scrapeFile, sc.ObjectMeta, appName)
	if job := sc.Spec.JobName; job == nil || *job != mixinJob {
		t.Errorf("%s: jobName is not %q, the job the alerts select", scrapeFile, mixinJob)
	}
	want := fmt.Sprintf("http://%s.%s.svc:%d/discovery", svc.Name, k.Namespace, port)
	if sd := sc.Spec.HTTPSDConfigs; len(sd) != 1 || string(sd[0].URL) != want {
		t.Errorf("%s: httpSDConfigs %+v, want one with url %s", scrapeFile, sd, want)
	}
	if len(sc.Spec.StaticConfigs) != 0 || len(sc.Spec.RelabelConfigs) != 0 || sc.Spec.MetricsPath != nil {
		t.Errorf("%s: the discovery endpoint gives the targets, their path and labels: no static targets, relabelings or metricsPath", scrapeFile)
	}
}
