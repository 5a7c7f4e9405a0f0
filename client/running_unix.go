//go:build unix

package client

import (
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// RunningDaemon reads the socket of the daemon that holds the
// single-instance lock at lockPath. ok is false when no daemon holds it.
func RunningDaemon(lockPath string) (socket string, pid int, ok bool) {
	f, err := os.OpenFile(lockPath, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", 0, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", 0, false
	}
	// A shared lock we can take means no daemon holds the exclusive one.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return "", 0, false
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		return "", 0, false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLockRecord+1))
	if err != nil {
		return "", 0, false
	}
	pid, socket, err = ParseLockRecord(b)
	if err != nil || socket == "" {
		return "", pid, false
	}
	return socket, pid, true
}
