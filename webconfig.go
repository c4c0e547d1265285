package main

import (
	"fmt"
	"path/filepath"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"

	"github.com/docspace-exporter/docspace_exporter/internal/smallfile"
)

// maxWebConfigSize is the largest --web.config.file read: it holds TLS
// settings and a few bcrypt hashes.
const maxWebConfigSize = 1 << 20

// webConfigPaths are the fields of tls_server_config that name files,
// relative to the web config's folder.
var webConfigPaths = []string{"cert_file", "key_file", "client_ca_file"}

// webConfig checks --web.config.file and returns the path exporter-toolkit
// is to read instead: a sealed copy in memory.
//
// exporter-toolkit reads the file whole, without a limit, for every request
// and every TLS handshake. Given the file itself, a swap of it (or of a
// symlink to it) for /dev/zero or a named pipe while the exporter runs would
// let any request, before its credentials are checked, exhaust memory or
// threads. The copy is read once, at start; its relative certificate paths
// are made absolute, so that certificates and keys are still read for every
// handshake and can be renewed in place. A change to the web config itself
// takes a restart.
func webConfig(path string) (string, error) {
	name := smallfile.Name(path)
	content, err := smallfile.Read(path, maxWebConfigSize)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if tls := mapValue(&doc, "tls_server_config"); tls != nil {
		for _, key := range webConfigPaths {
			if v := mapValue(tls, key); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" && !filepath.IsAbs(v.Value) {
				v.Value = filepath.Join(filepath.Dir(path), v.Value)
			}
		}
		if content, err = yaml.Marshal(&doc); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	sealed, err := sealedFile("web-config", content)
	if err != nil {
		// Not Linux: exporter-toolkit reads the file itself.
		sealed = path
	}
	if err := web.Validate(sealed); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return sealed, nil
}

// mapValue returns the value of key in the YAML mapping (or document) n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
