//go:build unix

package client

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// StartDaemon says what became of the daemon it started: ready (it wrote
// the word), exited before that (the caller then reports the exit once no
// other daemon answers), or neither within the wait.
func TestStartDaemonSaysReadyExitedOrSlow(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "hold")
	if err := syscallMkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		name, script string
		wait         time.Duration
		want         DaemonStart
	}{
		{"ready", "printf ready >&3", time.Minute, DaemonReady},
		{"ready, then exits", "printf 'ready\\n' >&3; exit 0", time.Minute, DaemonReady},
		{"exits", "exit 3", time.Minute, DaemonExited},
		{"exits mid-word", "printf rea >&3; exit 1", time.Minute, DaemonExited},
		// Holds the pipe open until the test lets it go (opening the FIFO
		// for reading waits for a writer).
		{"slow", `read x < "$HOLD"`, 50 * time.Millisecond, DaemonSlow},
	} {
		exe := filepath.Join(dir, "daemon-"+strconv.Itoa(i))
		if err := os.WriteFile(exe, []byte("#!/bin/sh\n"+c.script+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		got, err := StartDaemon(exe, []string{"HOLD=" + fifo}, filepath.Join(dir, "daemon.log"), c.wait)
		if c.want == DaemonSlow {
			release(t, fifo)
		}
		if err != nil || got != c.want {
			t.Errorf("%s: StartDaemon = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// release lets the slow daemon exit: opening the FIFO for writing meets
// its blocked reader, and closing it ends the read.
func release(t *testing.T, fifo string) {
	t.Helper()
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
