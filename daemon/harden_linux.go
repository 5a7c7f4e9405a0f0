package daemon

import "golang.org/x/sys/unix"

// Harden makes the daemon non-dumpable: no core dumps, and other processes
// of the same user cannot ptrace it or read its memory (where access tokens
// live) through /proc.
func Harden() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// Dumpable reports the process's dumpable flag (tests check Harden with it).
func Dumpable() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return v != 0, err
}
