package client

import (
	"os"
	"path/filepath"
	"testing"
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
