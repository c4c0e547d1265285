package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubeTools holds kube-apiserver, etcd and, under crds/, the Prometheus
// Operator's CRDs: scripts/build-kube.sh (run by `make deps`) builds them.
// KUBEBUILDER_ASSETS, when set, names another directory.
const kubeTools = "/var/cache/docspace-exporter/tools/kube-1.37.2"

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
		msg := fmt.Sprintf("missing %s: the server-side dry run needs them; run `make deps` (scripts/build-kube.sh builds them)",
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
// yamlDocs to the API server of cfg, as `kubectl apply --server-side
// --dry-run=server --validate=strict` does, and fails the test with the
// server's error for each object it rejects. Objects without a namespace
// go to "default"; the namespaces are created first (for real).
func applyServerDryRun(t *testing.T, cfg *rest.Config, yamlDocs []byte) {
	t.Helper()
	if err := serverDryRun(t.Context(), cfg, yamlDocs); err != nil {
		t.Error(err)
	}
}

// serverDryRun is applyServerDryRun's work: it returns every rejection,
// each naming its object.
func serverDryRun(ctx context.Context, cfg *rest.Config, yamlDocs []byte) error {
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
		if len(u.Object) > 0 {
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
				u.SetNamespace(metav1.NamespaceDefault)
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: u.GetNamespace()}}
			if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		data, err := json.Marshal(u)
		if err != nil {
			return err
		}
		err = c.Patch(ctx, u, client.RawPatch(types.ApplyPatchType, data),
			client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict),
			client.FieldOwner("docspace-exporter-examples"), client.ForceOwnership)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	return errors.Join(errs...)
}

// TestAPIServerDryRun: kube-apiserver, with the Prometheus Operator's CRDs
// installed, accepts every manifest of the examples as `kubectl apply -k`
// sends it, and the Secret examples, with strict field validation.
func TestAPIServerDryRun(t *testing.T) {
	cfg := startAPIServer(t)
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			applyServerDryRun(t, cfg, kustomizeYAML(t, dir))
			secret, err := os.ReadFile(filepath.Join(dir, "secret.example.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			applyServerDryRun(t, cfg, secret)
		})
	}
}

// TestAPIServerRejectsMisspelled: the server's own validation (the CRD's
// schema, the Deployment's type) rejects a misspelled field and names it,
// so the test above can fail.
func TestAPIServerRejectsMisspelled(t *testing.T) {
	cfg := startAPIServer(t)
	manifests := string(kustomizeYAML(t, k8sDir))
	tests := []struct {
		name, from, to string
		want           []string // all in the error
	}{
		{"ServiceMonitor", "interval: 1m", "intervall: 1m",
			[]string{"ServiceMonitor docspace-exporter:", `unknown field "spec.endpoints[0].intervall"`}},
		{"Deployment", "imagePullPolicy:", "imagePullPolcy:",
			[]string{"Deployment docspace-exporter:", `unknown field "spec.template.spec.containers[0].imagePullPolcy"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Count(manifests, tt.from) != 1 {
				t.Fatalf("the manifests hold %q %d times, want once", tt.from, strings.Count(manifests, tt.from))
			}
			err := serverDryRun(t.Context(), cfg, []byte(strings.Replace(manifests, tt.from, tt.to, 1)))
			if err == nil {
				t.Fatalf("the server accepts %q", tt.to)
			}
			t.Log(err)
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not contain %q:\n%v", want, err)
				}
			}
			// Only the misspelled object is rejected.
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d objects rejected, want 1:\n%v", n, err)
			}
		})
	}
}
