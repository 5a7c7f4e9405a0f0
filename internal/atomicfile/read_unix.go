//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

// openFlags: never block on a FIFO; never follow a last-component symlink
// unless asked to; never take a terminal a link leads to as the process's
// controlling one (a detached daemon would then get its hangups).
func openFlags(follow bool) int {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	return flags
}
