package client

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// SocketPath is $SFMCP_SOCKET, else $XDG_RUNTIME_DIR/sfmcp/sfmcp.sock, else
// sfmcp/sfmcp.sock in the per-user cache directory (~/Library/Caches on
// macOS, ~/.cache on Linux).
func SocketPath(getenv func(string) string) (string, error) {
	if p := getenv("SFMCP_SOCKET"); p != "" {
		return p, nil
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && runtime.GOOS != "darwin" {
		return filepath.Join(d, "sfmcp", "sfmcp.sock"), nil
	}
	cache := getenv("XDG_CACHE_HOME")
	if cache == "" || runtime.GOOS == "darwin" {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("cannot place the daemon socket: set SFMCP_SOCKET or HOME: %w", err)
			}
			home = h
		}
		cache = filepath.Join(home, ".cache")
		if runtime.GOOS == "darwin" {
			cache = filepath.Join(home, "Library", "Caches")
		}
	}
	return filepath.Join(cache, "sfmcp", "sfmcp.sock"), nil
}
