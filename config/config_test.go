package config

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The collector reserves the labels of its metrics as the program starts;
// these tests reserve one of them as it does.
func init() { ReserveMetricLabels("collector") }

// Secrets that must never show up in an error.
const (
	fileSecret   = "sk-file-secret-0123456789abcdef"
	envSecret    = "sk-env-secret-fedcba9876543210"
	inlineSecret = "sk-inline-secret-5555555555"
)

// fixture holds the files and environment a configuration refers to.
type fixture struct {
	dir      string
	keyFile  string // holds fileSecret
	emptyKey string // holds only white space
	caFile   string // a PEM certificate
	notPEM   string // a readable file that is no certificate
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	f := fixture{
		dir:      dir,
		keyFile:  filepath.Join(dir, "main.key"),
		emptyKey: filepath.Join(dir, "empty.key"),
		caFile:   filepath.Join(dir, "ca.pem"),
		notPEM:   filepath.Join(dir, "not.pem"),
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(f.keyFile, fileSecret+"\n")
	write(f.emptyKey, " \n")
	write(f.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	write(f.notPEM, "hello\n")
	t.Setenv("DSX_TEST_KEY", " "+envSecret+"\n")
	t.Setenv("DSX_EMPTY_KEY", "")
	t.Setenv("DSX_UNSET_KEY", "")
	os.Unsetenv("DSX_UNSET_KEY")
	return f
}

// expand fills in the fixture's paths.
func (f fixture) expand(s string) string {
	return strings.NewReplacer(
		"$KEYFILE", f.keyFile, "$EMPTYKEY", f.emptyKey, "$CAFILE", f.caFile,
		"$NOTPEM", f.notPEM, "$DIR", f.dir,
	).Replace(s)
}

// write stores a configuration file in the fixture's directory.
func (f fixture) write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(f.dir, name)
	if err := os.WriteFile(path, []byte(f.expand(content)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodYAML = `# DocSpace portals
portals:
  - name: main
    url: https://portal.example.com/
    api_key_file: $KEYFILE
    labels: {env: prod, team_2: "Billing & Co"}
  - name: archive.2_b-c
    url: http://docs.example.org:8080/docspace
    api_key_env: DSX_TEST_KEY
    dump: true
    timezone: Europe/Berlin
    timeout: 15s
    tls: {ca_file: $CAFILE, insecure_skip_verify: true}
    history_interval: 6h
`

func TestParseGood(t *testing.T) {
	f := newFixture(t)
	cfg, err := Parse([]byte(f.expand(goodYAML)), "cfg.yml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Config{Portals: []Portal{
		{Name: "main", URL: "https://portal.example.com/", APIKeyFile: f.keyFile,
			Labels: map[string]string{"env": "prod", "team_2": "Billing & Co"}},
		{
			Name: "archive.2_b-c", URL: "http://docs.example.org:8080/docspace", APIKeyEnv: "DSX_TEST_KEY",
			Dump: true, Timezone: "Europe/Berlin", Timeout: 15 * time.Second,
			TLS: TLS{CAFile: f.caFile, InsecureSkipVerify: true}, HistoryInterval: 6 * time.Hour,
		},
	}}
	if len(cfg.Portals) != len(want.Portals) || !sameSettings(cfg.Portals[0], want.Portals[0]) || !sameSettings(cfg.Portals[1], want.Portals[1]) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", cfg, want)
	}

	main, archive := &cfg.Portals[0], &cfg.Portals[1]

	// Defaults: no timezone.
	loc, err := main.Location()
	if loc != nil || err != nil {
		t.Errorf("Location of a portal without timezone = %v, %v; want nil, nil", loc, err)
	}
	loc, err = archive.Location()
	if err != nil || loc == nil || loc.String() != "Europe/Berlin" {
		t.Errorf("Location(archive) = %v, %v; want Europe/Berlin", loc, err)
	}
	if got := main.Source(); got != "cfg.yml:3" {
		t.Errorf("Source(main) = %q, want cfg.yml:3", got)
	}
	if got := archive.Source(); got != "cfg.yml:7" {
		t.Errorf("Source(archive) = %q, want cfg.yml:7", got)
	}
	if main.Gives(FieldHistoryInterval) || !archive.Gives(FieldHistoryInterval) || !archive.Gives(FieldCAFile) {
		t.Errorf("Gives(history_interval): main %v, archive %v; want false, true", main.Gives(FieldHistoryInterval), archive.Gives(FieldHistoryInterval))
	}
}

// history_interval: 0 turns the history off; written or left out, the
// settings differ.
func TestParseHistoryOff(t *testing.T) {
	cfg, err := Parse([]byte("portals:\n  - {name: a, url: 'https://x', api_key_env: K, history_interval: 0s}\n  - {name: b, url: 'https://x', api_key_env: K}\n"), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Portals[0], cfg.Portals[1]
	if a.HistoryInterval != 0 || !a.Gives(FieldHistoryInterval) || b.Gives(FieldHistoryInterval) {
		t.Errorf("a: %v given %v; b given %v", a.HistoryInterval, a.Gives(FieldHistoryInterval), b.Gives(FieldHistoryInterval))
	}
}

// Relative key and CA files are taken relative to the file's folder, as
// Prometheus does.
func TestParseRelativePaths(t *testing.T) {
	cfg, err := Parse([]byte("portals:\n  - {name: a, url: 'https://x', api_key_file: keys/a.key, tls: {ca_file: ca.pem}}\n  - {name: b, url: 'https://y', api_key_file: /abs/b.key}\n"),
		"/etc/docspace_exporter/portals.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Portals[0].APIKeyFile; got != "/etc/docspace_exporter/keys/a.key" {
		t.Errorf("api_key_file = %q", got)
	}
	if got := cfg.Portals[0].TLS.CAFile; got != "/etc/docspace_exporter/ca.pem" {
		t.Errorf("tls.ca_file = %q", got)
	}
	if got := cfg.Portals[1].APIKeyFile; got != "/abs/b.key" {
		t.Errorf("absolute api_key_file = %q", got)
	}
}

// Parse reads no file and no environment variable: keys and CA files are
// read when a portal is built.
func TestParseIsPure(t *testing.T) {
	cfg, err := Parse([]byte("portals:\n  - {name: a, url: 'https://x', api_key_file: /nonexistent/a.key, tls: {ca_file: /nonexistent/ca.pem}}\n  - {name: b, url: 'https://y', api_key_env: DSX_NEVER_SET_VARIABLE}\n"), "cfg.yml")
	if err != nil || len(cfg.Portals) != 2 {
		t.Fatalf("Parse = %+v, %v; want two portals", cfg, err)
	}
}

func TestFromFlags(t *testing.T) {
	names := map[string]string{FieldURL: "--docspace.url", FieldAPIKeyFile: "--docspace.api-key-file", FieldAPIKeyEnv: "DOCSPACE_API_KEY", FieldTimeout: "--docspace.timeout"}
	p := FromFlags(Portal{Name: "default", URL: "ftp://x", APIKeyFile: "k", APIKeyEnv: "DOCSPACE_API_KEY", Timeout: time.Hour}, names)
	err := p.Check()
	for _, want := range []string{
		"--docspace.url: must start with https://",
		"--docspace.api-key-file: and DOCSPACE_API_KEY are both set: keep only one",
		"--docspace.timeout: 1h0m0s is too long: at most 5m0s",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v; want %q", err, want)
		}
	}
	if got := p.Source(); got != "--docspace.url" {
		t.Errorf("Source() = %q", got)
	}
}

// sameSettings tells whether p and q hold the same settings, wherever
// they were given.
func sameSettings(p, q Portal) bool {
	p.origin, q.origin = nil, nil
	return reflect.DeepEqual(p, q)
}

// The defaults fill what an entry leaves out, and only that; the portal of
// the flags takes its timeout and history interval from them.
func TestWithDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`portals:
  - {name: a, url: 'https://a.example.com', api_key_file: k}
  - {name: b, url: 'https://b.example.com', api_key_file: k, timeout: 3s, history_interval: 0s}
`), "portals.yml")
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults{Timeout: 7 * time.Second, HistoryInterval: 2 * time.Hour}
	for i, want := range []struct{ timeout, history time.Duration }{{7 * time.Second, 2 * time.Hour}, {3 * time.Second, 0}} {
		p := cfg.Portals[i].WithDefaults(d)
		if p.Timeout != want.timeout || p.HistoryInterval != want.history {
			t.Errorf("portal %s: timeout %v, history interval %v; want %v and %v", p.Name, p.Timeout, p.HistoryInterval, want.timeout, want.history)
		}
	}
	flags := FromFlags(Portal{Name: "default", Timeout: time.Hour, HistoryInterval: time.Minute}, map[string]string{FieldURL: "--docspace.url"})
	if p := flags.WithDefaults(d); p.HistoryInterval != d.HistoryInterval {
		t.Errorf("the flags' portal has history interval %v, want the default's %v", p.HistoryInterval, d.HistoryInterval)
	}
}

