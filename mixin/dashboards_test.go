package mixin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"go.yaml.in/yaml/v3"

	"github.com/docspace-exporter/docspace_exporter/mixin"
)

var registerPlugins sync.Once

// realError drops the empty cog.BuildErrors that the SDK (v0.0.22) returns as a non-nil error
// when nothing is wrong.
func realError(err error) error {
	var build cog.BuildErrors
	if errors.As(err, &build) && len(build) == 0 {
		return nil
	}
	return err
}

func dashboardFiles(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no dashboards in mixin/%s: run `make generate`", dashboardsDir)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// TestDashboardsValidate loads every generated dashboard with the Grafana Foundation SDK in strict
// mode (unknown fields are errors; panel options, field configs and Prometheus queries are checked
// against the schemas of their plugins) and runs its validation.
func TestDashboardsValidate(t *testing.T) {
	registerPlugins.Do(plugins.RegisterDefaultPlugins)
	for name, b := range dashboardFiles(t) {
		t.Run(name, func(t *testing.T) {
			//lint:ignore SA1019 the dashboard is the classic JSON model Grafana imports, which dashboard.Dashboard describes
			var d dashboard.Dashboard
			if err := realError(d.UnmarshalJSONStrict(b)); err != nil {
				t.Fatalf("strict unmarshal:\n%v", err)
			}
			if err := realError(d.Validate()); err != nil {
				t.Fatalf("validate:\n%v", err)
			}
			if d.Uid == nil || *d.Uid == "" {
				t.Error("dashboard has no uid")
			}
			if name == "docspace.json" && (d.Uid == nil || *d.Uid != "docspace-backups") {
				t.Errorf("uid = %v, want docspace-backups", d.Uid)
			}
		})
	}
}

type rawPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  map[string]any `json:"datasource"`
	Panels      []rawPanel     `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource map[string]any `json:"datasource"`
	} `json:"targets"`
}

var (
	// A metric selector of an exporter series, with its label matchers if any.
	docspaceSelector = regexp.MustCompile(`\bdocspace_[a-z_]+(\{[^}]*\})?`)
	usedVariable     = regexp.MustCompile(`\$\{?(\w+)`)
	allowedVariables = map[string]bool{"job": true, "instance": true, "__rate_interval": true, "__range": true}
)

// TestDashboardPanels checks every panel, rows included recursively: a panel has at least one
// query, each query has an expr, selects the exporter's series with the $job/$instance variables,
// uses no other variable than $job, $instance, $__rate_interval, $__range, and the $datasource
// variable is its data source; every panel sets a unit; ids are unique.
func TestDashboardPanels(t *testing.T) {
	for name, b := range dashboardFiles(t) {
		t.Run(name, func(t *testing.T) {
			var d struct {
				Panels []rawPanel `json:"panels"`
			}
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			ids := map[int]string{}
			panels := 0
			var walk func(prefix string, ps []rawPanel)
			walk = func(prefix string, ps []rawPanel) {
				for _, p := range ps {
					where := fmt.Sprintf("%spanel %d %q", prefix, p.ID, p.Title)
					if other, dup := ids[p.ID]; dup {
						t.Errorf("%s: id also used by %q", where, other)
					}
					ids[p.ID] = p.Title
					if p.Type == "row" {
						walk(where+" > ", p.Panels)
						continue
					}
					panels++
					checkPanel(t, where, p)
				}
			}
			walk("", d.Panels)
			if panels == 0 {
				t.Fatal("dashboard has no panels")
			}
		})
	}
}

func checkPanel(t *testing.T, where string, p rawPanel) {
	t.Helper()
	if p.Datasource["uid"] != "${datasource}" {
		t.Errorf("%s: datasource %v, want uid ${datasource}", where, p.Datasource)
	}
	if p.FieldConfig.Defaults.Unit == "" {
		t.Errorf("%s: no unit in fieldConfig.defaults", where)
	}
	if len(p.Targets) == 0 {
		t.Errorf("%s: no query", where)
	}
	for _, q := range p.Targets {
		qwhere := fmt.Sprintf("%s query %s", where, q.RefID)
		if strings.TrimSpace(q.Expr) == "" {
			t.Errorf("%s: empty expr", qwhere)
			continue
		}
		if q.Datasource["uid"] != "${datasource}" {
			t.Errorf("%s: datasource %v, want uid ${datasource}", qwhere, q.Datasource)
		}
		sels := docspaceSelector.FindAllStringSubmatch(q.Expr, -1)
		if len(sels) == 0 {
			t.Errorf("%s: %q selects no docspace_* series", qwhere, q.Expr)
		}
		for _, s := range sels {
			if !strings.Contains(s[1], `job="$job"`) || !strings.Contains(s[1], `instance=~"$instance"`) {
				t.Errorf("%s: selector %q lacks job=\"$job\" and instance=~\"$instance\"", qwhere, s[0])
			}
		}
		for _, v := range usedVariable.FindAllStringSubmatch(q.Expr, -1) {
			if !allowedVariables[v[1]] {
				t.Errorf("%s: uses variable $%s; only $job, $instance, $__rate_interval, $__range are allowed", qwhere, v[1])
			}
		}
	}
}

// TestPanelQueriesArePromQL expands the Grafana variables of every dashboard query with
// mixin.ExampleVariables and lets promtool parse the result, as recording rules of a throw-away
// rule file. It also checks that the queries embedded in the mixin package match the files.
func TestPanelQueriesArePromQL(t *testing.T) {
	var queries []mixin.PanelQuery
	for name, b := range dashboardFiles(t) {
		qs, err := mixin.DashboardQueries(name, b)
		if err != nil {
			t.Fatal(err)
		}
		queries = append(queries, qs...)
	}
	if len(queries) == 0 {
		t.Fatal("no dashboard queries")
	}

	embedded, err := mixin.PanelQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != len(queries) && !*update {
		t.Errorf("mixin.PanelQueries() returns %d queries, dashboards_out has %d", len(embedded), len(queries))
	}

	type recording struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []recording
	for i, q := range queries {
		expr, err := mixin.ExpandVariables(q.Expr, mixin.ExampleVariables)
		if err != nil {
			t.Errorf("%s %q %s: %v", q.Dashboard, q.Panel, q.RefID, err)
			continue
		}
		if strings.Contains(expr, "$") {
			t.Errorf("%s %q %s: %q still has a variable", q.Dashboard, q.Panel, q.RefID, expr)
		}
		rules = append(rules, recording{Record: fmt.Sprintf("dashboard_query_%d", i), Expr: expr})
	}
	doc := map[string]any{"groups": []any{map[string]any{"name": "dashboard-queries", "rules": rules}}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboard_queries.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", f)
}

func TestExpandVariables(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		fail     bool
	}{
		{in: `up{job="$job",instance=~"$instance"}`, want: `up{job="docspace",instance=~".+"}`},
		{in: `rate(x{job="${job}"}[$__rate_interval])`, want: `rate(x{job="docspace"}[1m])`},
		{in: `avg_over_time(x{instance=~"[[instance]]"}[$__range])`, want: `avg_over_time(x{instance=~".+"}[1h])`},
		{in: `x{job="$unknown"}`, fail: true},
	} {
		got, err := mixin.ExpandVariables(tc.in, mixin.ExampleVariables)
		if (err != nil) != tc.fail {
			t.Errorf("ExpandVariables(%q): error %v, want failure %v", tc.in, err, tc.fail)
			continue
		}
		if !tc.fail && got != tc.want {
			t.Errorf("ExpandVariables(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
