package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// ErrAlreadyRunning means another daemon of this user holds the socket.
var ErrAlreadyRunning = errors.New("another sfmcp daemon is already running")

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

// checkPrivateDir creates dir (0700) if needed and refuses one that others
// could enter or that another user owns: the socket's safety rests on it.
func checkPrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the socket directory %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory (a symlink?); remove it", dir)
	}
	if uid, ok := fileOwner(st); ok && uid != ownUID() {
		return fmt.Errorf("socket directory %s belongs to uid %d, not you (uid %d); refusing to use it: set SFMCP_SOCKET to a path in a directory of your own", dir, uid, ownUID())
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("socket directory %s is mode %04o, open to other users; refusing to use it: run chmod 700 %s", dir, st.Mode().Perm(), dir)
	}
	return nil
}
