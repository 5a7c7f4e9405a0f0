//go:build unix

package client

import (
	"io"
	"os"
	"syscall"

	"github.com/sfmcp/sfmcp/client/apitype"
)

// RunningDaemon reads the socket a daemon recorded in the single-instance
// lock at lockPath. ok is false when there is no record (no daemon, or
// one that stopped cleanly). It takes no lock itself: a daemon starting at
// that moment must not find the lock busy. A record a crashed daemon left
// names a socket nothing answers on, which the caller's dial finds out.
func RunningDaemon(lockPath string) (socket string, pid int, ok bool) {
	f, err := os.OpenFile(lockPath, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", 0, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", 0, false
	}
	b, err := io.ReadAll(io.LimitReader(f, apitype.MaxLockRecord+1))
	if err != nil {
		return "", 0, false
	}
	pid, socket, err = apitype.ParseLockRecord(b)
	if err != nil || socket == "" {
		return "", pid, false
	}
	return socket, pid, true
}
