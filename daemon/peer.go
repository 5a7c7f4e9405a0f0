package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/sfmcp/sfmcp/internal/safesocket"
)

type peerKey struct{}

// PeerFrom returns the peer of the connection serving ctx.
func PeerFrom(ctx context.Context) (safesocket.Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(safesocket.Peer)
	return p, ok
}

// peerConn is an accepted connection with its checked peer.
type peerConn struct {
	net.Conn
	peer safesocket.Peer
}

// peerListener accepts only connections from the daemon's own uid; every
// other connection is closed before a byte is read.
type peerListener struct {
	net.Listener
	uid   int
	log   *slog.Logger
	limit *connLimit
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			c.Close()
			return nil, errors.New("daemon: not a unix socket connection")
		}
		p, err := peerOf(uc)
		if err != nil {
			l.log.Warn("refused connection: peer credentials unavailable", "error", err)
			c.Close()
			continue
		}
		if p.UID != l.uid {
			l.log.Warn("refused connection from another user", "peer_uid", p.UID, "peer_pid", p.PID)
			c.Close()
			continue
		}
		// Once per connection, not per request: the audit log wants the
		// executable, and reading it is a syscall.
		p.Exe = safesocket.PeerExe(p.PID)
		pc := &peerConn{Conn: c, peer: p}
		if !l.limit.admit(pc) {
			c.Close()
			return nil, net.ErrClosed
		}
		return pc, nil
	}
}

// connContext puts the peer into each request's context for the audit log.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*peerConn); ok {
		return context.WithValue(ctx, peerKey{}, pc.peer)
	}
	return ctx
}

// peerOf reads the credentials of the process at the other end of c.
func peerOf(c *net.UnixConn) (safesocket.Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return safesocket.Peer{}, err
	}
	var p safesocket.Peer
	var perr error
	if err := raw.Control(func(fd uintptr) { p, perr = safesocket.PeerOfFD(int(fd)) }); err != nil {
		return safesocket.Peer{}, err
	}
	return p, perr
}
