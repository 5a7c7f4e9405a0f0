package safesocket

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// PeerOfFD uses LOCAL_PEERCRED (what getpeereid wraps) and LOCAL_PEERPID.
func PeerOfFD(fd int) (Peer, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Peer{}, fmt.Errorf("LOCAL_PEERCRED: %w", err)
	}
	p := Peer{UID: int(x.Uid)}
	p.PID, _ = unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	return p, nil
}

// PeerExe: macOS offers proc_pidpath only through cgo; the pid is logged.
func PeerExe(int) string { return "" }
