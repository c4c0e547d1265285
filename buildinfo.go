package main

import (
	"cmp"
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// A binary built without the release's -ldflags (go run, go build, go
// install) takes its version from the module's build information, so that
// --version, docspace_exporter_build_info and the landing page show one.
func init() {
	version.Version = cmp.Or(version.Version, moduleVersion())
}

// moduleVersion is the main module's version as the go command recorded
// it: a tag or pseudo-version for go install, "(devel)" for a build in the
// module's folder.
func moduleVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "unknown"
}
