package proctree

import (
	"bytes"
	"fmt"

	"golang.org/x/sys/unix"
)

// Lookup asks the kernel (sysctl kern.proc.pid).
func Lookup(pid int) (Process, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return Process{}, err
	}
	if int(k.Proc.P_pid) != pid {
		return Process{}, fmt.Errorf("process %d not found", pid)
	}
	name := k.Proc.P_comm[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	st := k.Proc.P_starttime
	return Process{PID: pid, PPID: int(k.Eproc.Ppid), Name: string(name), Start: uint64(st.Sec)*1e6 + uint64(st.Usec)}, nil
}

// Environ is not read on macOS; the SSH check relies on process names.
func Environ(pid int) []string { return nil }
