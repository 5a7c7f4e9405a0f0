//go:build !linux && !darwin

package safesocket

import "errors"

// Other systems have no peer credentials sfmcp can check, so every
// connection is refused rather than trusted.
func PeerOfFD(int) (Peer, error) {
	return Peer{}, errors.New("peer credentials are not supported on this system")
}

func PeerExe(int) string { return "" }
