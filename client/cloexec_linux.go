package client

import "golang.org/x/sys/unix"

// closeInheritedOnExec marks every descriptor from 3 up close-on-exec, so
// the daemon gets none of those this process inherited without the flag
// (Go sets it on its own). A client waits for EOF on the pipes it gave the
// bridge, and a daemon holding one would keep it waiting for as long as the
// daemon lives. The daemon's own descriptors (stdio, the ready pipe) are
// passed explicitly and are not affected.
func closeInheritedOnExec() {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	cloexecListed("/proc/self/fd") // kernels before 5.11
}
