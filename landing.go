package main

import (
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/docspace-exporter/docspace_exporter/collector"
)

// landingPage is the page served on /: the exporter's version and what it
// monitors, each portal with links to its metrics and its debug page. It is
// rendered for each request, so it shows the portals of the last reload.
type landingPage struct {
	metricsPath string
	// portal is the portal of --docspace.url; nil when there is none.
	portal *collector.Portal
	// portals returns the portals of --config.file; nil without one.
	portals func() *fleet
}

func (lp landingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	page, err := web.NewLandingPage(lp.config())
	if err != nil {
		http.Error(w, "cannot render the landing page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	page.ServeHTTP(w, r)
}

// config is the landing page as it stands. The toolkit's template does
// not escape: every name and address is escaped here.
func (lp landingPage) config() web.LandingConfig {
	links := []web.LandingLinks{{Address: html.EscapeString(lp.metricsPath), Text: "Metrics", Description: "The exporter's own metrics"}}
	if lp.portal != nil {
		links[0].Description = "The metrics of the portal of --docspace.url, " + portalLine(lp.portal) + ", and the exporter's own"
		links = append(links, web.LandingLinks{Address: html.EscapeString(lp.metricsPath + "?debug=true"), Text: "Debug page",
			Description: "What one scrape of the portal of --docspace.url does: each call to DocSpace, its status and advice, then the metrics"})
	}
	var extra strings.Builder
	if lp.portals != nil {
		f := lp.portals()
		fmt.Fprintf(&extra, "<h3>Portals of the config file (%d)</h3>\n<p>Each one's metrics on <code>/probe?target=NAME</code>, "+
			"and what one scrape does on its debug page.</p>\n<ul>\n", len(f.portals))
		for _, name := range slices.Sorted(maps.Keys(f.byName)) {
			probe := "/probe?target=" + url.QueryEscape(name)
			fmt.Fprintf(&extra, "<li><a href=\"%s\">%s</a> (<a href=\"%s\">debug page</a>): %s</li>\n",
				html.EscapeString(probe), html.EscapeString(name), html.EscapeString(probe+"&debug=true"), portalLine(f.byName[name]))
		}
		extra.WriteString("</ul>\n")
		links = append(links, web.LandingLinks{Address: "/discovery", Text: "Discovery",
			Description: "The portals of the config file as targets for Prometheus' http_sd_configs"})
	}
	return web.LandingConfig{
		Name:        "DocSpace Exporter",
		Description: "Prometheus exporter for the backups of ONLYOFFICE DocSpace portals",
		Version:     html.EscapeString(versionLine()),
		Links: append(links,
			web.LandingLinks{Address: "/-/healthy", Text: "Health"},
			web.LandingLinks{Address: "/-/ready", Text: "Readiness"}),
		ExtraHTML: extra.String(),
		// The exporter serves no /debug/pprof pages.
		Profiling: "false",
	}
}

// portalLine describes a portal, escaped: its URL's scheme and host, and dump schedule.
func portalLine(portal *collector.Portal) string {
	p := portal.Config()
	s := redactedURL(p.URL)
	if p.Dump {
		s += ", dump schedule"
	}
	return html.EscapeString(s + "; " + lastScrape(portal.LastScrape(), time.Now()))
}

// lastScrape tells what a portal's last scrape found; the landing page never
// calls DocSpace.
func lastScrape(last collector.Summary, now time.Time) string {
	if last.At.IsZero() {
		return "not scraped yet"
	}
	s := "down at the last scrape, " + roughly(now.Sub(last.At)) + " ago"
	if last.Up {
		s = "up at the last scrape, " + roughly(now.Sub(last.At)) + " ago"
	}
	if !last.NextBackup.IsZero() {
		s += "; next scheduled backup " + relative(last.NextBackup, now, true)
	}
	if !last.Newest.IsZero() {
		s += "; newest stored backup made " + relative(last.Newest, now, false)
	}
	return s
}

// versionLine is the exporter's version, with the revision, branch and
// build date when the build recorded them.
func versionLine() string {
	var details []string
	if rev := version.GetRevision(); rev != "" && rev != "unknown" {
		details = append(details, "revision "+rev)
	}
	if version.Branch != "" {
		details = append(details, "branch "+version.Branch)
	}
	if version.BuildDate != "" {
		details = append(details, "built "+version.BuildDate)
	}
	details = append(details, version.GoVersion)
	return version.Version + " (" + strings.Join(details, ", ") + ")"
}
