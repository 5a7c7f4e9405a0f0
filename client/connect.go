package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sfmcp/sfmcp/internal/paths"
)

// Options say where to find the user's daemon and how to start one when
// none answers.
type Options struct {
	Getenv func(string) string
	// Environ is what a daemon started here inherits, before the
	// allow-list (daemonEnviron); nil means os.Environ.
	Environ func() []string
	// DaemonExe is the binary that runs `daemon` when one must be started;
	// FindDaemonExe finds it only then (it costs a few system calls). With
	// neither, Connect never starts a daemon.
	DaemonExe     string
	FindDaemonExe func() (string, error)
	// Timeout bounds each request of the returned Client (see Client).
	Timeout time.Duration
}

// startWait is how long Connect waits for a daemon it started.
const startWait = 2 * time.Second

// Connect finds the user's daemon and connects to it: at the socket this
// environment names, else at the one the running daemon recorded in the
// user's lock (a client started with another environment looks elsewhere,
// but there is one daemon per user). With none running it starts one
// (unless SFMCP_NO_AUTOSTART=1) and waits up to 2 s for it. The connection
// carries the Client's first request if that follows at once, so finding
// the daemon costs no extra round trip; Close drops it otherwise.
//
// When no daemon answers, the error wraps ErrNoDaemon and the Client is
// still returned: its Socket is where a daemon would listen.
func Connect(ctx context.Context, o Options) (*Client, error) {
	where, err := paths.Resolve(o.Getenv)
	if err != nil {
		return nil, err
	}
	c := &Client{Socket: where.Socket, Timeout: o.Timeout}
	if err = c.open(ctx); !errors.Is(err, ErrNoDaemon) {
		return c, err
	}
	if found, rerr := c.openRecorded(ctx, where.Lock); found {
		return c, rerr
	}
	if o.Getenv("SFMCP_NO_AUTOSTART") == "1" {
		return c, err
	}
	exe := o.DaemonExe
	if exe == "" && o.FindDaemonExe != nil {
		found, ferr := o.FindDaemonExe()
		if ferr != nil {
			return c, fmt.Errorf("%w (and it cannot be started: %v)", err, ferr)
		}
		exe = found
	}
	if exe == "" {
		return c, err
	}
	environ := o.Environ
	if environ == nil {
		environ = os.Environ
	}
	deadline := time.Now().Add(startWait)
	started, serr := StartDaemon(exe, daemonEnviron(environ()), where.Log, startWait)
	if serr != nil {
		return c, fmt.Errorf("%w (and starting one failed: %v)", err, serr)
	}
	for {
		if err = c.open(ctx); !errors.Is(err, ErrNoDaemon) || time.Now().After(deadline) {
			if started == DaemonExited && errors.Is(err, ErrNoDaemon) {
				// No other daemon took its place: its log says why it stopped.
				err = fmt.Errorf("%w (the one started for this exited; see %s)", err, where.Log)
			}
			return c, err
		}
		// The daemon we started lost a race with another one, which may
		// listen elsewhere, or is still binding: look again briefly.
		if found, rerr := c.openRecorded(ctx, where.Lock); found {
			return c, rerr
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// openRecorded connects c to the socket the running daemon recorded in the
// lock at lockPath, if that is elsewhere and a daemon of this user runs
// there: found, with ErrBusy when its queue stayed full. A record a
// crashed daemon left may name a socket that is gone or no longer safe to
// use; that must not keep a daemon from starting here, so c is left as it
// was.
func (c *Client) openRecorded(ctx context.Context, lockPath string) (found bool, err error) {
	socket, _, ok := RunningDaemon(lockPath)
	if !ok || socket == c.Socket {
		return false, nil
	}
	recorded := &Client{Socket: socket, Timeout: c.Timeout}
	if err := recorded.open(ctx); err != nil && !errors.Is(err, ErrBusy) {
		return false, nil
	} else if err != nil {
		c.Socket = socket
		return true, err
	}
	c.Socket = socket
	c.first.Store(recorded.first.Swap(nil))
	return true, nil
}

// open connects to c.Socket and keeps the connection for the next
// request.
func (c *Client) open(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	if old := c.first.Swap(&pending{conn: conn, at: time.Now()}); old != nil {
		old.conn.Close()
	}
	return nil
}