func TestLoad(t *testing.T) {
	f := newFixture(t)
	path := f.write(t, "good.yml", goodYAML)
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Portals) != 2 {
		t.Errorf("Load: %d portals, want 2", len(cfg.Portals))
	}

	path = f.write(t, "bad.yml", "portals:\n  - name: main\n    url: ftp://x\n    api_key_file: $KEYFILE\n")
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+`:3: portal "main": `) {
		t.Errorf("Load(bad.yml) = %v; want an error at %s:3", err, path)
	}

	missing := filepath.Join(f.dir, "missing.yml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing.yml) = %v; want a not-exist error naming the file", err)
	}
}

func TestParseBad(t *testing.T) {
	// portal wraps the settings of one portal, starting at line 2.
	portal := func(lines ...string) string {
		return "portals:\n  - " + strings.Join(lines, "\n    ") + "\n"
	}
	const (
		name = "name: main"
		url  = "url: https://portal.example.com"
		key  = "api_key_file: $KEYFILE"
	)
	tests := []struct {
		name string
		yaml string
		want []string // all must be in the error
	}{
		{"empty file", "", []string{"cfg.yml: the file is empty"}},
		{"only a comment", "# nothing\n", []string{"cfg.yml: the file is empty"}},
		// The YAML parser names the line where the enclosing block starts;
		// the message names the line of the mistake.
		{"syntax error", "portals:\n  - name: main\n    url: [https://x\n", []string{"cfg.yml:3: invalid YAML: did not find expected ',' or ']' (in the block that starts at line 2)"}},
		{"tab indentation", "portals:\n  - name: main\n\turl: x\n", []string{"cfg.yml:3: invalid YAML: found a tab character that violates indentation (in the block that starts at line 2): " +
			"YAML does not allow tabs for indentation: use spaces"}},
		{"tab before an entry", "portals:\n\t- name: main\n", []string{"cfg.yml:2: invalid YAML: found character that cannot start any token: YAML does not allow tabs for indentation: use spaces"}},
		{"bad token", "portals:\n  - name: main\n    url: @x\n", []string{"cfg.yml:3: invalid YAML: found character that cannot start any token"}},
		{"two documents", portal(name, url, key) + "---\nportals: []\n", []string{"cfg.yml: has more than one YAML document"}},
		{"not a mapping", "- main\n", []string{"cfg.yml:1: expected a mapping with a portals: list here, not a list"}},
		{"portals not a list", "portals:\n  name: main\n", []string{`cfg.yml:2: expected a list with one entry per portal, each starting with "- name:" here, not a mapping`}},
		{"portals a string", "portals: main\n", []string{`cfg.yml:1: expected a list with one entry per portal`, "here, not a string"}},
		{"missing portals", "{}\n", []string{"cfg.yml:1: no portals: list: add one entry per DocSpace portal"}},
		{"no portals key", "portals_:\n", []string{`cfg.yml:1: unknown key "portals_" at the top level (did you mean portals?); the known keys are portals`}},
		{"null portals", "portals:\n", []string{"cfg.yml:1: portals is empty: add one entry per DocSpace portal"}},
		{"empty portals", "portals: []\n", []string{"cfg.yml:1: portals is empty"}},

		{"unknown top-level key", portal(name, url, key) + "scrape_interval: 1m\n", []string{
			`cfg.yml:5: unknown key "scrape_interval" at the top level; the known keys are portals`,
		}},
		{"unknown portal key", portal(name, url, key, "dumpp: true"), []string{
			`cfg.yml:5: portal "main": unknown key "dumpp" in a portal (did you mean dump?); the known keys are name, url, api_key_file, api_key_env, dump, timezone, timeout, tls, history_interval, labels`,
		}},
		{"misspelt keys", portal(name, url, key, "Timezon: UTC", "api_kye_env: X", "tls: {cafile: $CAFILE}"), []string{
			`cfg.yml:5: portal "main": unknown key "Timezon" in a portal (did you mean timezone?); the known keys`,
			`cfg.yml:6: portal "main": unknown key "api_kye_env" in a portal (did you mean api_key_env?); the known keys`,
			`cfg.yml:7: portal "main": unknown key "cafile" in tls (did you mean ca_file?); the known keys`,
		}},
		{"unknown tls key", portal(name, url, key, "tls:", "  ca_file: $CAFILE", "  insecure: true"), []string{
			`cfg.yml:7: portal "main": unknown key "insecure" in tls; the known keys are ca_file, insecure_skip_verify`,
		}},
		{"unknown keys in two portals", portal(name, url, key, "foo: 1") + "  - name: second\n    bar: 2\n", []string{
			`cfg.yml:5: portal "main": unknown key "foo" in a portal`,
			`cfg.yml:7: portal "second": unknown key "bar" in a portal`,
		}},
		{"api_key given directly", portal(name, url, "api_key: "+inlineSecret), []string{
			`cfg.yml:4: portal "main": api_key is not supported`, "api_key_file", "api_key_env",
		}},
		{"key twice", portal(name, url, key, "url: https://other.example.com"), []string{
			`cfg.yml:5: portal "main": key "url" is given twice (first at line 3)`,
		}},
		{"timeout not a duration", portal(name, url, key, "timeout: "+inlineSecret), []string{
			`cfg.yml:5: portal "main": expected a duration such as 15s or 1m here, not a string`,
		}},
		{"timeout a number", portal(name, url, key, "timeout: 15"), []string{
			`cfg.yml:5: portal "main": expected a duration such as 15s or 1m here, not a number`,
		}},
		{"dump not a bool", portal(name, url, key, "dump: maybe"), []string{
			`cfg.yml:5: portal "main": expected true or false here, not a string`,
		}},
		{"one-line portals", "portals:\n  - {name: main, url: 'https://x', api_key_env: DSX_TEST_KEY}\n  - {name: two, dump: 1}\n", []string{
			`cfg.yml:3: portal "two": expected true or false here, not a number`,
		}},
		{"one-line portal too long a timeout", "portals:\n  - {name: main, url: 'https://x', api_key_env: DSX_TEST_KEY, timeout: 1h}\n", []string{
			`cfg.yml:2: portal "main": timeout: 1h0m0s is too long: at most 5m0s`,
		}},
		{"ca_file a list", portal(name, url, key, "tls: {ca_file: [a, b]}"), []string{
			`cfg.yml:5: portal "main": expected a single value here, not a list`,
		}},

		{"labels a list", portal(name, url, key, "labels: [env, prod]"), []string{
			`cfg.yml:5: portal "main": expected a mapping of label names to values, e.g. {env: prod} here, not a list`,
		}},
		{"bad labels", portal(name, url, key, "labels:", "  env: prod", "  team-a: x", "  2nd: x", "  __param_target: other",
			"  __address__: evil.example.com", "  instance: x", "  job: x", "  collector: x", "  owner: ''"), []string{
			`cfg.yml:7: portal "main": labels.team-a: "team-a" is not a valid label name: use letters, digits and _`,
			`cfg.yml:8: portal "main": labels.2nd: "2nd" is not a valid label name`,
			`cfg.yml:9: portal "main": labels.__param_target: label names starting with __ are reserved`,
			`cfg.yml:10: portal "main": labels.__address__: label names starting with __ are reserved`,
			`cfg.yml:11: portal "main": labels.instance: is set to the portal's name by the exporter: choose another label name`,
			`cfg.yml:12: portal "main": labels.job: is the name of the scrape job`,
			`cfg.yml:13: portal "main": labels.collector: is a label of the exporter's metrics`,
			`cfg.yml:14: portal "main": labels.owner: is empty`,
		}},

		{"missing name", portal(url, key), []string{`cfg.yml:2: portal #1: name: is missing`, "/probe?target=<name>"}},
		{"empty name", portal(`name: ""`, url, key), []string{`cfg.yml:2: portal #1: name: is missing`}},
		{"name is a URL", portal("name: https://x", url, key), []string{
			`cfg.yml:2: portal #1: name: "https://x" is not allowed: use letters, digits, '.', '_' and '-'`,
		}},
		{"name with slash", portal("name: a/b", url, key), []string{`cfg.yml:2: portal #1: name: "a/b" is not allowed`}},
		{"name starting with a dot", portal("name: .main", url, key), []string{`cfg.yml:2: portal #1: name: ".main" is not allowed`}},
		{"name with space", portal("name: my portal", url, key), []string{`cfg.yml:2: portal #1: name: "my portal" is not allowed`}},
		{"duplicate name", portal(name, url, key) + "  - " + name + "\n    " + url + "\n    " + key + "\n", []string{
			`cfg.yml:5: portal "main": name: "main" is already used by the portal at line 2: names must be unique`,
		}},

		{"missing url", portal(name, key), []string{`cfg.yml:2: portal "main": url: is missing`}},
		{"relative url", portal(name, "url: portal.example.com", key), []string{`cfg.yml:3: portal "main": url: must start with https://`}},
		{"ftp url", portal(name, "url: ftp://portal.example.com", key), []string{`cfg.yml:3: portal "main": url: must start with https://`}},
		{"url with user info", portal(name, "url: https://admin:"+inlineSecret+"@portal.example.com", key), []string{
			`cfg.yml:3: portal "main": url: must not contain`, "must not contain a user name or password",
		}},
		{"url with query", portal(name, "url: https://portal.example.com/?a=b", key), []string{`cfg.yml:3: portal "main": url: must not have a query`}},

		{"both key sources", portal(name, url, key, "api_key_env: DSX_TEST_KEY"), []string{
			`cfg.yml:4: portal "main": api_key_file: and api_key_env are both set: keep only one`,
		}},
		{"no key source", portal(name, url), []string{
			`cfg.yml:2: portal "main": no API key: give a file holding it (api_key_file) or an environment variable holding it (api_key_env)`,
		}},
		{"key in api_key_env", portal(name, url, "api_key_env: "+inlineSecret), []string{
			`cfg.yml:4: portal "main": api_key_env: must be the name of an environment variable`, "not the key itself",
		}},
		{"key in api_key_file", portal(name, url, "api_key_file: "+inlineSecret), []string{
			`cfg.yml:4: portal "main": api_key_file: this looks like an API key, not a file path`,
		}},

		{"Local timezone", portal(name, url, key, "timezone: Local"), []string{
			`cfg.yml:5: portal "main": timezone: "Local" is the time zone of the exporter's host, not the portal's`,
		}},
		{"bad timezone", portal(name, url, key, "timezone: Mars/Olympus_Mons"), []string{
			`cfg.yml:5: portal "main": timezone: unknown time zone Mars/Olympus_Mons; use an IANA name such as Europe/Berlin or UTC`,
		}},
		{"zero timeout", portal(name, url, key, "timeout: 0s"), []string{`cfg.yml:5: portal "main": timeout: must be positive, e.g. 15s`}},
		{"negative timeout", portal(name, url, key, "timeout: -5s"), []string{`cfg.yml:5: portal "main": timeout: must be positive`}},
		{"timeout too long", portal(name, url, key, "timeout: 6m"), []string{`cfg.yml:5: portal "main": timeout: 6m0s is too long: at most 5m0s`}},
		{"negative history interval", portal(name, url, key, "history_interval: -1h"), []string{
			`cfg.yml:5: portal "main": history_interval: must not be negative: give e.g. 1h, or 0 to turn the history off`,
		}},
		{"history interval too short", portal(name, url, key, "history_interval: 10s"), []string{
			`cfg.yml:5: portal "main": history_interval: 10s is too short: at least 1m0s (each call checks every stored backup in the backup storage), or 0 to turn the history off`,
		}},
		{"history interval a word", portal(name, url, key, "history_interval: hourly"), []string{
			`cfg.yml:5: portal "main": expected a duration such as 15s or 1m here, not a string`,
		}},

		{"portals from a merge key", "<<: {portals: [{name: main, url: 'https://x', api_key_env: 1BAD, timeout: -1s}]}\n", []string{
			`cfg.yml:1: portal "main": api_key_env: must be the name of an environment variable`,
			`cfg.yml:1: portal "main": timeout: must be positive`,
		}},
		{"every problem reported", portal("name: a/b", "url: ftp://x", "timeout: 0s") + "  - " + name + "\n    timezone: Nowhere\n", []string{
			`cfg.yml:2: portal #1: name: "a/b" is not allowed`,
			`cfg.yml:3: portal #1: url: must start with https://`,
			`cfg.yml:2: portal #1: no API key`,
			`cfg.yml:4: portal #1: timeout: must be positive`,
			`cfg.yml:5: portal "main": url: is missing`,
			`cfg.yml:5: portal "main": no API key`,
			`cfg.yml:6: portal "main": timezone: unknown time zone Nowhere`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			cfg, err := Parse([]byte(f.expand(tt.yaml)), "cfg.yml")
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want an error", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a configuration with its error: %+v", cfg)
			}
			msg := err.Error()
			for _, want := range tt.want {
				if want = f.expand(want); !strings.Contains(msg, want) {
					t.Errorf("error does not contain %q:\n%s", want, msg)
				}
			}
			for _, secret := range []string{fileSecret, envSecret, inlineSecret, inlineSecret[:10]} {
				if strings.Contains(msg, secret) {
					t.Errorf("error contains the secret %q:\n%s", secret, msg)
				}
			}
		})
	}
}

