package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubeTools holds kube-apiserver, etcd and, under crds/, the Prometheus
// Operator's CRDs: scripts/build-kube.sh (`make kube-tools`) builds them.
// KUBEBUILDER_ASSETS, when set, names another directory.
const kubeTools = "/var/cache/docspace-exporter/tools/kube-" + kubeVersion

const monitoringModule = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"

// startAPIServer starts kube-apiserver and etcd on the loopback with the
// monitoring.coreos.com CRDs of the monitoring/v1 version go.mod pins
// installed, and stops them when the test ends. Without the binaries it
// fails under CI and skips elsewhere.
func startAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = kubeTools
	}
	crds := filepath.Join(dir, "crds", "monitoring-"+moduleVersion(t, monitoringModule))
	var missing []string
	for _, p := range []string{filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "etcd"), crds} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("missing %s: the server-side dry run needs them; run `make kube-tools` (scripts/build-kube.sh)",
			strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd from %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	return cfg
}

// moduleVersion returns the version of the module path that go.mod pins.
func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", path).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// applyServerDryRun applies every object of the multi-document YAML
// yamlDocs to the API server of cfg, as `kubectl apply --dry-run=server
// --validate=strict -n namespace` does, with and without --server-side,
// and fails the test with the server's errors for each object it rejects.
func applyServerDryRun(t *testing.T, cfg *rest.Config, namespace string, yamlDocs []byte) {
	t.Helper()
	if err := serverDryRun(t.Context(), cfg, namespace, yamlDocs); err != nil {
		t.Error(err)
	}
}

// serverDryRun is applyServerDryRun's work: it returns one error for each
// object rejected, naming it (errors.Join). Objects without a namespace go
// to namespace; the namespaces are created first (for real).
func serverDryRun(ctx context.Context, cfg *rest.Config, namespace string, yamlDocs []byte) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(yamlDocs), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("decoding the YAML: %w", err)
		}
		if len(u.Object) > 0 { // not a document of comments only
			objs = append(objs, u)
		}
	}
	if len(objs) == 0 {
		return errors.New("the YAML holds no object")
	}
	var errs []error
	for _, u := range objs {
		where := fmt.Sprintf("%s %s", u.GetKind(), u.GetName())
		namespaced, err := c.IsObjectNamespaced(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if namespaced {
			if u.GetNamespace() == "" {
				u.SetNamespace(namespace)
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: u.GetNamespace()}}
			if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		// As `kubectl apply --dry-run=server` creates a new object, and
		// as `kubectl apply --server-side` does: the server decodes the
		// one strictly, types the other with the schema.
		var objErrs []error
		if err := c.Create(ctx, u.DeepCopy(), client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			objErrs = append(objErrs, fmt.Errorf("create: %w", err))
		}
		data, err := json.Marshal(u)
		if err != nil {
			return err
		}
		err = c.Patch(ctx, u, client.RawPatch(types.ApplyPatchType, data),
			client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict),
			client.FieldOwner("docspace-exporter-examples"), client.ForceOwnership)
		if err != nil {
			objErrs = append(objErrs, fmt.Errorf("server-side apply: %w", err))
		}
		if len(objErrs) > 0 {
			errs = append(errs, fmt.Errorf("%s: %w", where, errors.Join(objErrs...)))
		}
	}
	return errors.Join(errs...)
}

// TestAPIServer starts one kube-apiserver for its subtests.
//
// DryRun: the server, with the Prometheus Operator's CRDs installed,
// accepts every manifest of the examples as `kubectl apply -k` sends it
// (TestManifestsDecodeStrictly checks each YAML file under kubernetes/ is
// in a kustomization or a Secret example), the Secret examples, and both
// modes of the Helm chart as `helm install -n monitoring` sends them, with
// strict field validation.
//
// RejectsMisspelled: the server's own validation (the CRD's schema, the
// Deployment's type) rejects a misspelled field and names it, so DryRun
// can fail.
func TestAPIServer(t *testing.T) {
	cfg := startAPIServer(t)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v"+kubeVersion {
		t.Errorf("kube-apiserver is %s, want v%s (the version the chart is rendered for)", v.GitVersion, kubeVersion)
	}

	t.Run("DryRun", func(t *testing.T) {
		for _, dir := range kustomizations {
			t.Run(dir, func(t *testing.T) {
				applyServerDryRun(t, cfg, chartNamespace, kustomizeYAML(t, dir))
				secret, err := os.ReadFile(filepath.Join(dir, "secret.example.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				applyServerDryRun(t, cfg, chartNamespace, secret)
			})
		}
		for _, mode := range []string{"single", "many"} {
			t.Run("chart "+mode, func(t *testing.T) {
				applyServerDryRun(t, cfg, chartNamespace, renderChart(t, mode))
			})
		}
	})

	t.Run("RejectsMisspelled", func(t *testing.T) {
		tests := []struct {
			name, from, to string
			yaml           func(t *testing.T) []byte
			want           []string // all in the error
		}{
			{"ServiceMonitor", "interval: 1m", "intervall: 1m",
				func(t *testing.T) []byte { return kustomizeYAML(t, k8sDir) },
				[]string{"ServiceMonitor docspace-exporter:", `unknown field "spec.endpoints[0].intervall"`,
					".spec.endpoints[0].intervall: field not declared in schema"}},
			{"Deployment", "imagePullPolicy:", "imagePullPolcy:",
				func(t *testing.T) []byte { return kustomizeYAML(t, k8sDir) },
				[]string{"Deployment docspace-exporter:", `unknown field "spec.template.spec.containers[0].imagePullPolcy"`,
					`.spec.template.spec.containers[name="docspace-exporter"].imagePullPolcy: field not declared in schema`}},
			{"chart ScrapeConfig", "refreshInterval: 1m", "refreshIntervall: 1m",
				func(t *testing.T) []byte { return renderChart(t, "many") },
				[]string{"ScrapeConfig docspace-exporter:", `unknown field "spec.httpSDConfigs[0].refreshIntervall"`,
					".spec.httpSDConfigs[0].refreshIntervall: field not declared in schema"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				manifests := string(tt.yaml(t))
				if n := strings.Count(manifests, tt.from); n != 1 {
					t.Fatalf("the manifests hold %q %d times, want once", tt.from, n)
				}
				err := serverDryRun(t.Context(), cfg, chartNamespace, []byte(strings.Replace(manifests, tt.from, tt.to, 1)))
				if err == nil {
					t.Fatalf("the server accepts %q", tt.to)
				}
				t.Log(err)
				// The server's answer, not the client's: create's is a 400.
				var status *apierrors.StatusError
				if !errors.As(err, &status) || status.Status().Code != http.StatusBadRequest {
					t.Errorf("the first error is not the server's 400: %#v", status)
				}
				for _, want := range tt.want {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the error does not contain %q:\n%v", want, err)
					}
				}
				// Only the misspelled object is rejected, both ways.
				if objs := err.(interface{ Unwrap() []error }).Unwrap(); len(objs) != 1 {
					t.Errorf("%d objects rejected, want 1:\n%v", len(objs), err)
				}
				if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
					t.Errorf("%d rejections, want 2 (create, server-side apply):\n%v", n, err)
				}
			})
		}
	})
}
