package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue #11 §5: the daemon's log (one audit line per hand-out) is rotated
// by size, so a load run cannot fill the disk; the files stay private.
func TestDaemonLogRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "daemon.log")
	log := rotatingLog(path)
	line := []byte(`time=2026-11-23T15:00:00Z level=INFO msg="token handed out" profile=prod peer_pid=1234 peer_uid=1000 peer_exe=/usr/bin/sfmcp-token forced=false` + "\n")
	chunk := bytes.Repeat(line, 1<<16/len(line))
	for written := 0; written < 45<<20; written += len(chunk) {
		if _, err := log.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	log.Close()
	entries, _ := os.ReadDir(dir)
	var total int64
	backups := 0
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", e.Name(), info.Mode().Perm())
		}
		if e.Name() != "daemon.log" && strings.HasPrefix(e.Name(), "daemon-") {
			backups++
		}
	}
	// lumberjack removes files beyond MaxBackups in the background, so
	// the count is checked as configured, not as momentarily on disk.
	current, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if current.Size() > 10<<20 || backups == 0 || log.MaxBackups != 3 {
		t.Fatalf("after 45 MB of log: current file %d bytes, %d old files (%d bytes on disk), MaxBackups %d", current.Size(), backups, total, log.MaxBackups)
	}
}
