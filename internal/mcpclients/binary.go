package mcpclients

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/sfmcp/sfmcp/client"
)

// The two binaries (cmd/sfmcp-token, cmd/sfmcp-token-full): an entry runs
// the fast one, which hands every command but the hot path to the full.
const (
	lightName = "sfmcp-token"
	fullName  = client.FullName
)

// Binary is the sfmcp-token to write into clients' files when exe is the
// running program: the fast binary beside it when exe is sfmcp-token-full
// (mcp-proxy and headers start sooner), else exe itself.
func Binary(exe string) string {
	if strings.TrimSuffix(filepath.Base(exe), ".exe") == fullName {
		light := filepath.Join(filepath.Dir(exe), strings.Replace(filepath.Base(exe), fullName, lightName, 1))
		if _, err := os.Stat(light); err == nil {
			return light
		}
	}
	return exe
}

// ThisBinary is Binary of this process's executable.
func ThisBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return Binary(exe), nil
}

// SameProgram reports whether command runs bin: bin itself or its
// sibling sfmcp-token-full. A relative command runs whatever the client's
// directory holds, so it is never the same.
func SameProgram(command, bin string) bool {
	if !filepath.IsAbs(command) {
		return false
	}
	full := filepath.Join(filepath.Dir(bin), fullName)
	return filepath.Clean(command) == filepath.Clean(bin) || filepath.Clean(command) == full
}
