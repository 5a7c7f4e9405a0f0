//go:build unix

package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sfmcp/sfmcp/internal/safesocket"
)

// conn is one connection to the daemon made with plain system calls. The
// net package's poller and start-up cost the hot path more than the
// exchange itself (bench/RESULTS.md); one request and one answer need
// only blocking I/O bounded by socket timeouts.
type conn struct {
	mu     sync.Mutex
	fd     int
	closed bool
}

// dialDaemon connects to socket. A full accept queue (EAGAIN) means a
// busy daemon, not a missing one: it is retried for up to two seconds
// (the daemon sheds silent connections after half a second).
func dialDaemon(ctx context.Context, socket string) (*conn, error) {
	retryUntil := time.Now().Add(2 * time.Second)
	for {
		// Under the fork lock, as the net package does: a daemon started
		// from another goroutine must not inherit the descriptor.
		syscall.ForkLock.RLock()
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.CloseOnExec(fd)
		}
		syscall.ForkLock.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("create a socket: %w", err)
		}
		if err = unix.SetNonblock(fd, true); err == nil {
			err = unix.Connect(fd, &unix.SockaddrUnix{Name: socket})
		}
		if err == nil {
			if err = unix.SetNonblock(fd, false); err == nil {
				return &conn{fd: fd}, nil
			}
		}
		unix.Close(fd)
		if !errors.Is(err, unix.EAGAIN) {
			return nil, noDaemon(socket, err)
		}
		if time.Now().After(retryUntil) {
			return nil, fmt.Errorf("%w (socket %s)", ErrBusy, socket)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// peer returns who serves the other end.
func (c *conn) peer() (safesocket.Peer, error) { return safesocket.PeerOfFD(c.fd) }

// setDeadline bounds every later read and write.
func (c *conn) setDeadline(t time.Time) error {
	tv := unix.NsecToTimeval(max(time.Until(t), time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	return unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
}

// interrupt makes a blocked read or write return at once (a cancelled
// context).
func (c *conn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, os.ErrDeadlineExceeded
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, errEOF
		}
		return n, nil
	}
}

func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := unix.Write(c.fd, p[written:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return written, os.ErrDeadlineExceeded
		case err != nil:
			return written, err
		}
		written += n
	}
	return written, nil
}

func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return unix.Close(c.fd)
}

// noDaemon says why nothing answers at socket in words: no socket there,
// or one a daemon left that nothing listens on; any other failure as the
// system named it.
func noDaemon(socket string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w (no socket at %s)", ErrNoDaemon, socket)
	case errors.Is(err, unix.ECONNREFUSED):
		return fmt.Errorf("%w (nothing listens at %s)", ErrNoDaemon, socket)
	}
	return fmt.Errorf("%w (socket %s): %v", ErrNoDaemon, socket, err)
}
