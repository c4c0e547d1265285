package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// codeBlock is one fenced block of a Markdown file.
type codeBlock struct {
	file string
	lang string
	line int // of the opening fence
	text string
}

// docFiles are the Markdown files whose shell blocks are run: the README,
// the contributors' guide and the documents of docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md", "CONTRIBUTING.md"}, docs...)
}

// readmeBlocks returns the README's fenced code blocks.
func readmeBlocks(t *testing.T) []codeBlock { return docBlocks(t, "README.md") }

// docBlocks returns the fenced code blocks of file.
func docBlocks(t *testing.T, file string) []codeBlock {
	t.Helper()
	data, err := os.ReadFile(file)
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
			cur = &codeBlock{file: file, lang: strings.TrimPrefix(line, "```"), line: i + 1}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: a code block is not closed", file, cur.line)
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

// The first line of a shell block of the README that is not run here.
const (
	// A block for a real host (or cluster): a portal, root, systemd,
	// docker or kubectl. The scripts named in the line check its files.
	exampleMark = "# example for a real "
	// A block CI runs as written: each command is a line of .ci/run.
	ciMark = "# run by CI as written"
)

// sandboxScript runs one README block ($BLOCK) as a user would, from the
// repository's folder, in a network namespace of its own (so its ports,
// 8080 and the exporter's 9977, are free and nothing leaves loopback) and
// with a HOME of its own. A block that starts an exporter is left to serve
// until /metrics answers with docspace_up 1, for at most 180 s; its metrics
// and landing page are saved in $OUT.
// It prints how the block ended: "serving" or "exited N".
const sandboxScript = `
ip link set lo up
setsid bash -e -c "$BLOCK" >"$OUT/log" 2>&1 </dev/null &
pid=$!
status="still starting after 180 s"
for _ in $(seq 1 360); do
	# The block's fake portal may start after its exporter: wait for a
	# scrape that reaches it.
	if curl -fsS --max-time 5 -o "$OUT/metrics" http://localhost:9977/metrics 2>/dev/null; then
		status=serving
		if grep -qx 'docspace_up 1' "$OUT/metrics"; then
			curl -fsS --max-time 5 -o "$OUT/landing" http://localhost:9977/ 2>/dev/null || true
			break
		fi
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" && status="exited 0" || status="exited $?"
		break
	fi
	sleep 0.5
done
kill -TERM -- "-$pid" 2>/dev/null
sleep 0.5
kill -KILL -- "-$pid" 2>/dev/null
echo "$status"
`

// Every shell block of the README, CONTRIBUTING.md and docs/ runs here as
// written, or is run by CI as written, or says it is an example for a real
// host. A block that starts an exporter must serve docspace_up 1. The test
// command of CONTRIBUTING.md is the one CI runs.
func TestReadmeShellBlocks(t *testing.T) {
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	ciLines := map[string]bool{}
	for line := range strings.Lines(string(ci)) {
		ciLines[strings.TrimSpace(line)] = true
	}
	goEnv := map[string]string{}
	for _, name := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOROOT"} {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		goEnv[name] = strings.TrimSpace(string(out))
	}
	served, ciBlocks := 0, 0
	var blocks []codeBlock
	for _, file := range docFiles(t) {
		blocks = append(blocks, docBlocks(t, file)...)
	}
	for _, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		first, _, _ := strings.Cut(b.text, "\n")
		switch {
		case strings.HasPrefix(first, exampleMark):
			continue
		case strings.HasPrefix(first, ciMark):
			ciBlocks++
			for line := range strings.Lines(b.text) {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") && !ciLines[line] {
					t.Errorf("%s:%d: %q is marked as run by CI, but .ci/run does not run it", b.file, b.line, line)
				}
			}
			continue
		}
		out := t.TempDir()
		home := t.TempDir()
		cmd := exec.Command("unshare", "--net", "bash", "-c", sandboxScript)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "BLOCK=" + b.text, "OUT=" + out, "GOPROXY=off",
			"GOCACHE=" + goEnv["GOCACHE"], "GOMODCACHE=" + goEnv["GOMODCACHE"], "GOPATH=" + goEnv["GOPATH"],
			"GOFLAGS=" + goEnv["GOFLAGS"], "GOROOT=" + goEnv["GOROOT"]}
		status, err := cmd.Output()
		log, _ := os.ReadFile(filepath.Join(out, "log"))
		if err != nil {
			t.Fatalf("%s:%d: the sandbox (unshare --net, as root) failed: %v\n%s", b.file, b.line, err, status)
		}
		switch s := strings.TrimSpace(string(status)); s {
		case "exited 0":
		case "serving":
			served++
			metrics, _ := os.ReadFile(filepath.Join(out, "metrics"))
			if !strings.Contains(string(metrics), "\ndocspace_up 1\n") {
				t.Errorf("%s:%d: the exporter of the block serves no docspace_up 1:\n%s\nits log:\n%s", b.file, b.line, metrics, log)
			}
			landing, _ := os.ReadFile(filepath.Join(out, "landing"))
			if !strings.Contains(string(landing), `href="/metrics?debug=true"`) {
				t.Errorf("%s:%d: the landing page of the block's exporter does not link its debug page:\n%s", b.file, b.line, landing)
			}
		default:
			t.Errorf("%s:%d: the block, run as written in a sandbox, %s; mark it %q if it needs a real host. Its output:\n%s",
				b.file, b.line, s, exampleMark+"host", log)
		}
	}
	if served == 0 {
		t.Error("no block of the README starts an exporter that can be tried here (the Quick start)")
	}
	if ciBlocks == 0 {
		t.Errorf("no shell block starts with %q: CONTRIBUTING.md must give the test command of .ci/run", ciMark)
	}
}

