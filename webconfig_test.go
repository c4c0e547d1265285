package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// --web.config.file is read once, at start: a later change of the file (here
// to something exporter-toolkit cannot parse; a pipe or /dev/zero would
// hang or exhaust it) does not reach the requests. Relative certificate
// paths still name files beside the web config, whatever the exporter's
// working folder.
func TestBinaryWebConfigIsReadOnce(t *testing.T) {
	_, srv := newFakePortal(t)
	dir := t.TempDir()
	certPEM, keyPEM := selfSignedCert(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"cert.pem": string(certPEM),
		"key.pem":  string(keyPEM),
		"web.yml":  fmt.Sprintf("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prometheus: %s\n", hash),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	webConfig := filepath.Join(dir, "web.yml")
	e := startExporterIn(t, t.TempDir(), "https", []string{"--docspace.url=" + srv.URL, "--web.config.file=" + webConfig}, "DOCSPACE_API_KEY="+testKey)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	scrape := func() (int, string) {
		// A new connection each time: exporter-toolkit reads the
		// config for every handshake as well as every request.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
		req, _ := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
		req.SetBasicAuth("prometheus", "scrape-password")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := scrape(); code != http.StatusOK || !strings.Contains(body, "docspace_up 1\n") {
		t.Fatalf("HTTP %d\n%s", code, body)
	}
	if err := os.WriteFile(webConfig, []byte("tls_server_config: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := scrape(); code != http.StatusOK || !strings.Contains(body, "docspace_up 1\n") {
		t.Errorf("after the web config changed: HTTP %d\n%s", code, body)
	}
}
