//go:build windows

package daemon

import (
	"errors"
	"io/fs"
	"net"
)

func listen(string) (*net.UnixListener, func(), error) {
	return nil, nil, errors.New("the sfmcp daemon is not supported on Windows yet: it needs per-connection peer credentials")
}

func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
