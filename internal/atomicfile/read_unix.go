//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

// openFlags: never block on a FIFO; never follow a last-component symlink
// unless asked to.
func openFlags(follow bool) int {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	return flags
}
