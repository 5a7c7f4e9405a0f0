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
	// Exe is the program the process runs; for a script started by its
	// #! line, the interpreter. "" when it cannot be read (another
	// user's process).
	Exe string
	// Start distinguishes this process from a later one with a recycled
	// pid (boot-relative ticks on Linux, microseconds on macOS).
	Start uint64
}

// ErrUnsupported means this OS's process table is not read.
var ErrUnsupported = errors.New("reading the process tree is not supported on this OS")

// FirstAbove returns the nearest ancestor of pid that skip does not
// pass over, reading no further than that (at most max processes up).
func FirstAbove(pid int, skip func(Process) bool, max int) (Process, bool) {
	p, err := Lookup(pid)
	for n := 0; err == nil && n < max && p.PPID > 1; n++ {
		if p, err = Lookup(p.PPID); err == nil && !skip(p) {
			return p, true
		}
	}
	return Process{}, false
}

// InSSHSession reports whether pid runs in an SSH session: it or one of
// its ancestors is an SSH server process, or has SSH_CONNECTION, SSH_CLIENT
// or SSH_TTY in its environment (a tmux or VS Code server started over SSH
// is reparented away from sshd but keeps those). Only environments this
// user may read are looked at.
func InSSHSession(pid int) bool {
	p, err := Lookup(pid)
	for n := 0; err == nil && n < 64; n++ {
		if OverSSH([]Process{p}) || sshEnvironment(p.PID) {
			return true
		}
		if p.PPID <= 1 {
			return false
		}
		p, err = Lookup(p.PPID)
	}
	return false
}

func sshEnvironment(pid int) bool {
	for _, kv := range Environ(pid) {
		name, _, _ := strings.Cut(kv, "=")
		if name == "SSH_CONNECTION" || name == "SSH_CLIENT" || name == "SSH_TTY" {
			return true
		}
	}
	return false
}

// shells are the command interpreters MCP clients and wrapper scripts
// run helpers through. Only shells: other interpreters (node, python) are
// what MCP clients themselves run on, so skipping them would skip the
// client.
var shells = map[string]bool{"sh": true, "ash": true, "dash": true, "bash": true, "zsh": true, "ksh": true, "mksh": true, "oksh": true, "yash": true, "fish": true, "busybox": true}

// IsShell reports whether p is a command interpreter rather than the
// program that ran it. It goes by the executable, not the name: a script
// started by its #! line is named after itself but runs a shell. A
// process whose executable cannot be read is not taken for a shell: a
// name is no proof, any program may call itself "sh".
func IsShell(p Process) bool {
	name := p.Exe[strings.LastIndexByte(p.Exe, '/')+1:]
	return shells[strings.TrimRight(name, "0123456789.-")] // ksh93, zsh-5.9
}

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
