// Package safesocket owns the rules that make the daemon's Unix socket
// private to one user, for both ends: the directory must be the user's own
// (mode 0700, not a symlink), and the process at the other end must run as
// the same uid, as the kernel reports it (SO_PEERCRED, LOCAL_PEERCRED).
// The daemon applies them to every connection it accepts, the client to
// every daemon it talks to, so neither trusts a socket another user made.
package safesocket

import (
	"errors"
	"fmt"
	"os"
)

// ErrUnsafe means a socket or its directory could be another user's.
var ErrUnsafe = errors.New("the daemon socket is not private to you")

// Peer is who is on the other end of a socket connection. PID is 0 and Exe
// empty where the OS does not tell.
type Peer struct {
	UID int
	PID int
	Exe string
}

// OwnUID is the uid both ends must share.
func OwnUID() int { return os.Getuid() }

// CheckDir refuses a socket directory that is a symlink, another user's,
// or open to others: whoever controls it controls which socket we reach.
func CheckDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 || !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory (a symlink?); remove it", ErrUnsafe, dir)
	}
	if uid, ok := fileOwner(st); ok && uid != OwnUID() {
		return fmt.Errorf("%w: the socket directory %s belongs to uid %d, not you (uid %d); set SFMCP_SOCKET to a path in a directory of your own", ErrUnsafe, dir, uid, OwnUID())
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: the socket directory %s is mode %04o, open to other users; run: chmod 700 %s", ErrUnsafe, dir, st.Mode().Perm(), dir)
	}
	return nil
}