// A file's type errors (values that cannot be decoded) and the problems of
// its settings are reported together, each once.
func TestParseReportsEverythingAtOnce(t *testing.T) {
	const file = `portals:
  - name: a
    timeout: soon
    dump: maybe
    url: ftp://x
    api_key: ` + inlineSecret + `
  - name: b
    surprise: 1
  - {name: c, timeout: x, url: 'https://x', api_key_env: X}
  - main
  - name: d
    tls: [a]
    url: https://x/api/2.0
    api_key_env: X
`
	_, err := Parse([]byte(file), "cfg.yml")
	want := strings.Join([]string{
		`cfg.yml:3: portal "a": expected a duration such as 15s or 1m here, not a string`,
		`cfg.yml:4: portal "a": expected true or false here, not a string`,
		`cfg.yml:6: portal "a": api_key is not supported: the API key is never written in the configuration file; put it in a file and give its path in api_key_file, or in an environment variable and give its name in api_key_env`,
		`cfg.yml:8: portal "b": unknown key "surprise" in a portal; the known keys are name, url, api_key_file, api_key_env, dump, timezone, timeout, tls, history_interval, labels`,
		`cfg.yml:9: portal "c": expected a duration such as 15s or 1m here, not a string`,
		`cfg.yml:10: portal #4: expected a mapping of keys such as name: and url: here, not a string`,
		`cfg.yml:12: portal "d": expected a mapping with ca_file: and insecure_skip_verify: here, not a list`,
		`cfg.yml:5: portal "a": url: must start with https:// (or http://), e.g. https://portal.example.com`,
		`cfg.yml:7: portal "b": url: is missing: give the portal root, e.g. https://portal.example.com`,
		`cfg.yml:7: portal "b": no API key: give a file holding it (api_key_file) or an environment variable holding it (api_key_env)`,
		`cfg.yml:13: portal "d": url: drop /api/2.0: give the portal root, e.g. https://portal.example.com; the API paths are added to it`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// The line of a YAML mistake is the line to fix, not the line where the
// block around it starts; bytes that are not UTF-8 are located too.
func TestParseErrorLines(t *testing.T) {
	var many strings.Builder
	many.WriteString("portals:\n")
	for i := range 20 {
		fmt.Fprintf(&many, "  - name: p%d\n    url: https://p%d.example.com\n    api_key_env: KEY\n", i, i)
	}
	many.WriteString("  - name: last\n    url: https://last.example.com\n   api_key_env: KEY\n")
	tests := []struct{ yaml, want string }{
		{"portals:\n  - name: a\n    url: https://x\n   api_key_file: y\n",
			"cfg.yml:4: invalid YAML: did not find expected '-' indicator (in the block that starts at line 1)"},
		{many.String(), "cfg.yml:64: invalid YAML: did not find expected '-' indicator (in the block that starts at line 1)"},
		{"portals:\n  - name: a\n    url: https://x\n    api_key_file: k\xffey\n",
			"cfg.yml:4: the file is not UTF-8 text: an invalid byte at column 20; save it as UTF-8"},
		{"portals:\n  - name: caf\xc3\xa9\n    url: https://x\n    api_key_env: \xc3\n",
			"cfg.yml:4: the file is not UTF-8 text: an invalid byte at column 18; save it as UTF-8"},
		{"portals:\n  - name: a\n    url: \"https://x\n", "cfg.yml:3: invalid YAML: found unexpected end of stream"},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.yaml), "cfg.yml"); err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", tt.yaml, err, tt.want)
		}
	}
}