// readmePrometheusMarker marks the README's complete prometheus.yml, which
// TestE2EDiscovery also runs.
const readmePrometheusMarker = "<!-- e2e: discovery -->"

// The README's prometheus.yml is complete as written: it discovers the
// portals on the exporter's /discovery and loads the mixin's alerts, and
// promtool accepts it with mixin/alerts.yaml saved under the rule file's
// name beside it.
func TestReadmePrometheusConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH (Debian: apt-get install prometheus): %v", err)
	}
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), readmePrometheusMarker+"\n```yaml\n")
	if !ok {
		t.Fatalf("README.md has no %q followed by a ```yaml block", readmePrometheusMarker)
	}
	block, _, ok := strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatalf("README.md: the block after %q does not end", readmePrometheusMarker)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
			HTTPSD  []struct {
				URL string `yaml:"url"`
			} `yaml:"http_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(block), &cfg); err != nil {
		t.Fatalf("README.md: the prometheus.yml: %v", err)
	}
	if len(cfg.RuleFiles) != 1 || filepath.IsAbs(cfg.RuleFiles[0]) {
		t.Fatalf("README.md: the prometheus.yml names rule files %q, want one, beside prometheus.yml", cfg.RuleFiles)
	}
	discovery := false
	for _, job := range cfg.ScrapeConfigs {
		for _, sd := range job.HTTPSD {
			discovery = discovery || job.JobName == "docspace" && strings.HasSuffix(sd.URL, ":9977/discovery")
		}
	}
	if !discovery {
		t.Errorf("README.md: the prometheus.yml has no job docspace with http_sd_configs on the exporter's /discovery")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	alerts, err := os.ReadFile("mixin/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "config", config).CombinedOutput()
	if err == nil {
		t.Fatalf("promtool check config passes without the rule file %s: the test cannot see it:\n%s", cfg.RuleFiles[0], out)
	}
	if err := os.WriteFile(filepath.Join(dir, cfg.RuleFiles[0]), alerts, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(promtool, "check", "config", config).CombinedOutput()
	if err != nil {
		t.Fatalf("README.md: promtool check config on the prometheus.yml: %v\n%s", err, out)
	}
	var rules ruleFile
	if err := yaml.Unmarshal(alerts, &rules); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Groups {
		n += len(g.Rules)
	}
	if want := fmt.Sprintf("SUCCESS: %d rules found", n); !strings.Contains(string(out), want) {
		t.Errorf("promtool check config does not load the mixin's %d rules (want %q):\n%s", n, want, out)
	}
}
