//go:build unix

package client

import "syscall"

// detached puts the daemon in its own session so it outlives the terminal
// or the MCP client that started it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
