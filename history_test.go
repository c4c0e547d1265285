package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// A config-file portal without history_interval gets
// --docspace.history-interval; history_interval: 0 turns it off, and
// changing between the two is a change of settings.
func TestHistoryIntervalDefault(t *testing.T) {
	keyFile := writeFile(t, "key", testKey)
	parse := func(extra string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]byte(fmt.Sprintf("portals:\n  - name: main\n    url: https://portal.example.com\n    api_key_file: %s\n%s", keyFile, extra)), "portals.yml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	opts := testOptions(collector.Options{HistoryTimeout: time.Minute})
	d := config.Defaults{Timeout: 10 * time.Second, HistoryInterval: 3 * time.Hour}
	unset, err := newFleet(parse(""), nil, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := unset.lookup("main").Config().HistoryInterval; got != 3*time.Hour {
		t.Errorf("without history_interval: %v, want the flag's 3h", got)
	}
	off, err := newFleet(parse("    history_interval: 0s\n"), unset, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := off.lookup("main").Config().HistoryInterval; got != 0 {
		t.Errorf("history_interval: 0 is %v", got)
	}
	again, err := newFleet(parse("    history_interval: 3h\n"), unset, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.lookup("main").Config().HistoryInterval; got != 3*time.Hour {
		t.Errorf("history_interval: 3h is %v", got)
	}
}

// A reload keeps the cached history of an unchanged portal, and a rebuilt
// portal of the same URL takes it over: the first scrape after it serves
// the history without calling DocSpace again.
func TestReloadKeepsHistory(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetHistory(docspacetest.HistoryWeekly...)
	other, otherSrv := newFakePortal(t)
	keyFile := writeFile(t, "key", testKey)
	file := func(otherTimeout string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]byte(fmt.Sprintf(`portals:
  - {name: main, url: %q, api_key_file: %q}
  - {name: other, url: %q, api_key_file: %q, timeout: %s}
`, srv.URL, keyFile, otherSrv.URL, keyFile, otherTimeout)), "portals.yml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	opts := testOptions(collector.Options{HistoryTimeout: time.Minute})
	d := config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}
	s := newScrapeHandler(slog.New(slog.DiscardHandler), 0, nil)
	probe := func(f *fleet, name string) string {
		rec := httptest.NewRecorder()
		s.probe(f.lookup).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?target="+name, nil))
		return rec.Body.String()
	}

	before, err := newFleet(file("5s"), nil, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main", "other"} {
		if body := probe(before, name); !strings.Contains(body, "docspace_backup_history_backups ") {
			t.Fatalf("the first probe of %s has no history:\n%s", name, body)
		}
	}
	after, err := newFleet(file("6s"), before, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	body := probe(after, "main")
	if !strings.Contains(body, "docspace_backup_history_backups 5\n") || !strings.Contains(body, `docspace_collector_success{collector="history"} 1`) {
		t.Errorf("after the reload the history of the unchanged portal is gone:\n%s", body)
	}
	if n := fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("the unchanged portal's history was called %d times, want 1", n)
	}
	if body := probe(after, "other"); !strings.Contains(body, "docspace_backup_history_backups ") {
		t.Errorf("after the reload the rebuilt portal has no history:\n%s", body)
	}
	if n := other.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("the rebuilt portal's history was called %d times, want 1 (it keeps the cached history of the same URL)", n)
	}
}

// Under 64 concurrent scrapes and a reload, the history of a portal is
// called once per interval.
func TestBinaryHistoryOncePerInterval(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetHistory(docspacetest.HistoryWeekly...)
	fake.SetPathLatency(docspacetest.PathHistory, 200*time.Millisecond)
	keyFile := writeFile(t, "key", testKey)
	configFile := writeFile(t, "portals.yml", fmt.Sprintf("portals:\n  - {name: main, url: %q, api_key_file: %q}\n", srv.URL, keyFile))
	e := startExporter(t, "http", []string{"--config.file=" + configFile, "--docspace.history-interval=1h"})

	var wg sync.WaitGroup
	bodies := make(chan string, 64*3)
	for i := range 64 {
		wg.Go(func() {
			for range 3 {
				resp, err := http.Get(e.url + "/probe?target=main")
				if err != nil {
					bodies <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				bodies <- string(b)
			}
		})
		if i == 32 {
			resp, err := http.Post(e.url+"/-/reload", "", nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("reload: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
		}
	}
	wg.Wait()
	close(bodies)
	withHistory := 0
	for b := range bodies {
		if !strings.Contains(b, "docspace_up 1\n") {
			t.Fatalf("a scrape failed:\n%s", b)
		}
		if strings.Contains(b, "docspace_backup_history_backups 5\n") {
			withHistory++
		}
	}
	if n := fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("192 scrapes and a reload called the history %d times, want 1", n)
	}
	if withHistory == 0 {
		t.Error("no scrape showed the history")
	}
	if _, body := get(t, nil, e.url+"/probe?target=main"); !strings.Contains(body, "docspace_backup_history_backups 5\n") {
		t.Errorf("a scrape after the call lacks the history:\n%s", body)
	}
}

// A history call that takes a minute never holds a scrape past its
// deadline, and its answer shows on a later scrape.
func TestBinarySlowHistoryCall(t *testing.T) {
	fake, srv := newFakePortal(t)
	fake.SetHistory(docspacetest.HistoryWeekly...)
	fake.SetPathHang(docspacetest.PathHistory, true) // released below, as a 60 s call would end
	e := startExporter(t, "http", []string{"--docspace.url=" + srv.URL}, "DOCSPACE_API_KEY="+testKey)

	scrape := func() (string, time.Duration) {
		req, err := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "3")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), time.Since(start)
	}
	for i := range 3 {
		body, took := scrape()
		if took >= 3*time.Second {
			t.Errorf("scrape %d took %v, past Prometheus' 3 s timeout", i+1, took)
		}
		if !strings.Contains(body, "docspace_up 1\n") || strings.Contains(body, "docspace_backup_history_backups") ||
			strings.Contains(body, `collector="history"`) {
			t.Errorf("scrape %d while the first history call runs: want the other metrics and no history (and no failure):\n%s", i+1, body)
		}
	}
	if n := fake.Requests(docspacetest.PathHistory); n != 1 {
		t.Errorf("%d history calls while one runs, want 1", n)
	}

	fake.SetPathHang(docspacetest.PathHistory, false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		body, _ := scrape()
		if strings.Contains(body, "docspace_backup_history_backups 5\n") && strings.Contains(body, "docspace_backup_history_latest_timestamp_seconds 1.782698998e+09\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the answer of the slow call never showed:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
