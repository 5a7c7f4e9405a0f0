//go:build !linux && !darwin

package safesocket

import (
	"errors"
	"net"
)

// Other systems have no peer credentials sfmcp can check, so every
// connection is refused rather than trusted.
func PeerOf(*net.UnixConn) (Peer, error) {
	return Peer{}, errors.New("peer credentials are not supported on this system")
}

func PeerExe(int) string { return "" }
