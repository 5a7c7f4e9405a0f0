//go:build !linux && !darwin

package daemon

import (
	"errors"
	"net"
)

// Other systems have no peer credentials sfmcp can check, so every
// connection is refused rather than trusted.
func peerCredentials(*net.UnixConn) (Peer, error) {
	return Peer{}, errors.New("peer credentials are not supported on this system")
}

func peerExe(int) string { return "" }
