package daemon

import (
	"errors"
	"fmt"
	"os"

	"github.com/sfmcp/sfmcp/internal/safesocket"
)

// ErrAlreadyRunning means another daemon of this user holds the socket.
var ErrAlreadyRunning = errors.New("another sfmcp daemon is already running")

// checkPrivateDir creates dir (0700) if needed and refuses one that others
// could enter or that another user owns: the socket's safety rests on it.
func checkPrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the socket directory %s: %w", dir, err)
	}
	return safesocket.CheckDir(dir)
}
