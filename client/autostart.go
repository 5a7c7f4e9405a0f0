package client

import (
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

// StartDaemon launches `exe daemon` detached from the caller: its own
// session, no stdin or stdout (a headersHelper's stdout must close when the
// helper exits), stderr appended to logPath. It returns once the daemon
// reports ready, exits, or wait passes; the caller then dials again.
func StartDaemon(exe string, env []string, logPath string, wait time.Duration) error {
	if !filepath.IsAbs(logPath) {
		return fmt.Errorf("the daemon log path %s is not absolute (is HOME set to an absolute path?)", logPath)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("create the daemon log directory: %w", err)
	}
	logFile, err := openLog(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
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
		return fmt.Errorf("start the sfmcp daemon: %w", err)
	}
	w.Close()
	// Reap the child if it exits while we wait; once we return it lives on
	// in its own session.
	go func() { _ = cmd.Wait() }()
	_ = r.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(r, buf, 5)
	if err == nil && strings.HasPrefix(string(buf[:n]), "ready") {
		return nil
	}
	return nil // exited (perhaps another daemon won the race) or slow: dial again and see
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
