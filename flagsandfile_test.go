package main

import (
	"cmp"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
)

// portalSettings are one portal's settings as a row of TestSettingsBothPaths
// gives them: the values of the --docspace.* flags, and the same values
// written as an entry of the configuration file.
type portalSettings struct {
	url, keyFile, keyEnv, timezone, caFile string
	timeout                                time.Duration
	// historyInterval is the flag's value, or the file's key; "" leaves
	// the key out of the file and the flag at its default.
	historyInterval string
}

// viaFlags prepares the portal as the exporter does from its flags, with
// DOCSPACE_API_KEY set to keyEnv's value when the row names a variable,
// and returns the build step, which may run on another goroutine.
func (s portalSettings) viaFlags(t *testing.T) func() error {
	t.Helper()
	if s.keyEnv != "" {
		t.Setenv(keyEnv, os.Getenv(s.keyEnv))
	} else {
		t.Setenv(keyEnv, "")
	}
	history := time.Hour // the flag's default
	if s.historyInterval != "" {
		var err error
		if history, err = time.ParseDuration(s.historyInterval); err != nil {
			t.Fatal(err)
		}
	}
	d := config.Defaults{Timeout: cmp.Or(s.timeout, 10*time.Second), HistoryInterval: history}
	p := config.Portal{URL: s.url, APIKeyFile: s.keyFile, Timezone: s.timezone, TLS: config.TLS{CAFile: s.caFile}}
	return func() error {
		_, err := flagPortal(p, d, testOptions(collector.Options{}))
		return errors.Join(checkDefaults(d), err)
	}
}

// viaFile writes the same values as an entry of a configuration file and
// returns the step that loads and builds it as the exporter does, which
// may run on another goroutine.
func (s portalSettings) viaFile(t *testing.T) func() error {
	t.Helper()
	var b strings.Builder
	b.WriteString("portals:\n  - name: default\n")
	for _, kv := range [][2]string{
		{"url", s.url}, {"api_key_file", s.keyFile}, {"api_key_env", s.keyEnv}, {"timezone", s.timezone},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "    %s: %q\n", kv[0], kv[1])
		}
	}
	if s.timeout != 0 {
		fmt.Fprintf(&b, "    timeout: %s\n", s.timeout)
	}
	if s.historyInterval != "" {
		fmt.Fprintf(&b, "    history_interval: %s\n", s.historyInterval)
	}
	if s.caFile != "" {
		fmt.Fprintf(&b, "    tls: {ca_file: %q}\n", s.caFile)
	}
	path := filepath.Join(t.TempDir(), "portals.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return func() error {
		cfg, err := config.Load(path)
		if err != nil {
			return err
		}
		_, err = newFleet(cfg, nil, config.Defaults{Timeout: 10 * time.Second, HistoryInterval: time.Hour}, testOptions(collector.Options{}))
		return err
	}
}

var (
	fileLocation = regexp.MustCompile(`(?m)^.*portals\.yml:\d+: portal "default": `)
	variable     = regexp.MustCompile(`environment variable [A-Z_][A-Z0-9_]*`)
)

// problems returns the messages of err, one a line, in the words of the
// configuration file: without the file's location, with the flag names of
// the flag path replaced by the file's keys, and the name of the key's
// variable (DOCSPACE_API_KEY or the file's api_key_env) as $VAR.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	msg := fileLocation.ReplaceAllString(err.Error(), "")
	msg = variable.ReplaceAllString(msg, "environment variable $$VAR")
	for field, flag := range flagNames {
		msg = strings.ReplaceAll(msg, flag, field)
	}
	for field, flag := range defaultFlags {
		msg = strings.ReplaceAll(msg, flag, field)
	}
	lines := strings.Split(msg, "\n")
	slices.Sort(lines)
	return lines
}

