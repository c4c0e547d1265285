package config

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse parses a file near MaxFileSize: portals with MaxLabels
// labels each, the worst a reload reads.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("portals:\n")
	for i := 0; sb.Len() < MaxFileSize-4096; i++ {
		fmt.Fprintf(&sb, "  - name: portal-%d\n    url: https://portal-%d.example.com\n    api_key_file: /etc/docspace/key\n    labels:\n", i, i)
		for j := 0; j < MaxLabels && sb.Len() < MaxFileSize-4096; j++ {
			fmt.Fprintf(&sb, "      label_%d: value-%d\n", j, j)
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "docspace.yml"); err != nil {
			b.Fatal(err)
		}
	}
}
