//go:build !linux

package mcpproxy

import (
	"syscall"
	"time"
)

// setUserTimeout is Linux-only; elsewhere TCP keepalive and HTTP/2 pings
// notice a dead peer.
func setUserTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
