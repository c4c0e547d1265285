package main

import (
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/docspace-exporter/docspace_exporter/collector"
)

// landingPage is the page served on /: the exporter's version and what it
// monitors, each portal with links to its metrics and its debug page. It is
// rendered for each request, so it shows the portals of the last reload.
type landingPage struct {
	metricsPath string
	// target is the portal of --docspace.url; nil when there is none.
	target *collector.Target
	// portals returns the portals of --config.file; nil when there is no
	// config file.
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
	metrics := "The exporter's own metrics"
	if lp.target != nil {
		metrics = "The metrics of the portal of --docspace.url, " + portalLine(lp.target) + ", and the exporter's own"
	}
	links := []web.LandingLinks{{Address: html.EscapeString(lp.metricsPath), Text: "Metrics", Description: metrics}}
	if lp.target != nil {
		links = append(links, web.LandingLinks{Address: html.EscapeString(lp.metricsPath + "?debug=true"), Text: "Debug page",
			Description: "What one scrape of the portal of --docspace.url does: each call to DocSpace, its status and advice, then the metrics"})
	}
	var extra strings.Builder
	if lp.portals != nil {
		f := lp.portals()
		fmt.Fprintf(&extra, "<h3>Portals of the config file (%d)</h3>\n<p>Each one's metrics on <code>/probe?target=NAME</code>, "+
			"and what one scrape does on its debug page.</p>\n<ul>\n", len(f.targets))
		for _, name := range slices.Sorted(maps.Keys(f.targets)) {
			probe := "/probe?target=" + url.QueryEscape(name)
			fmt.Fprintf(&extra, "<li><a href=\"%s\">%s</a> (<a href=\"%s\">debug page</a>): %s</li>\n",
				html.EscapeString(probe), html.EscapeString(name), html.EscapeString(probe+"&debug=true"), portalLine(f.targets[name]))
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

// portalLine describes a portal for the landing page, escaped: its URL's
// scheme and host, and its dump schedule.
func portalLine(t *collector.Target) string {
	p := t.Settings()
	s := redactedURL(p.URL)
	if p.Dump {
		s += ", dump schedule"
	}
	return html.EscapeString(s)
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
