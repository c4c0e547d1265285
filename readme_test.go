package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// codeBlock is one fenced block of the README.
type codeBlock struct {
	lang string
	line int // of the opening fence
	text string
}

// readmeBlocks returns the README's fenced code blocks.
func readmeBlocks(t *testing.T) []codeBlock {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks []codeBlock
		cur    *codeBlock
	)
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &codeBlock{lang: strings.TrimPrefix(line, "```"), line: i + 1}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: a code block is not closed", cur.line)
	}
	return blocks
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
			For   string `yaml:"for"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var spaces = regexp.MustCompile(`\s+`)

// Every alerting rule in the README passes promtool and is the mixin's
// rule of the same name: the same expression and the same for.
func TestReadmeAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH (Debian: apt-get install prometheus): %v", err)
	}
	var mixin ruleFile
	data, err := os.ReadFile("mixin/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &mixin); err != nil {
		t.Fatal(err)
	}
	type rule struct{ expr, for_ string }
	mixinRules := map[string][]rule{}
	for _, g := range mixin.Groups {
		for _, r := range g.Rules {
			mixinRules[r.Alert] = append(mixinRules[r.Alert], rule{spaces.ReplaceAllString(strings.TrimSpace(r.Expr), " "), r.For})
		}
	}
	checked := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "yaml" || !strings.Contains(b.text, "alert:") {
			continue
		}
		file := filepath.Join(t.TempDir(), "rules.yml")
		if err := os.WriteFile(file, []byte(b.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
			t.Errorf("README.md:%d: promtool check rules: %v\n%s", b.line, err, out)
			continue
		}
		var rf ruleFile
		if err := yaml.Unmarshal([]byte(b.text), &rf); err != nil {
			t.Fatal(err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				checked++
				got := rule{spaces.ReplaceAllString(strings.TrimSpace(r.Expr), " "), r.For}
				want, ok := mixinRules[r.Alert]
				switch {
				case !ok:
					t.Errorf("README.md:%d: alert %s is not in the mixin: a README alert must be the mixin's", b.line, r.Alert)
				case len(want) != 1 || want[0] != got:
					t.Errorf("README.md:%d: alert %s differs from the mixin's:\n got %+v\nwant %+v", b.line, r.Alert, got, want)
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no alerting rule found in the README's yaml blocks")
	}
}
