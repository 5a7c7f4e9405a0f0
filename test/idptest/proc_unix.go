//go:build unix

package idptest

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the provider in a process group of its own, so that
// killGroup ends it and anything it started.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
