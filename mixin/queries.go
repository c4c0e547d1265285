package mixin

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
)

//go:embed dashboards_out/*.json
var dashboards embed.FS

// PanelQuery is one Prometheus query of one dashboard panel.
type PanelQuery struct {
	Dashboard string // file name in dashboards_out, e.g. "docspace.json"
	Panel     string // panel title
	RefID     string // query letter inside the panel
	Expr      string // PromQL with Grafana variables ($job, $instance, ...)
	Instant   bool   // an instant query (tables, current values) rather than a range query
}

// ExampleVariables are values for the Grafana variables of the dashboard queries that turn each
// query into plain PromQL for the default Prometheus job of the exporter ("docspace").
var ExampleVariables = map[string]string{
	"job":             "docspace",
	"instance":        ".+",
	"__rate_interval": "1m",
	"__range":         "1h",
}

// PanelQueries returns every query of every panel (panels nested in rows included) of the
// generated dashboards embedded in this package, in file order and panel order.
func PanelQueries() ([]PanelQuery, error) {
	names, err := fs.Glob(dashboards, "dashboards_out/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var all []PanelQuery
	for _, name := range names {
		b, err := dashboards.ReadFile(name)
		if err != nil {
			return nil, err
		}
		qs, err := DashboardQueries(path.Base(name), b)
		if err != nil {
			return nil, err
		}
		all = append(all, qs...)
	}
	return all, nil
}

type jsonPanel struct {
	Type    string      `json:"type"`
	Title   string      `json:"title"`
	Panels  []jsonPanel `json:"panels"`
	Targets []struct {
		RefID   string `json:"refId"`
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
	} `json:"targets"`
}

// DashboardQueries returns the queries of every panel of one dashboard JSON document, walking
// into rows. name is only copied into the result.
func DashboardQueries(name string, dashboardJSON []byte) ([]PanelQuery, error) {
	var d struct {
		Panels []jsonPanel `json:"panels"`
	}
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", name, err)
	}
	var out []PanelQuery
	var walk func([]jsonPanel)
	walk = func(panels []jsonPanel) {
		for _, p := range panels {
			for _, t := range p.Targets {
				out = append(out, PanelQuery{Dashboard: name, Panel: p.Title, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

var grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// ExpandVariables replaces the Grafana variables in expr ($name, ${name}, [[name]]) with the values
// in vars, e.g. ExampleVariables. It fails on a variable that vars lacks.
func ExpandVariables(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := grafanaVariable.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVariable.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for Grafana variable(s) %v in %q", missing, expr)
	}
	return out, nil
}
