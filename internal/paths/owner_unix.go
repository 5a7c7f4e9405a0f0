//go:build unix

package paths

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// privateDir reports whether dir is a directory owned by uid that no one
// else can enter (mode 0700 or stricter), as XDG requires of a runtime dir.
func privateDir(dir string, uid int) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() || st.Mode().Perm()&0o077 != 0 {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == uid
}

// ownSocket reports whether path is a socket owned by uid, reached through
// no link, in a directory where no other user can replace it: one that only
// uid or root can write to, or a sticky one such as /tmp, where
// dbus-run-session puts its socket.
func ownSocket(path string, uid int) bool {
	// No link anywhere on the path: one in a directory others may write
	// to (/tmp/m -> /run/user/UID) could be re-pointed after the check.
	if real, err := filepath.EvalSymlinks(path); err != nil || real != path {
		return false
	}
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&fs.ModeSocket == 0 || owner(st) != uid {
		return false
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return false
	}
	byOwnerOnly := dir.Mode().Perm()&0o022 == 0
	return (owner(dir) == uid || owner(dir) == 0) && (byOwnerOnly || dir.Mode()&fs.ModeSticky != 0)
}

func owner(st fs.FileInfo) int {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}
