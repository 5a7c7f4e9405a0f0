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
// no link, below directories where no other user can replace it: ones that
// only uid or root can write to, or sticky ones such as /tmp, where
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
	// Every directory above it too: one others may write to (and that is
	// not sticky) lets them move the socket's directory away and put
	// their own in its place before D-Bus dials.
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return false
		}
		byOwnerOnly := st.Mode().Perm()&0o022 == 0
		if owner(st) != uid && owner(st) != 0 || !byOwnerOnly && st.Mode()&fs.ModeSticky == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

func owner(st fs.FileInfo) int {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}
