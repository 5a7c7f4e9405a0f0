//go:build unix && !linux

package client

// closeInheritedOnExec marks every descriptor from 3 up close-on-exec, so
// the daemon gets none of those this process inherited without the flag
// (see the Linux version).
func closeInheritedOnExec() { cloexecListed("/dev/fd") }
