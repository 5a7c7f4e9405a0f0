package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sfmcp/sfmcp/internal/safesocket"
)

// conn: the daemon does not run on Windows (it needs peer credentials).
type conn struct{}

func dialDaemon(ctx context.Context, socket string) (*conn, error) {
	return nil, fmt.Errorf("%w (socket %s): the sfmcp daemon does not run on Windows", ErrNoDaemon, socket)
}

func (*conn) peer() (safesocket.Peer, error) { return safesocket.Peer{}, errors.New("unsupported") }
func (*conn) setDeadline(time.Time) error    { return nil }
func (*conn) interrupt()                     {}
func (*conn) Read([]byte) (int, error)       { return 0, errEOF }
func (*conn) Write(p []byte) (int, error)    { return 0, errEOF }
func (*conn) Close() error                   { return nil }
