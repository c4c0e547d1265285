package main

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

var href = regexp.MustCompile(`href="([^"]*)"`)

// landingLinks returns the addresses the page links to, unescaped as a
// browser reads them.
func landingLinks(page string) []string {
	var links []string
	for _, m := range href.FindAllStringSubmatch(page, -1) {
		links = append(links, html.UnescapeString(m[1]))
	}
	return links
}

// Every link of the landing page answers 200, and the page names what is
// monitored: the version, the flag portal's host and each portal of the
// config file, as of the last reload.
func TestBinaryLandingPage(t *testing.T) {
	_, _, configFile, mainURL := twoPortals(t)
	keyFile := writeFile(t, "api-key", testKey+"\n")
	e := startExporter(t, "http", []string{"--config.file=" + configFile,
		"--docspace.url=" + mainURL + "/", "--docspace.api-key-file=" + keyFile}, "ARCHIVE_KEY="+otherKey)

	check := func(wantPortals ...string) string {
		t.Helper()
		code, page := get(t, nil, e.url+"/")
		if code != http.StatusOK {
			t.Fatalf("/: HTTP %d", code)
		}
		links := landingLinks(page)
		for _, link := range links {
			u, err := url.Parse(link)
			if err != nil || u.IsAbs() || !strings.HasPrefix(link, "/") {
				t.Errorf("link %q is not a path of the exporter", link)
				continue
			}
			if code, body := get(t, nil, e.url+link); code != http.StatusOK {
				t.Errorf("the landing page links %s, which answers HTTP %d: %.200s", link, code, body)
			}
		}
		for _, name := range wantPortals {
			for _, want := range []string{"/probe?target=" + name, "/probe?target=" + name + "&debug=true"} {
				if !slices.Contains(links, want) {
					t.Errorf("the landing page does not link %s; its links: %q", want, links)
				}
			}
		}
		for _, want := range []string{"/metrics", "/metrics?debug=true", "/-/healthy", "/-/ready"} {
			if !slices.Contains(links, want) {
				t.Errorf("the landing page does not link %s; its links: %q", want, links)
			}
		}
		return page
	}

	page := check("main", "archive")
	host := strings.TrimPrefix(mainURL, "http://")
	for _, want := range []string{
		"Version: " + html.EscapeString(moduleVersionOf(t)) + " (",
		"The metrics of the portal of --docspace.url, http://" + host + "; ",
		`<a href="/probe?target=archive">archive</a>`,
		"Portals of the config file (2)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the landing page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "debug/pprof") {
		t.Errorf("the landing page offers pprof pages, which the exporter does not serve:\n%s", page)
	}
	assertNoSecrets(t, "the landing page", page)

	// A reload adds a portal: the page shows it.
	good, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, configFile, string(good)+fmt.Sprintf("  - name: third\n    url: %s\n    api_key_file: %s\n", mainURL, keyFile))
	if resp, err := http.Post(e.url+"/-/reload", "", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %v %v", resp, err)
	}
	if page := check("main", "archive", "third"); !strings.Contains(page, "Portals of the config file (3)") {
		t.Errorf("the landing page does not follow the reload:\n%s", page)
	}
	if code, _ := get(t, nil, e.url+"/nothing-here"); code != http.StatusNotFound {
		t.Errorf("/nothing-here: HTTP %d, want 404", code)
	}
}

// moduleVersionOf is the version the binary under test reports.
func moduleVersionOf(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := strings.Cut(strings.TrimPrefix(string(out), "docspace_exporter, version "), " ")
	if v == "" || v == "(branch:" {
		t.Fatalf("the binary reports no version: %s", out)
	}
	return v
}

// Names and addresses are escaped: the toolkit's template does not.
func TestLandingPageEscapes(t *testing.T) {
	_, target := healthyTarget(t, 5*time.Second)
	name := `a&b<script>"x"`
	lp := landingPage{metricsPath: "/metrics", portals: func() *fleet {
		return &fleet{portals: []*collector.Portal{target}, byName: map[string]*collector.Portal{name: target}}
	}}
	rec := httptest.NewRecorder()
	lp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	page := rec.Body.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, `"x"`) {
		t.Errorf("the name is not escaped:\n%s", page)
	}
	links := landingLinks(page)
	for _, want := range []string{"/probe?target=" + url.QueryEscape(name), "/probe?target=" + url.QueryEscape(name) + "&debug=true"} {
		if !slices.Contains(links, want) {
			t.Errorf("no link %q; links: %q", want, links)
		}
	}
	if !strings.Contains(page, ">a&amp;b&lt;script&gt;&#34;x&#34;</a>") {
		t.Errorf("the name is not shown escaped:\n%s", page)
	}
	if slices.Contains(links, "/metrics?debug=true") {
		t.Error("a debug link for /metrics without a --docspace.url portal")
	}
}

// The landing page shows each portal's state from its last scrape, and
// never calls DocSpace to render it.
func TestLandingPageShowsTheLastScrape(t *testing.T) {
	fake, target := healthyTarget(t, 5*time.Second)
	lp := landingPage{metricsPath: "/metrics", portals: func() *fleet {
		return &fleet{portals: []*collector.Portal{target}, byName: map[string]*collector.Portal{"main": target}}
	}}
	render := func() string {
		rec := httptest.NewRecorder()
		lp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Body.String()
	}
	calls := func() int { return fake.Requests(docspacetest.PathSchedule) }
	if page := render(); !strings.Contains(page, "not scraped yet") || calls() != 0 {
		t.Errorf("before any scrape (%d calls):\n%s", calls(), page)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	target.Scrape(ctx, slog.New(slog.DiscardHandler))
	page := render()
	for _, want := range []string{"up at the last scrape, 0s ago", "; next scheduled backup "} {
		if !strings.Contains(page, want) {
			t.Errorf("the landing page lacks %q:\n%s", want, page)
		}
	}
	if calls() != 1 {
		t.Errorf("rendering the landing page called DocSpace: %d schedule calls, want the scrape's 1", calls())
	}
}

func TestLastScrape(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	got := lastScrape(collector.Summary{At: now.Add(-time.Minute), Up: false, NextBackup: now.Add(-54 * time.Hour), Newest: now.Add(-3 * time.Hour)}, now)
	if want := "down at the last scrape, 1m 0s ago; next scheduled backup overdue by 2d 6h; newest stored backup made 3h 0m ago"; got != want {
		t.Errorf("lastScrape = %q, want %q", got, want)
	}
}
