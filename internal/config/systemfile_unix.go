//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkSystemFile refuses a system file that others than root and this
// user may write, or one in a directory where they may replace it: whoever
// can write it decides every user's hosts, clients and locks. st is the
// open file's own status. A sticky directory (like /tmp) keeps others from
// replacing a file they do not own; the file itself has no such excuse.
func checkSystemFile(path string, st fs.FileInfo) error {
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("system configuration %s: %w", path, err)
	}
	for _, c := range []struct {
		name     string
		st       fs.FileInfo
		stickyOK bool
	}{{path, st, false}, {filepath.Dir(path), dir, true}} {
		owner := -1
		if sys, ok := c.st.Sys().(*syscall.Stat_t); ok {
			owner = int(sys.Uid)
		}
		othersWrite := c.st.Mode().Perm()&0o022 != 0 && !(c.stickyOK && c.st.Mode()&fs.ModeSticky != 0)
		if othersWrite || owner != 0 && owner != os.Getuid() {
			return fmt.Errorf("system configuration %s: %s may be written by other users (mode %v, owner uid %d); it must be root's (or yours) and not group- or world-writable", path, c.name, c.st.Mode().Perm()|c.st.Mode()&fs.ModeSticky, owner)
		}
	}
	return nil
}
