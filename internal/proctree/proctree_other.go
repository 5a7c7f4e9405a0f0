//go:build !linux && !darwin

package proctree

// Lookup is not implemented here.
func Lookup(pid int) (Process, error) { return Process{}, ErrUnsupported }

// Environ is not read here.
func Environ(pid int) []string { return nil }
