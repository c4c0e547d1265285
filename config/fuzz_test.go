package config

import (
	"strings"
	"testing"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// FuzzParse feeds arbitrary files to Parse. It must never panic, a
// configuration it accepts must keep every promise Parse makes, and an error
// must never carry the API key read from the environment.
func FuzzParse(f *testing.F) {
	const secret = "sk-fuzz-secret-0123456789"
	f.Setenv("DSX_FUZZ_KEY", secret)
	for _, s := range []string{
		"portals:\n  - name: main\n    url: https://portal.example.com\n    api_key_env: DSX_FUZZ_KEY\n",
		"portals:\n  - name: a.b\n    url: http://x:8080/p/\n    api_key_env: DSX_FUZZ_KEY\n    dump: true\n    timezone: UTC\n    timeout: 1m\n    tls: {insecure_skip_verify: true}\n",
		"portals: [{name: a, url: 'https://x', api_key_env: DSX_FUZZ_KEY}, {name: a, url: 'https://y', api_key_env: DSX_FUZZ_KEY}]\n",
		"portals:\n  - name: https://x\n    url: ftp://x\n    api_key: sk-abc\n    tls: {ca: 1}\n",
		"portals:\n  - &p {name: a, url: 'https://x', api_key_env: DSX_FUZZ_KEY}\n  - *p\n",
		"portals:\n  - <<: {url: 'https://x', api_key_env: DSX_FUZZ_KEY}\n    name: m\n",
		"portals: x\n", "- a\n", "{}", "portals:\n- name: a\n  name: b\n", "a: [\n", "portals: []\n---\nx: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yml")
		if err != nil {
			if cfg != nil {
				t.Errorf("Parse returned a configuration with its error")
			}
			if !strings.HasPrefix(err.Error(), "fuzz.yml") {
				t.Errorf("error does not start with the file's name: %v", err)
			}
			if strings.Contains(err.Error(), secret) && !strings.Contains(string(data), secret) {
				t.Errorf("error contains the API key: %v", err)
			}
			return
		}
		if len(cfg.Portals) == 0 {
			t.Fatal("accepted a configuration without portals")
		}
		seen := map[string]bool{}
		for _, p := range cfg.Portals {
			if !validName.MatchString(p.Name) || seen[p.Name] {
				t.Errorf("accepted the name %q", p.Name)
			}
			seen[p.Name] = true
			if _, err := client.ParseURL(p.URL); err != nil {
				t.Errorf("accepted the URL %q: %v", p.URL, err)
			}
			if (p.APIKeyFile == "") == (p.APIKeyEnv == "") {
				t.Errorf("accepted portal %q with api_key_file %q and api_key_env %q", p.Name, p.APIKeyFile, p.APIKeyEnv)
			}
			if p.Timeout < 0 || p.Timeout > MaxTimeout {
				t.Errorf("accepted the timeout %s", p.Timeout)
			}
			if _, err := p.Location(); err != nil {
				t.Errorf("accepted the timezone %q: %v", p.Timezone, err)
			}
		}
	})
}
