package daemon

import (
	"errors"
	"fmt"
	"github.com/sfmcp/sfmcp/client"
	"os"
)

// ErrAlreadyRunning means another daemon of this user holds the socket.
var ErrAlreadyRunning = errors.New("another sfmcp daemon is already running")

// SocketPath is where the daemon listens (client.SocketPath).
func SocketPath(getenv func(string) string) (string, error) { return client.SocketPath(getenv) }

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