// The portal of the flags and an entry of the configuration file accept and
// refuse the same settings, with the same messages.
func TestSettingsBothPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyFile := write("api-key", testKey+"\n")
	emptyKey := write("empty.key", " \n")
	notepadKey := write("notepad.key", "\uFEFF"+testKey+"\r\n")
	bearerKey := write("bearer.key", "bearer "+testKey+"\n")
	twoKeys := write("two.key", testKey+"\n"+otherKey+"\n")
	quotedKey := write("quoted.key", `"`+testKey+`"`)
	nulKey := write("nul.key", testKey[:10]+"\x00"+testKey[10:])
	largeKey := write("large.key", testKey)
	if err := os.Truncate(largeKey, 100<<20); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := write("not.pem", "hello\n")
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	caFile := write("ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	t.Setenv("DSX_SETTINGS_KEY", testKey)
	t.Setenv("DSX_NOTEPAD_KEY", "\uFEFF"+testKey+"\r\n")
	t.Setenv("DSX_TWO_KEYS", testKey+"\n"+otherKey)
	t.Setenv("DSX_QUOTED_KEY", "'"+testKey+"'")

	const portal = "https://portal.example.com"
	tests := []struct {
		name     string
		settings portalSettings
		want     []string // in the file's words; nil: accepted
	}{
		{"key file", portalSettings{url: portal, keyFile: keyFile}, nil},
		{"key from the environment", portalSettings{url: portal, keyEnv: "DSX_SETTINGS_KEY"}, nil},
		{"everything set", portalSettings{url: portal + "/docspace/", keyFile: keyFile, timezone: "Europe/Berlin", timeout: 5 * time.Minute, caFile: caFile, historyInterval: "6h"}, nil},
		{"history off", portalSettings{url: portal, keyFile: keyFile, historyInterval: "0s"}, nil},
		{"history every minute", portalSettings{url: portal, keyFile: keyFile, historyInterval: "1m"}, nil},

		{"key file from Windows Notepad", portalSettings{url: portal, keyFile: notepadKey}, nil},
		{"key from the environment, from Windows", portalSettings{url: portal, keyEnv: "DSX_NOTEPAD_KEY"}, nil},
		{"scheme in lower case", portalSettings{url: portal, keyFile: bearerKey}, nil},
		{"plain http", portalSettings{url: "http://portal.example.com", keyFile: keyFile}, nil}, // a warning, see TestBinaryWarnsOfPlainHTTP

		{"no scheme", portalSettings{url: "portal.example.com", keyFile: keyFile}, []string{"url: must start with https:// (or http://), e.g. https://portal.example.com"}},
		{"address and port without scheme", portalSettings{url: "127.0.0.1:8443", keyFile: keyFile}, []string{"url: must start with https:// (or http://), e.g. https://portal.example.com"}},
		{"ftp", portalSettings{url: "ftp://portal.example.com", keyFile: keyFile}, []string{"url: must start with https:// (or http://), e.g. https://portal.example.com"}},
		{"API path", portalSettings{url: portal + "/api/2.0", keyFile: keyFile}, []string{
			"url: drop /api/2.0: give the portal root, e.g. https://portal.example.com; the API paths are added to it"}},
		{"web client page", portalSettings{url: portal + "/rooms/shared", keyFile: keyFile}, []string{
			"url: is a page of the DocSpace web client (/rooms/...), not the portal root: give the address up to the host name, e.g. https://portal.example.com"}},
		{"password in the URL", portalSettings{url: "https://admin:hunter2@portal.example.com", keyFile: keyFile}, []string{"url: must not contain a user name or password; the API key goes in a key file"}},
		{"key as the URL's user", portalSettings{url: "https://" + testKey + "@portal.example.com", keyFile: keyFile}, []string{"url: must not contain a user name or password; the API key goes in a key file"}},
		{"key in the URL's query", portalSettings{url: portal + "/?key=" + testKey, keyFile: keyFile}, []string{"url: must not have a query or fragment; give the portal root, e.g. https://portal.example.com"}},
		{"unparsable URL", portalSettings{url: "https://admin:Hunter2%zz@portal.example.com", keyFile: keyFile}, []string{"url: is not a valid URL; give the portal root, e.g. https://portal.example.com"}},

		{"key given as the key file", portalSettings{url: portal, keyFile: testKey}, []string{"api_key_file: this looks like an API key, not a file path: put the key in a file and give the file's path"}},
		{"key given as the CA file", portalSettings{url: portal, keyFile: keyFile, caFile: testKey}, []string{
			"tls.ca_file: this looks like an API key, not a file path: give the path of a PEM file of CA certificates"}},
		{"key given as the time zone", portalSettings{url: portal, keyFile: keyFile, timezone: testKey}, []string{
			"timezone: this looks like an API key, not a time zone: use an IANA name such as Europe/Berlin or UTC"}},
		{"missing key file", portalSettings{url: portal, keyFile: filepath.Join(dir, "nope.key")}, []string{
			"api_key_file: cannot read the API key file " + filepath.Join(dir, "nope.key") + ": no such file or directory"}},
		{"empty key file", portalSettings{url: portal, keyFile: emptyKey}, []string{
			"api_key_file: the API key file " + emptyKey + " is empty: put the DocSpace API key (sk-...) or token in it"}},
		{"two keys in the key file", portalSettings{url: portal, keyFile: twoKeys}, []string{"api_key_file: the API key file " + twoKeys + " holds 2 lines; keep one key"}},
		{"two keys in the environment", portalSettings{url: portal, keyEnv: "DSX_TWO_KEYS"}, []string{"api_key_env: the environment variable $VAR holds 2 lines; keep one key"}},
		{"quoted key in the key file", portalSettings{url: portal, keyFile: quotedKey}, []string{"api_key_file: the API key file " + quotedKey + " is in quotes: write the key without quotes"}},
		{"quoted key in the environment", portalSettings{url: portal, keyEnv: "DSX_QUOTED_KEY"}, []string{"api_key_env: the environment variable $VAR is in quotes: write the key without quotes"}},
		{"NUL byte in the key file", portalSettings{url: portal, keyFile: nulKey}, []string{
			"api_key_file: the API key file " + nulKey + " has a control character at byte 11, which cannot be sent in an HTTP header: keep only the key"}},
		{"key file is a folder", portalSettings{url: portal, keyFile: dir}, []string{"api_key_file: cannot read the API key file " + dir + ": is a folder, not a regular file"}},
		{"key file is a named pipe", portalSettings{url: portal, keyFile: fifo}, []string{"api_key_file: cannot read the API key file " + fifo + ": is a named pipe, not a regular file"}},
		{"key file is /dev/zero", portalSettings{url: portal, keyFile: "/dev/zero"}, []string{"api_key_file: cannot read the API key file /dev/zero: is a character device, not a regular file"}},
		{"key file of 100 MiB", portalSettings{url: portal, keyFile: largeKey}, []string{"api_key_file: cannot read the API key file " + largeKey + ": is 100 MiB, larger than 4 KiB"}},
		{"NUL byte in the key file's path", portalSettings{url: portal, keyFile: dir + "/api\x00key"}, []string{
			`api_key_file: cannot read the API key file "` + dir + `/api\x00key": a file path cannot hold a NUL byte`}},
		{"two key sources", portalSettings{url: portal, keyFile: keyFile, keyEnv: "DSX_SETTINGS_KEY"}, []string{"api_key_file: and api_key_env are both set: keep only one"}},
		{"no key", portalSettings{url: portal}, []string{"no API key: give a file holding it (api_key_file) or an environment variable holding it (api_key_env)"}},

		{"timeout too long", portalSettings{url: portal, keyFile: keyFile, timeout: time.Hour}, []string{"timeout: 1h0m0s is too long: at most 5m0s"}},
		{"negative timeout", portalSettings{url: portal, keyFile: keyFile, timeout: -time.Second}, []string{"timeout: must be positive, e.g. 15s"}},
		{"negative history interval", portalSettings{url: portal, keyFile: keyFile, historyInterval: "-1h"}, []string{
			"history_interval: must not be negative: give e.g. 1h, or 0 to turn the history off"}},
		{"history interval too short", portalSettings{url: portal, keyFile: keyFile, historyInterval: "30s"}, []string{
			"history_interval: 30s is too short: at least 1m0s (each call checks every stored backup in the backup storage), or 0 to turn the history off"}},
		{"unknown time zone", portalSettings{url: portal, keyFile: keyFile, timezone: "Mars/Base"}, []string{"timezone: unknown time zone Mars/Base; use an IANA name such as Europe/Berlin or UTC"}},
		{"missing CA file", portalSettings{url: portal, keyFile: keyFile, caFile: filepath.Join(dir, "nope.pem")}, []string{
			"tls.ca_file: cannot read the CA file " + filepath.Join(dir, "nope.pem") + ": no such file or directory"}},
		{"CA file is /dev/urandom", portalSettings{url: portal, keyFile: keyFile, caFile: "/dev/urandom"}, []string{
			"tls.ca_file: cannot read the CA file /dev/urandom: is a character device, not a regular file"}},
		{"CA file without a certificate", portalSettings{url: portal, keyFile: keyFile, caFile: notPEM}, []string{"tls.ca_file: " + notPEM + " holds no PEM certificate"}},
		{"every problem at once", portalSettings{url: "ftp://x", timezone: "Nowhere", timeout: time.Hour}, []string{
			"no API key: give a file holding it (api_key_file) or an environment variable holding it (api_key_env)",
			"timeout: 1h0m0s is too long: at most 5m0s",
			"timezone: unknown time zone Nowhere; use an IANA name such as Europe/Berlin or UTC",
			"url: must start with https:// (or http://), e.g. https://portal.example.com",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the builds run on another goroutine, watched for a hang
			// (a file that blocks); the test's own calls stay on its own.
			var flagErr, fileErr error
			buildFlags, buildFile := tt.settings.viaFlags(t), tt.settings.viaFile(t)
			done := make(chan struct{})
			go func() {
				defer close(done)
				flagErr, fileErr = buildFlags(), buildFile()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("building the portal blocks")
			}
			for path, err := range map[string]error{"flags": flagErr, "file": fileErr} {
				if got := problems(err); !slices.Equal(got, tt.want) {
					t.Errorf("%s: got\n\t%s\nwant\n\t%s", path, strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
				}
				if err != nil {
					for _, secret := range []string{testKey, testKey[:12], "hunter2", "Hunter2"} {
						if strings.Contains(err.Error(), secret) {
							t.Errorf("%s: the message shows a secret: %v", path, err)
						}
					}
				}
			}
			if flagErr != nil && !strings.HasPrefix(flagErr.Error(), "--docspace.") && !strings.HasPrefix(flagErr.Error(), keyEnv+": ") &&
				!strings.HasPrefix(flagErr.Error(), "no API key") {
				t.Errorf("a flag message should name the flag first: %v", flagErr)
			}
		})
	}
}
