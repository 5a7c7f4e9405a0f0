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
	return Process{PID: pid, PPID: int(k.Eproc.Ppid), Name: string(name), Exe: exe(pid), Start: uint64(st.Sec)*1e6 + uint64(st.Usec)}, nil
}

// exe reads the path the process was started from out of kern.procargs2
// (argc, then that path), which for a #! script is its interpreter's. The
// kernel gives it for this user's processes only; "" otherwise.
func exe(pid int) string {
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 4 {
		return ""
	}
	path, _, _ := bytes.Cut(b[4:], []byte{0})
	return string(path)
}

// Environ is not read on macOS; the SSH check relies on process names.
func Environ(pid int) []string { return nil }
