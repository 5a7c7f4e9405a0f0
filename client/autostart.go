package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// openLog opens the daemon's log for appending. It never follows a symlink
// and accepts only a regular file of this user's: the path comes from the
// caller's environment, and a log appended to ~/.bashrc would run what the
// log says.
func openLog(path string) (*os.File, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("the daemon log path %s is not absolute", path)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|noFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the daemon log %s: %w", path, err)
	}
	if err := checkOwnRegularFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("refusing the daemon log %s: %w", path, err)
	}
	return f, nil
}

// ReadyFDEnv tells a daemon started by StartDaemon which inherited file
// descriptor to write "ready" to once its socket accepts connections.
const ReadyFDEnv = "SFMCP_READY_FD"

// DaemonStart is what became of a daemon StartDaemon launched by the time
// it returned.
type DaemonStart int

const (
	// DaemonSlow: within the wait it neither said it was ready nor
	// exited; it may still be binding its socket.
	DaemonSlow DaemonStart = iota
	// DaemonReady: it said its socket accepts connections.
	DaemonReady
	// DaemonExited: it exited before it was ready. Either it lost the
	// race to another daemon, which holds the lock and may still be
	// binding (so the caller looks again until its deadline), or it
	// failed, and its log says why.
	DaemonExited
)

func (d DaemonStart) String() string {
	return [...]string{"slow", "ready", "exited"}[d]
}

// StartDaemon launches `exe daemon` detached from the caller: its own
// session, no stdin or stdout (a headersHelper's stdout must close when the
// helper exits), stderr appended to logPath. It returns once the daemon
// reports ready or exits, or wait passes, and says which.
func StartDaemon(exe string, env []string, logPath string, wait time.Duration) (DaemonStart, error) {
	if !filepath.IsAbs(logPath) {
		return DaemonSlow, fmt.Errorf("the daemon log path %s is not absolute (is HOME set to an absolute path?)", logPath)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return DaemonSlow, fmt.Errorf("create the daemon log directory: %w", err)
	}
	logFile, err := openLog(logPath)
	if err != nil {
		return DaemonSlow, err
	}
	defer logFile.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return DaemonSlow, err
	}
	defer r.Close()
	cmd := exec.Command(exe, "daemon", "--log-file")
	cmd.Env = append(withoutReadyFD(env), ReadyFDEnv+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, logFile
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	cmd.SysProcAttr = detached()
	cmd.Dir = "/"
	closeInheritedOnExec()
	if err := cmd.Start(); err != nil {
		w.Close()
		return DaemonSlow, fmt.Errorf("start the sfmcp daemon: %w", err)
	}
	w.Close()
	// Reap the child if it exits while we wait; once we return it lives on
	// in its own session.
	go func() { _ = cmd.Wait() }()
	return readyOrExit(r, wait), nil
}

// readyOrExit waits on the read end of the daemon's ready pipe. The
// daemon writes "ready" once its socket listens; the pipe ends (EOF) when
// the last copy of its write end closes, which without that word means
// the daemon exited.
func readyOrExit(r *os.File, wait time.Duration) DaemonStart {
	_ = r.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(r, buf, 5)
	switch {
	case strings.HasPrefix(string(buf[:n]), "ready"):
		return DaemonReady
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return DaemonExited
	}
	return DaemonSlow // the wait passed (or it said something else): dial and see
}

func withoutReadyFD(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, ReadyFDEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
