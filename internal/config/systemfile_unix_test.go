//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// #20: the system file is opened once, without following a link, and its
// write check is made on that descriptor; the sticky-bit exemption is the
// directory's, never the file's.
func TestSystemFileIsCheckedOnWhatIsRead(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user.toml")
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("default_profile = \"corp\"\n"), 0o644)
	if f, err := LoadLayered(good, user); err != nil || f.DefaultProfile != "corp" {
		t.Fatalf("a good system file: %v", err)
	}

	sticky := filepath.Join(dir, "sticky.toml")
	os.WriteFile(sticky, []byte("https_proxy = \"http://evil.example:1\"\n"), 0o644)
	if err := os.Chmod(sticky, 0o666|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.toml")
	os.Symlink(good, link)
	zero := filepath.Join(dir, "zero.toml")
	os.Symlink("/dev/zero", zero)
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.toml")
	os.WriteFile(big, []byte("# "+strings.Repeat("x", maxSystemFile)+"\n"), 0o644)
	for path, want := range map[string]string{
		sticky: "may be written by other users",
		link:   "symlink",
		zero:   "symlink",
		fifo:   "not a regular file",
		big:    "larger than",
	} {
		_, err := LoadLayered(path, user)
		if _, ok := err.(*SystemFileError); !ok || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a SystemFileError saying %q", filepath.Base(path), err, want)
		}
	}

	// A sticky directory others may write to (like /tmp) is fine: they
	// cannot replace a file they do not own there.
	tmpLike := filepath.Join(dir, "tmp")
	os.Mkdir(tmpLike, 0o700)
	os.Chmod(tmpLike, 0o777|os.ModeSticky)
	inTmp := filepath.Join(tmpLike, "system.toml")
	os.WriteFile(inTmp, []byte("default_profile = \"corp\"\n"), 0o644)
	if _, err := LoadLayered(inTmp, user); err != nil {
		t.Errorf("a system file in a sticky directory: %v", err)
	}
}

// A user's config may be a dotfile manager's link, but never a device or
// a FIFO, which SFMCP_CONFIG from a client entry could name.
func TestUserConfigIsReadBounded(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.toml")
	os.WriteFile(real, []byte("default_profile = \"p\"\n"), 0o600)
	link := filepath.Join(dir, "link.toml")
	os.Symlink(real, link)
	if f, err := Load(link); err != nil || f.DefaultProfile != "p" {
		t.Fatalf("a linked config: %v", err)
	}
	zero := filepath.Join(dir, "zero.toml")
	os.Symlink("/dev/zero", zero)
	fifo := filepath.Join(dir, "fifo.toml")
	syscall.Mkfifo(fifo, 0o600)
	// A dotted key 30,000 parts long took BurntSushi/toml about a minute.
	long := filepath.Join(dir, "long.toml")
	os.WriteFile(long, []byte(strings.Repeat("a.", 30000)+"a = 1\n"), 0o600)
	if _, err := Load(long); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("a 30,000-part dotted key: %v", err)
	}
	for _, p := range []string{zero, fifo} {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
}
