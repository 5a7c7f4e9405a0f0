//go:build unix

package cli

import (
	"context"
	"io"
	"maps"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/sfmcp/sfmcp/client"
)

// startDaemon runs `sfmcp-token daemon` in this process on the harness's
// private socket and returns once it says it is ready, the way a daemon
// tells the client that started it (client.ReadyFDEnv). It stops when the
// test ends; its log goes to the leak check.
func (h *harness) startDaemon() {
	h.t.Helper()
	h.privateDaemon()
	r, w, err := readyPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	defer r.Close()
	env := maps.Clone(h.env) // the test may change h.env while the daemon runs
	env[client.ReadyFDEnv] = strconv.Itoa(w)
	env["SFMCP_NO_NOTIFY"] = "1"
	log := newSyncBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Main(ctx, Env{Args: []string{"daemon"}, Getenv: func(k string) string { return env[k] }, Stdout: log, Stderr: log, HTTPClient: h.sf.Client()})
	}()
	h.t.Cleanup(func() {
		cancel()
		<-done
		h.leaks.Record("daemon log", log.String())
	})
	ready := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(r, make([]byte, len("ready\n")))
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			h.t.Fatalf("the daemon did not say it is ready: %v\n%s", err, log.String())
		}
	case <-done:
		h.t.Fatalf("the daemon exited:\n%s", log.String())
	case <-time.After(30 * time.Second): // a bound on a hang, not a synchronisation
		h.t.Fatalf("the daemon is not ready after 30 s:\n%s", log.String())
	}
}

// readyPipe is a pipe whose write end is a bare descriptor: the daemon
// closes the one it signals on, which an *os.File would close again.
func readyPipe() (*os.File, int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	defer w.Close()
	// As os/exec does: a child started meanwhile must not inherit it.
	syscall.ForkLock.RLock()
	fd, err := syscall.Dup(int(w.Fd()))
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		r.Close()
		return nil, 0, err
	}
	return r, fd, nil
}
