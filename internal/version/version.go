// Package version says which release a binary is. Both binaries link it,
// so `sfmcp-token --version` and `sfmcp-token-full --version` agree.
package version

import "runtime/debug"

// stamp is set at build time by the release:
// -ldflags "-X github.com/sfmcp/sfmcp/internal/version.stamp=v1.2.3".
var stamp string

// String is the release version: the stamp, else the module version that
// `go install …@v1.2.3` records, else "dev" for a build from a checkout.
func String() string {
	if stamp != "" {
		return stamp
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
