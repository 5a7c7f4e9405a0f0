//go:build unix

package client

import "syscall"

// detached puts the daemon in its own session and process group, so it
// outlives the terminal or the MCP client that started it: Copilot CLI and
// opencode signal a stdio server's whole process group when a session ends.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
