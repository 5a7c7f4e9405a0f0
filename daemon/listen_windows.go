//go:build windows

package daemon

import (
	"errors"
	"net"
)

func listen(string, string) (*net.UnixListener, func(), error) {
	return nil, nil, errors.New("the sfmcp daemon is not supported on Windows yet: it needs per-connection peer credentials")
}
