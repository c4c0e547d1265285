package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// getDiscovery reads the discovery endpoint at u and decodes its groups.
func getDiscovery(t *testing.T, u string) ([]targetGroup, *http.Response) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: HTTP %d, Content-Type %q\n%s", u, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var groups []targetGroup
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&groups); err != nil {
		t.Fatalf("GET %s: not a list of target groups: %v\n%s", u, err, body)
	}
	assertNoSecrets(t, "the discovery answer", body)
	return groups, resp
}

// TestDiscovery reads the discovery endpoint of the binary before and after
// a reload that adds a portal with labels and removes another.
func TestDiscovery(t *testing.T) {
	_, _, configFile, mainURL := twoPortals(t)
	e := startExporter(t, "http", []string{"--config.file=" + configFile}, "ARCHIVE_KEY="+otherKey)
	host := strings.TrimPrefix(e.url, "http://")
	origin := func(u string) string { return strings.TrimSuffix(u, "/") }

	groups, resp := getDiscovery(t, e.url+"/discovery")
	want := []targetGroup{
		{Targets: []string{host}, Labels: map[string]string{
			"__metrics_path__": "/probe", "__param_target": "main", "instance": "main", "__meta_docspace_url": origin(mainURL)}},
		{Targets: []string{host}, Labels: map[string]string{
			"__metrics_path__": "/probe", "__param_target": "archive", "instance": "archive"}},
	}
	want[1].Labels["__meta_docspace_url"] = groups[1].Labels["__meta_docspace_url"] // another fake, checked below
	if !reflect.DeepEqual(groups, want) || !strings.HasPrefix(groups[1].Labels["__meta_docspace_url"], "http://127.0.0.1:") {
		t.Errorf("discovery:\n got %+v\nwant %+v", groups, want)
	}

	// A client that has the answer gets 304 until the configuration changes.
	etag := resp.Header.Get("ETag")
	conditional := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/discovery", nil)
		req.Header.Set("If-None-Match", etag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if etag == "" || conditional() != http.StatusNotModified {
		t.Errorf("ETag %q: a request with If-None-Match does not get 304", etag)
	}

	// The targets are the address Prometheus reached the exporter at: the
	// Host of the request.
	req, _ := http.NewRequest(http.MethodGet, e.url+"/discovery", nil)
	req.Host = "exporter.example.com:9977"
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if body := readAll(resp); !strings.Contains(body, `"targets":["exporter.example.com:9977"]`) {
		t.Errorf("with Host exporter.example.com:9977: %s", body)
	}

	// A reload adds "third" with its labels and removes "archive".
	good, _ := os.ReadFile(configFile)
	mainOnly, _, _ := strings.Cut(string(good), "  - name: archive\n")
	keyFile := writeFile(t, "third.key", testKey)
	writeConfig(t, configFile, mainOnly+fmt.Sprintf(
		"  - name: third\n    url: %s\n    api_key_file: %s\n    labels: {env: prod, team: billing}\n", mainURL, keyFile))
	if resp, err := http.Post(e.url+"/-/reload", "", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %v %v", resp, err)
	}
	groups, _ = getDiscovery(t, e.url+"/discovery")
	want = []targetGroup{want[0], {Targets: []string{host}, Labels: map[string]string{
		"__metrics_path__": "/probe", "__param_target": "third", "instance": "third", "__meta_docspace_url": origin(mainURL),
		"env": "prod", "team": "billing"}}}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("discovery after the reload:\n got %+v\nwant %+v", groups, want)
	}
	if code := conditional(); code != http.StatusOK {
		t.Errorf("after a change, If-None-Match with the old ETag: HTTP %d, want 200", code)
	}
	if code, _ := get(t, nil, e.url+"/probe?target=third"); code != http.StatusOK {
		t.Errorf("the discovered target does not probe: HTTP %d", code)
	}
	if resp, err := http.Post(e.url+"/discovery", "", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /discovery: %v %v, want 405", resp, err)
	}
}

// TestDiscoveryWithoutConfigFile: without --config.file there is no fleet
// to discover.
func TestDiscoveryWithoutConfigFile(t *testing.T) {
	_, srv := newFakePortal(t)
	keyFile := writeFile(t, "key", testKey)
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL, "--docspace.api-key-file=" + keyFile})
	if code, _ := get(t, nil, e.url+"/discovery"); code != http.StatusNotFound {
		t.Errorf("/discovery without a config file: HTTP %d, want 404", code)
	}
}

// TestDiscoveryConcurrentReloads reads the discovery endpoint while the
// configuration is reloaded again and again: every answer is one whole
// configuration, never a mix.
func TestDiscoveryConcurrentReloads(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	writeConfig(t, keyFile, testKey)
	// generation g has 20 portals g-00 ... g-19, each labelled gen=g.
	generation := func(g int) string {
		var b strings.Builder
		b.WriteString("portals:\n")
		for i := range 20 {
			fmt.Fprintf(&b, "  - {name: g%d-%02d, url: 'https://p%d.example.com', api_key_file: %s, labels: {gen: '%d'}}\n", g, i, i, keyFile, g)
		}
		return b.String()
	}
	path := filepath.Join(dir, "portals.yml")
	writeConfig(t, path, generation(0))
	opts := testOptions(collector.Options{})
	var portals *config.Holder[*fleet]
	portals, err := config.NewHolder(path, func(cfg *config.Config) (*fleet, error) {
		var prev *fleet
		if portals != nil {
			prev = portals.Current()
		}
		return newFleet(cfg, prev, testDefaults, opts)
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(discovery(portals.Current))
	defer srv.Close()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for g := 1; g <= 30; g++ {
			writeConfig(t, path, generation(g))
			if err := portals.Reload(); err != nil {
				t.Errorf("reload %d: %v", g, err)
				return
			}
		}
	})
	seen := map[string]bool{}
	var mu sync.Mutex
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				var groups []targetGroup
				err = json.NewDecoder(resp.Body).Decode(&groups)
				resp.Body.Close()
				if err != nil || len(groups) != 20 {
					t.Errorf("answer with %d groups, err %v; want 20", len(groups), err)
					return
				}
				gen := groups[0].Labels["gen"]
				for i, g := range groups {
					if name := fmt.Sprintf("g%s-%02d", gen, i); g.Labels["gen"] != gen || g.Labels["__param_target"] != name {
						t.Errorf("an answer mixes configurations: group %d is %v, the first is of generation %s", i, g.Labels, gen)
						return
					}
				}
				mu.Lock()
				seen[gen] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) < 2 {
		t.Errorf("the readers saw only generations %v: the reloads did not show", seen)
	}
}
