//go:build !linux

package daemon

// Harden is a no-op where there is no PR_SET_DUMPABLE; macOS denies
// task_for_pid to other unprivileged processes by default.
func Harden() error { return nil }

// Dumpable is unknown here.
func Dumpable() (bool, error) { return true, nil }
