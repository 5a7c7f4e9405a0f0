package safesocket

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PeerOfFD reads who is at the other end of the Unix socket fd
// (SO_PEERCRED).
func PeerOfFD(fd int) (Peer, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Peer{}, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return Peer{UID: int(cred.Uid), PID: int(cred.Pid)}, nil
}

// PeerExe is the executable of pid, for the audit log.
func PeerExe(pid int) string {
	if pid <= 0 {
		return ""
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return exe
}