// Credentials of the forms DocSpace issues or accepts: an API key, a
// personal access token (a JWT), a base64 token with '/', '+' and '=', and
// a base64url one.
const (
	skKey      = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	jwt        = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MmFiYyIsImV4cCI6MTc2NDc2MDAwMH0.Xq3vN8kP_2sLw-9RtYbF1cZ7uHgE4mJ0aDoWiQsVnKe"
	slashToken = "8Kh1Er7vJ/ddf+nF7j3RWFhgZtD8N/eAl3DRcPvQ6pQK3mgRfg+yDI2ZmcpD"
	urlToken   = "8Kh1Er7vJ_ddf-nF7j3RWFhgZtD8N_eAl3DRcPvQ6pQK3mgRfg-yDI2ZmcpD"
)

// Whatever setting a credential of any form is pasted into, no message
// shows it.
func TestParseNeverShowsAKey(t *testing.T) {
	for _, key := range []string{skKey, jwt, slashToken, slashToken + "==", urlToken, "Bearer " + jwt, "Bearer " + slashToken} {
		tests := []struct{ yaml, want string }{
			{"portals:\n  - name: " + key + "\n    url: https://x\n    api_key_env: X\n",
				`cfg.yml:2: portal #1: name: this looks like an API key, not a name`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: X\n    " + key + ": 1\n",
				`cfg.yml:5: portal "a": unknown key that looks like an API key (not shown)`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: X\n    " + key + ": 1\n    " + key + ": 2\n",
				`cfg.yml:6: portal "a": a key that looks like an API key (not shown) is given twice (first at line 5)`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: X\n    timezone: " + key + "\n",
				`cfg.yml:5: portal "a": timezone: this looks like an API key, not a time zone`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: X\n    tls: {ca_file: " + key + "}\n",
				`cfg.yml:5: portal "a": tls.ca_file: this looks like an API key, not a file path`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_file: /etc/docspace/" + key + "\n",
				`cfg.yml:4: portal "a": api_key_file: this looks like an API key, not a file path`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: " + key + "\n",
				`cfg.yml:4: portal "a": api_key_env: must be the name of an environment variable holding the API key`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: X\n    labels: {" + key + ": prod}\n",
				`cfg.yml:5: portal "a": labels: a label looks like an API key (not shown)`},
			{"portals:\n  - name: a\n    url: https://x\n    api_key_env: X\n    labels: {env: " + key + "}\n",
				`cfg.yml:5: portal "a": labels: a label looks like an API key (not shown)`},
		}
		if key == skKey {
			tests = append(tests, []struct{ yaml, want string }{
				{"portals:\n  - name: a\n    url: https://x\n    api_key_env: " + strings.ToUpper(key[3:]) + "\n",
					`cfg.yml:4: portal "a": api_key_env: must be the name of an environment variable holding the API key`},
				{"portals:\n  - name: a\n    url: https://" + key + "@portal.example.com\n    api_key_env: X\n",
					`cfg.yml:3: portal "a": url: must not contain a user name or password`},
				{"portals:\n  - name: a\n    url: https://portal.example.com/?key=" + key + "\n    api_key_env: X\n",
					`cfg.yml:3: portal "a": url: must not have a query or fragment`},
			}...)
		}
		token := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(key, "Bearer "), "sk-"))
		for _, tt := range tests {
			_, err := Parse([]byte(tt.yaml), "cfg.yml")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%s:\n got %v\nwant %s...", tt.yaml, err, tt.want)
			}
			if msg := strings.ToLower(fmt.Sprint(err)); strings.Contains(msg, token[:12]) || strings.Contains(msg, token[len(token)-12:]) {
				t.Errorf("the message shows the key: %v", err)
			}
		}
	}
}

