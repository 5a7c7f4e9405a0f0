//go:build windows

package client

import "syscall"

func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: 0x00000008} // DETACHED_PROCESS
}

// closeInheritedOnExec: Windows passes a child only the handles named for
// it.
func closeInheritedOnExec() {}
