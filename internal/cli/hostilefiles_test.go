//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// #20: an onboarding file or a manifest a project planted as a link to
// /dev/zero or as a FIFO is refused at once: before, setup --from and the
// pat commands read /dev/zero until memory ran out, and hung on a FIFO
// through SIGTERM.
func TestPlantedProjectFilesAreRefusedAtOnce(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A writer that never writes: a blocking open or read would wait forever.
	if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
		defer f.Close()
	}
	linked := filepath.Join(dir, "linked")
	os.WriteFile(filepath.Join(dir, "real.toml"), []byte("profile = \"team\"\n"), 0o600)
	os.Symlink(filepath.Join(dir, "real.toml"), linked)
	for _, c := range []struct {
		path, says string
	}{{zero, "symlink"}, {fifo, "not a regular file"}, {linked, "symlink"}} {
		for _, args := range [][]string{
			{"setup", "--from", c.path, "--yes"},
			{"pat", "status", "--manifest", c.path},
			{"pat", "remove", "--manifest", c.path, "--yes"},
			{"pat", "resume", "--manifest", c.path},
		} {
			code, _, errOut := h.run("", args...)
			if code == exitcode.OK || !strings.Contains(errOut, c.says) {
				t.Errorf("%s: exit %d, want a refusal saying %q:\n%s", strings.Join(args, " "), code, c.says, errOut)
			}
		}
	}
}
