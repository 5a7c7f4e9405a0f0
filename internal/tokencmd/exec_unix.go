//go:build unix

package tokencmd

import (
	"os"
	"syscall"
)

// execProcess replaces this process with path, so the full binary keeps
// this pid, its signals and its stdio (mcp-proxy, daemon).
func execProcess(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}
