//go:build unix

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// checkSystemFile refuses a system file (or its directory) that others
// than root and this user may write: whoever can write it decides every
// user's hosts, clients and locks.
func checkSystemFile(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("system configuration %s: %w", path, err)
		}
		owner := -1
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			owner = int(sys.Uid)
		}
		if st.Mode().Perm()&0o022 != 0 && st.Mode()&os.ModeSticky == 0 || owner != 0 && owner != os.Getuid() {
			return fmt.Errorf("system configuration %s: %s may be written by other users (mode %v, owner uid %d); it must be root's (or yours) and not group- or world-writable", path, p, st.Mode().Perm(), owner)
		}
	}
	return nil
}
