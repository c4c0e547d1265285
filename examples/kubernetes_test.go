package examples

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The kustomizations of the examples: `kubectl apply -k` on each.
var kustomizations = []string{k8sDir, k8sDir + "/many-portals"}

// scheme knows every API type the examples may use: core and apps objects,
// and the Prometheus Operator's.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, monitoringv1.AddToScheme, monitoringv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict decodes YAML into the registered API type of its apiVersion and
// kind; an unknown or duplicated field, anywhere, is an error naming it.
var strict = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// decode decodes one object strictly; where names it in errors.
func decode(where string, data []byte) (runtime.Object, error) {
	obj, _, err := strict.Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return obj, nil
}

// readObject decodes the single object of the manifest file path strictly.
func readObject(path string) (runtime.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decode(path, data)
}

// readKustomization decodes the kustomization.yaml of dir strictly.
func readKustomization(dir string) (*types.Kustomization, error) {
	path := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k types.Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &k, nil
}

// build builds the kustomization in dir as `kubectl apply -k` does.
func build(dir string) (resmap.ResMap, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m, nil
}

// kustomizeYAML returns what `kustomize build dir` prints: the objects
// `kubectl apply -k` sends, as multi-document YAML.
func kustomizeYAML(t *testing.T, dir string) []byte {
	t.Helper()
	m, err := build(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// render builds the kustomization in dir and decodes every resulting
// object strictly.
func render(dir string) ([]runtime.Object, error) {
	m, err := build(dir)
	if err != nil {
		return nil, err
	}
	var objs []runtime.Object
	for _, r := range m.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		obj, err := decode(fmt.Sprintf("kustomize build %s: %s %s", dir, r.GetKind(), r.GetName()), data)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// checkManifests decodes every manifest under root strictly: each
// kustomization.yaml, each resource file it lists, the Secret examples,
// and what each kustomization renders. It returns every problem.
func checkManifests(root string) error {
	var errs []error
	for _, k := range kustomizations {
		dir := filepath.Join(root, strings.TrimPrefix(k, k8sDir))
		kust, err := readKustomization(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, file := range append(slices.Clone(kust.Resources), "secret.example.yaml") {
			if _, err := readObject(filepath.Join(dir, file)); err != nil {
				errs = append(errs, err)
			}
		}
		if _, err := render(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TestManifestsDecodeStrictly: every manifest is made of the real API
// types' fields, as written and as kustomize renders it.
func TestManifestsDecodeStrictly(t *testing.T) {
	if err := checkManifests(k8sDir); err != nil {
		t.Error(err)
	}
	// Every YAML file under kubernetes/ is a kustomization, one of its
	// resources or a Secret example, so the check above saw it.
	var seen []string
	for _, k := range kustomizations {
		kust, err := readKustomization(k)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, filepath.Join(k, "kustomization.yaml"), filepath.Join(k, "secret.example.yaml"))
		for _, r := range kust.Resources {
			seen = append(seen, filepath.Join(k, r))
		}
	}
	err := filepath.WalkDir(k8sDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".yaml") && !slices.Contains(seen, path) {
			t.Errorf("%s is in no kustomization and not checked: list it in a kustomization.yaml's resources", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestManifestsMisspelled: a misspelled field in any manifest fails the
// check, with the file and the field named.
func TestManifestsMisspelled(t *testing.T) {
	tests := []struct {
		file, from, to string
		want           []string // all in the error
	}{
		{"deployment.yaml", "imagePullPolicy:", "imagePullPolcy:",
			[]string{"kubernetes/deployment.yaml:", `unknown field "spec.template.spec.containers[0].imagePullPolcy"`}},
		{"servicemonitor.yaml", "endpoints:", "endpoint:",
			[]string{"kubernetes/servicemonitor.yaml:", `unknown field "spec.endpoint"`}},
		{"service.yaml", "targetPort:", "targetport:",
			[]string{"kubernetes/service.yaml:", `unknown field "spec.ports[0].targetport"`}},
		{"prometheusrule.yaml", "annotations:", "anotations:",
			[]string{"kubernetes/prometheusrule.yaml:", `unknown field "spec.groups[0].rules[0].anotations"`}},
		{"secret.example.yaml", "stringData:", "stringdata:",
			[]string{"kubernetes/secret.example.yaml:", `unknown field "stringdata"`}},
		{"kustomization.yaml", "configMapGenerator:", "configMapGenerators:",
			[]string{"kubernetes/kustomization.yaml:", `unknown field "configMapGenerators"`}},
		{"many-portals/deployment.yaml", "readOnlyRootFilesystem:", "readOnlyRootFileSystem:",
			[]string{"many-portals/deployment.yaml:", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`}},
		{"many-portals/scrapeconfig.yaml", "httpSDConfigs:", "httpSdConfigs:",
			[]string{"many-portals/scrapeconfig.yaml:", `unknown field "spec.httpSdConfigs"`}},
		{"many-portals/servicemonitor.yaml", "relabelings:", "relabellings:",
			[]string{"many-portals/servicemonitor.yaml:", `unknown field "spec.endpoints[0].relabellings"`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "kubernetes")
			if err := os.CopyFS(root, os.DirFS(k8sDir)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(root, tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tt.from) {
				t.Fatalf("%s has no %q to misspell", tt.file, tt.from)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), tt.from, tt.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			err = checkManifests(root)
			if err == nil {
				t.Fatalf("%s with %q passes the check", tt.file, tt.to)
			}
			for _, want := range tt.want {
				t.Log(err)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
}