// Long names, labels and ids that are no key are taken as they are.
func TestParseTakesLongNames(t *testing.T) {
	cfg, err := Parse([]byte(`portals:
  - name: customer-department-production-01
    url: https://portal.example.com
    api_key_env: DOCSPACE_API_KEY_FOR_THE_PRODUCTION_PORTAL_01
    labels: {customer: customer-department-production-01, customer_id: ABCDEF0123456789ABCDEF0123456789, team: team-backup-operations-and-disaster-recovery}
  - name: 0123456789abcdef0123456789abcdef
    url: https://portal.example.com
    api_key_env: X
    timezone: America/Argentina/Buenos_Aires
`), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Portals[0]; p.Name != "customer-department-production-01" || p.Labels["customer_id"] != "ABCDEF0123456789ABCDEF0123456789" {
		t.Errorf("got %+v", p)
	}
}

func TestLooksLikeKey(t *testing.T) {
	const key = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for s, want := range map[string]bool{
		key:                                   true,
		"sk-short":                            true,
		"Bearer " + key:                       true,
		"/etc/docspace/" + key:                true,
		"./" + key + ".key":                   true,
		jwt:                                   true,
		"Bearer " + jwt:                       true,
		"/run/secrets/" + jwt:                 true,
		slashToken:                            true,
		slashToken + "==":                     true,
		"Bearer " + slashToken:                true,
		urlToken:                              true,
		strings.Repeat("0123456789abcdef", 4): true,
		"ABCDEF0123456789ABCDEF0123456789":    false, // a 32-hex id
		"0123456789abcdef0123456789abcdef":    false,
		"customer-department-production-01":   false,
		"team-backup-operations-and-disaster-recovery":         false,
		"DOCSPACE_API_KEY_FOR_THE_PRODUCTION_PORTAL_01":        false,
		"/var/lib/docspace_exporter/keys/production-portal-01": false,
		"/tmp/TestBinaryRejectsBadSettings918378009/005/fifo":  false,
		"/var/lib/DocSpace/Secrets/Production2024":             false,
		"MyCustomerDepartmentProduction01Main":                 false,
		"America/Argentina/Buenos_Aires":                       false,
		"/etc/docspace_exporter/api-key":                       false,
		"/etc/My Keys/api-key":                                 false,
		"/etc/docspace/desk-key":                               false,
		"DOCSPACE_API_KEY":                                     false,
		"Europe/Berlin":                                        false,
		"":                                                     false,
	} {
		if got := LooksLikeKey(s); got != want {
			t.Errorf("LooksLikeKey(%q) = %v, want %v", s, got, want)
		}
	}
}

// Warnings name the portal and what is unsafe or wasteful, never the key.
func TestWarnings(t *testing.T) {
	cfg, err := Parse([]byte(`portals:
  - {name: plain, url: 'http://portal.example.com:8080/docspace', api_key_env: X}
  - {name: local, url: 'http://127.0.0.1:8080', api_key_env: X}
  - {name: local6, url: 'http://[::1]', api_key_env: X}
  - {name: localhost, url: 'http://localhost:8080', api_key_env: X}
  - {name: tls, url: 'https://portal.example.com', api_key_env: X}
  - {name: insecure, url: 'https://portal.example.com', api_key_env: X, tls: {insecure_skip_verify: true}}
  - {name: dump, url: 'https://portal.example.com', api_key_env: X, dump: true}
  - {name: dump-again, url: 'https://PORTAL.example.com/', api_key_env: X, dump: true}
`), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	const same = " has the same url and dump: its alerts would fire twice, and each history call makes DocSpace check the backup storage and drop the records of missing backups; keep one entry"
	want := []string{
		`cfg.yml:2: portal "plain": url: http://portal.example.com:8080 is plain http: the API key is sent unencrypted over the network; use https://`,
		`cfg.yml:7: portal "insecure": tls.insecure_skip_verify: the portal's certificate is not verified: anyone on the way can take the API key; give its CA file instead`,
		`cfg.yml:7: portal "insecure": url: the portal "tls" at line 6` + same,
		`cfg.yml:9: portal "dump-again": url: the portal "dump" at line 8` + same,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	flags := FromFlags(Portal{Name: "default", URL: "http://portal.example.com"}, map[string]string{FieldURL: "--docspace.url"})
	if w := flags.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "--docspace.url: http://portal.example.com is plain http") {
		t.Errorf("flags: %v", w)
	}
}

// A key file others may read or change is warned of, as ssh does, with its
// mode and the fix (group read, which a Kubernetes fsGroup needs, is
// fine); it is only looked at, never opened (a named pipe would
// block).
func TestWarningsOfKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"private.key": 0o600, "readonly.key": 0o400, "shared.key": 0o644, "world.key": 0o666, "group.key": 0o640} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("sk-x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(`portals:
  - {name: private, url: 'https://portal.example.com', api_key_file: private.key}
  - {name: readonly, url: 'https://portal.example.com', api_key_file: readonly.key}
  - {name: shared, url: 'https://portal.example.com', api_key_file: shared.key}
  - {name: world, url: 'https://portal.example.com', api_key_file: world.key}
  - {name: group, url: 'https://portal.example.com', api_key_file: group.key}
  - {name: missing, url: 'https://portal.example.com', api_key_file: missing.key}
  - {name: pipe, url: 'https://portal.example.com', api_key_file: pipe.key}
`), filepath.Join(dir, "cfg.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.Portals {
		for _, w := range p.Warnings() {
			got = append(got, w.Error())
		}
	}
	var want []string
	for _, w := range []struct{ line, name, mode string }{{"4", "shared", "0644"}, {"5", "world", "0666"}, {"8", "pipe", "0644"}} {
		file := filepath.Join(dir, w.name+".key")
		want = append(want, filepath.Join(dir, "cfg.yml")+":"+w.line+`: portal "`+w.name+`": api_key_file: the API key file `+file+" has mode "+w.mode+
			": others on this host may read or change the key; run chmod 600 "+file)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Load reads only a regular file of a sane size, without blocking.
func TestLoadRefusesWhatIsNoFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "portals.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	large := filepath.Join(dir, "large.yml")
	if err := os.WriteFile(large, []byte("portals:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(large, 5<<20); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:                      "cannot read the configuration file " + fifo + ": is a named pipe, not a regular file",
		"/dev/zero":               "cannot read the configuration file /dev/zero: is a character device, not a regular file",
		large:                     "cannot read the configuration file " + large + ": is 5 MiB, larger than 4 MiB",
		dir + "/a\x00":            `cannot read the configuration file "` + dir + `/a\x00": a file path cannot hold a NUL byte`,
		"sk-0123456789abcdef0123": "configuration file: this looks like an API key, not a file path",
	} {
		if _, err := Load(path); err == nil || err.Error() != want {
			t.Errorf("Load(%q) = %v, want %s", path, err, want)
		}
	}
	// A path with a control character is quoted in every message.
	odd := filepath.Join(dir, "a\nb.yml")
	if err := os.WriteFile(odd, []byte("portals:\n  - name: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(odd); err == nil || !strings.HasPrefix(err.Error(), `"`+dir+`/a\nb.yml":2: portal "a": `) {
		t.Errorf("Load(%q) = %v", odd, err)
	}
}

// A setting brought in by a YAML merge key counts as given, as if written
// in the entry: the exporter's default does not replace it.
func TestMergeKeysGiveSettings(t *testing.T) {
	cfg, err := Parse([]byte(`portals:
  - &base {name: base, url: 'https://x', api_key_env: X, history_interval: 0s}
  - name: a
    <<: *base
  - <<: [*base]
    name: b
    history_interval: 2h
`), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Portals[1], cfg.Portals[2]
	if !a.Gives(FieldHistoryInterval) || a.HistoryInterval != 0 {
		t.Errorf("portal a: Gives(history_interval) = %v, interval %v; want the merged 0s, given", a.Gives(FieldHistoryInterval), a.HistoryInterval)
	}
	if !b.Gives(FieldHistoryInterval) || b.HistoryInterval != 2*time.Hour {
		t.Errorf("portal b: the written history_interval (2h) must win over the merged one; got %v", b.HistoryInterval)
	}
	if a.Gives(FieldTimeout) {
		t.Error("portal a: timeout is given neither in the entry nor by the merge")
	}

	_, err = Parse([]byte("portals:\n  - &base {name: base, url: 'https://x', api_key_env: X}\n  - name: a\n    <<: [*base, {timeout: 0s}]\n"), "cfg.yml")
	if err == nil || !strings.Contains(err.Error(), `cfg.yml:4: portal "a": timeout: must be positive`) {
		t.Errorf("a merged timeout of 0s: %v; want it refused at the merge key's line", err)
	}
}

// A portal may have at most MaxLabels labels; more are refused before the
// file is decoded, however many there are.
func TestTooManyLabels(t *testing.T) {
	for _, n := range []int{MaxLabels + 1, 40000} {
		var b strings.Builder
		b.WriteString("portals:\n  - name: main\n    url: https://portal.example.com\n    api_key_env: DSX_TEST_KEY\n    labels:\n")
		for i := range n {
			fmt.Fprintf(&b, "      l%d: v\n", i)
		}
		_, err := Parse([]byte(b.String()), "cfg.yml")
		want := fmt.Sprintf(`cfg.yml:6: portal "main": labels: %d labels, more than the 64 a portal may have`, n)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d labels: %v, want %q", n, err, want)
		}
	}
	var b strings.Builder
	b.WriteString("portals:\n  - name: main\n    url: https://portal.example.com\n    api_key_env: DSX_TEST_KEY\n    labels:\n")
	for i := range MaxLabels {
		fmt.Fprintf(&b, "      l%d: v\n", i)
	}
	if cfg, err := Parse([]byte(b.String()), "cfg.yml"); err != nil || len(cfg.Portals[0].Labels) != MaxLabels {
		t.Errorf("%d labels: %v", MaxLabels, err)
	}
}

// A key written into the URL, e.g. as its host, is refused without being
// shown: the URL's host is shown in logs, pages and /discovery.
func TestURLHoldingAKey(t *testing.T) {
	key := "sk-" + strings.Repeat("0123456789abcdef", 4)
	for _, url := range []string{"https://" + key + ".example.com", "https://portal.example.com/" + key} {
		_, err := Parse([]byte("portals:\n  - {name: main, url: '"+url+"', api_key_env: K}\n"), "cfg.yml")
		if err == nil || !strings.Contains(err.Error(), `portal "main": url: holds what looks like an API key (not shown)`) || strings.Contains(err.Error(), key) {
			t.Errorf("url %s: %v", url, err)
		}
	}
	if _, err := Parse([]byte("portals:\n  - {name: main, url: 'https://docspace-production-eu-west.example.com/docspace', api_key_env: K}\n"), "cfg.yml"); err != nil {
		t.Errorf("an ordinary URL: %v", err)
	}
}
