//go:build unix

package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Review: the daemon log must not be a symlink a project planted (say to
// ~/.bashrc, which would then run what the log says).
func TestOpenLogRefusesSymlinksAndRelativePaths(t *testing.T) {
	dir := t.TempDir()
	bashrc := filepath.Join(dir, ".bashrc")
	os.WriteFile(bashrc, []byte("# mine\n"), 0o600)
	link := filepath.Join(dir, "daemon.log")
	os.Symlink(bashrc, link)
	dangling := filepath.Join(dir, "dangling.log")
	os.Symlink(filepath.Join(dir, "created-by-the-link"), dangling)
	for _, p := range []string{link, dangling, "relative/daemon.log", dir} {
		if f, err := openLog(p); err == nil {
			f.Close()
			t.Errorf("openLog(%s) succeeded", p)
		}
	}
	if data, _ := os.ReadFile(bashrc); string(data) != "# mine\n" {
		t.Fatalf("the symlink target changed: %q", data)
	}
	if _, err := os.Lstat(filepath.Join(dir, "created-by-the-link")); err == nil {
		t.Fatal("a dangling symlink created its target")
	}
	f, err := openLog(filepath.Join(dir, "real.log"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// StartDaemon itself refuses a planted log (not only openLog), a FIFO does
// not hang it, and a relative path creates nothing.
func TestStartDaemonRefusesPlantedLogs(t *testing.T) {
	dir := t.TempDir()
	bashrc := filepath.Join(dir, ".bashrc")
	os.WriteFile(bashrc, []byte("# mine\n"), 0o600)
	link := filepath.Join(dir, "state", "sfmcp", "daemon.log")
	os.MkdirAll(filepath.Dir(link), 0o700)
	os.Symlink(bashrc, link)
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscallMkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, fifo} {
		if _, err := StartDaemon("/bin/true", nil, p, time.Second); err == nil || !strings.Contains(err.Error(), "daemon log") {
			t.Errorf("StartDaemon with log %s: %v", p, err)
		}
	}
	if data, _ := os.ReadFile(bashrc); string(data) != "# mine\n" {
		t.Fatalf("the symlink target changed: %q", data)
	}
	t.Chdir(dir)
	if _, err := StartDaemon("/bin/true", nil, filepath.Join("proj", "daemon.log"), time.Second); err == nil {
		t.Error("a relative log path was accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "proj")); err == nil {
		t.Error("a relative log path created a directory in the working directory")
	}
}
