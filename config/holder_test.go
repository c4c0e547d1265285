package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// successMetric is the expected exposition of the success gauge.
func successMetric(success int) string {
	return fmt.Sprintf(`# HELP docspace_exporter_config_last_reload_successful Whether the last load of the configuration file succeeded (1) or failed (0); after a failure the previous configuration stays in use.
# TYPE docspace_exporter_config_last_reload_successful gauge
docspace_exporter_config_last_reload_successful %d
`, success)
}

// reloadMetrics is the Holder's expected exposition.
func reloadMetrics(success int, timestamp float64) string {
	return fmt.Sprintf(`# HELP docspace_exporter_config_last_reload_success_timestamp_seconds Time of the last successful load of the configuration file, in seconds since the Unix epoch.
# TYPE docspace_exporter_config_last_reload_success_timestamp_seconds gauge
docspace_exporter_config_last_reload_success_timestamp_seconds %g
`, timestamp) + successMetric(success)
}

func TestHolder(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(f.dir, "exporter.yml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(f.expand(content)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	portals := func(names ...string) string {
		s := "portals:\n"
		for _, n := range names {
			s += "  - name: " + n + "\n    url: https://" + n + ".example.com\n    api_key_file: $KEYFILE\n"
		}
		return s
	}
	// build returns the portal names and fails for a portal called boom.
	var builds int
	build := func(cfg *Config) ([]string, error) {
		builds++
		var names []string
		for _, p := range cfg.Portals {
			if p.Name == "boom" {
				return nil, errors.New("cannot build the client of portal boom")
			}
			names = append(names, p.Name)
		}
		return names, nil
	}

	write(portals("main"))
	before := time.Now()
	h, err := NewHolder(path, build)
	if err != nil {
		t.Fatalf("NewHolder: %v", err)
	}
	if got := strings.Join(h.Current(), ","); got != "main" {
		t.Errorf("Current() = %q, want main", got)
	}
	// The timestamp is the real clock's here: checked on its own below.
	if err := testutil.CollectAndCompare(h, strings.NewReader(successMetric(1)), "docspace_exporter_config_last_reload_successful"); err != nil {
		t.Errorf("metrics after NewHolder: %v", err)
	}
	if ts := reloadTimestamp(t, h); ts < float64(before.Unix()) || ts > float64(time.Now().Unix()+1) {
		t.Errorf("timestamp after NewHolder = %f, want about %d", ts, before.Unix())
	}
	if problems, err := testutil.CollectAndLint(h); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v %v", problems, err)
	}

	steps := []struct {
		name      string
		content   string
		now       float64 // the clock during the reload
		wantErr   []string
		wantValue string
		wantOK    int
		wantTime  float64
	}{
		{"good reload", portals("main", "archive"), 1.7e9, nil, "main,archive", 1, 1.7e9},
		{"invalid file", portals("main") + "    api_key: " + inlineSecret + "\n", 1.8e9,
			[]string{path + `:5: portal "main": api_key is not supported`}, "main,archive", 0, 1.7e9},
		{"build fails", portals("main", "boom"), 1.8e9,
			[]string{"cannot build the client of portal boom"}, "main,archive", 0, 1.7e9},
		{"file removed", "", 1.8e9, []string{"cannot read the configuration file ", path, "no such file"}, "main,archive", 0, 1.7e9},
		{"good again", portals("other"), 1.9e9, nil, "other", 1, 1.9e9},
	}
	for _, step := range steps {
		if step.content == "" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		} else {
			write(step.content)
		}
		h.now = func() time.Time { return time.Unix(int64(step.now), 0) }
		err := h.Reload()
		switch {
		case step.wantErr == nil && err != nil:
			t.Errorf("%s: Reload: %v", step.name, err)
		case step.wantErr != nil && err == nil:
			t.Errorf("%s: Reload succeeded; want an error", step.name)
		case err != nil:
			for _, want := range step.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: Reload error does not contain %q:\n%s", step.name, want, err)
				}
			}
			if strings.Contains(err.Error(), inlineSecret) || strings.Contains(err.Error(), fileSecret) {
				t.Errorf("%s: Reload error contains a secret:\n%s", step.name, err)
			}
		}
		if got := strings.Join(h.Current(), ","); got != step.wantValue {
			t.Errorf("%s: Current() = %q, want %q", step.name, got, step.wantValue)
		}
		if err := testutil.CollectAndCompare(h, strings.NewReader(reloadMetrics(step.wantOK, step.wantTime))); err != nil {
			t.Errorf("%s: metrics: %v", step.name, err)
		}
	}
	// The initial load and one build per valid file.
	if builds != 4 {
		t.Errorf("build was called %d times, want 4", builds)
	}
}

// reloadTimestamp returns the Holder's timestamp metric.
func reloadTimestamp(t *testing.T, h prometheus.Collector) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == "docspace_exporter_config_last_reload_success_timestamp_seconds" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no timestamp metric")
	return 0
}

func TestNewHolderBadFile(t *testing.T) {
	f := newFixture(t)
	path := f.write(t, "bad.yml", "portals: []\n")
	h, err := NewHolder(path, func(*Config) (int, error) { return 1, nil })
	if h != nil || err == nil || !strings.Contains(err.Error(), path+":1: portals is empty") {
		t.Errorf("NewHolder(bad.yml) = %v, %v; want nil and an error at %s:1", h, err, path)
	}

	path = f.write(t, "good.yml", "portals: [{name: main, url: 'https://x', api_key_env: DSX_TEST_KEY}]\n")
	h, err = NewHolder(path, func(*Config) (int, error) { return 0, errors.New("no client") })
	if h != nil || err == nil || err.Error() != "no client" {
		t.Errorf("NewHolder with a failing build = %v, %v; want nil and the build's error", h, err)
	}
}

// TestHolderConcurrent runs reloads, reads and scrapes at once; run with
// -race.
func TestHolderConcurrent(t *testing.T) {
	f := newFixture(t)
	path := f.write(t, "exporter.yml", "portals: [{name: main, url: 'https://x', api_key_env: DSX_TEST_KEY}]\n")
	var building sync.Mutex
	h, err := NewHolder(path, func(cfg *Config) (*Config, error) {
		if !building.TryLock() {
			t.Error("build called concurrently")
			return cfg, nil
		}
		defer building.Unlock()
		time.Sleep(time.Millisecond)
		return cfg, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if err := h.Reload(); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range 50 {
				if cfg := h.Current(); cfg == nil || cfg.Portals[0].Name != "main" {
					t.Errorf("Current() = %+v", cfg)
				}
				testutil.CollectAndCount(h)
			}
		})
	}
	wg.Wait()
}
