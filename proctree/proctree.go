// Package proctree reads a process's ancestry: who started the program
// that is asking. The daemon uses it to tell which MCP client a
// headersHelper run belongs to (clients run helpers through a fresh
// `/bin/sh -c` each time) and whether that client runs over SSH.
package proctree

import (
	"errors"
	"strings"
)

// Process is one process as the OS reports it.
type Process struct {
	PID, PPID int
	Name      string // the executable's short name (comm), e.g. "sh", "node"
	// Start distinguishes this process from a later one with a recycled
	// pid (boot-relative ticks on Linux, microseconds on macOS).
	Start uint64
}

// ErrUnsupported means this OS's process table is not read.
var ErrUnsupported = errors.New("reading the process tree is not supported on this OS")

// Ancestors returns pid's parent, its parent and so on, nearest first, up
// to max processes, stopping before pid 1 or at a process that is gone.
func Ancestors(pid, max int) ([]Process, error) {
	p, err := Lookup(pid)
	if err != nil {
		return nil, err
	}
	var out []Process
	for len(out) < max && p.PPID > 1 {
		if p, err = Lookup(p.PPID); err != nil {
			break
		}
		out = append(out, p)
	}
	return out, nil
}

// shells are the command interpreters MCP clients run helpers through.
var shells = map[string]bool{"sh": true, "dash": true, "bash": true, "zsh": true, "ksh": true, "mksh": true, "fish": true, "busybox": true}

// IsShell reports whether p is a command interpreter rather than the
// program that ran it.
func IsShell(p Process) bool { return shells[strings.TrimPrefix(p.Name, "-")] }

// OverSSH reports whether any of ancestors is an SSH server process:
// whatever ran there has no one at this machine's screen.
func OverSSH(ancestors []Process) bool {
	for _, p := range ancestors {
		if p.Name == "sshd" || strings.HasPrefix(p.Name, "sshd-") || p.Name == "sshd:" {
			return true
		}
	}
	return false
}
