package safesocket

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// PeerOf uses LOCAL_PEERCRED (what getpeereid wraps) and
// LOCAL_PEERPID.
func PeerOf(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var p Peer
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		var x *unix.Xucred
		x, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if credErr == nil {
			p.UID = int(x.Uid)
			p.PID, _ = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
		}
	}); err != nil {
		return Peer{}, err
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("LOCAL_PEERCRED: %w", credErr)
	}
	return p, nil
}

// PeerExe: macOS offers proc_pidpath only through cgo; the pid is logged.
func PeerExe(int) string { return "" }
