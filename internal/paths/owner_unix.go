//go:build unix

package paths

import (
	"io/fs"
	"os"
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

// ownSocket reports whether path is a socket owned by uid.
func ownSocket(path string, uid int) bool {
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&fs.ModeSocket == 0 {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == uid
}
