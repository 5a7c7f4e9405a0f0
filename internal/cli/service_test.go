package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/service"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// TestServiceInstallUninstall installs into a temporary HOME with no
// service manager on PATH: the unit is written (internal/service compares
// it with its golden file), the user is told how to enable it, and
// uninstall leaves nothing.
func TestServiceInstallUninstall(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the unit is the Linux systemd one")
	}
	h, home := serviceHarness(t)
	h.env["SFMCP_CONFIG"] = "/home/u/.config/sfmcp/config.toml"
	h.env["SFMCP_KEYRING"] = "file"
	h.env["XDG_DATA_HOME"] = ""
	before := listTree(t, home)

	out := h.mustRun("service", "install", "--executable", "/usr/local/bin/sfmcp-token")
	wantSays := "systemctl --user daemon-reload && systemctl --user enable --now sfmcp.service"
	if !service.SystemdRunning() {
		wantSays = "does not run systemd" // nothing to enable it with here
	}
	if !strings.Contains(out, wantSays) {
		t.Fatalf("install did not say %q: %s", wantSays, out)
	}
	unit := filepath.Join(home, ".config", "systemd", "user", "sfmcp.service")
	if got, err := os.ReadFile(unit); err != nil || !strings.Contains(string(got), "ExecStart=/usr/local/bin/sfmcp-token \"daemon\"") {
		t.Fatalf("unit %s: %v\n%s", unit, err, got)
	}
	if out := h.mustRun("service", "status"); !strings.Contains(out, "installed: yes") {
		t.Fatalf("status: %s", out)
	}
	if out := h.mustRun("service", "uninstall"); !strings.Contains(out, "sfmcp.service") {
		t.Fatalf("uninstall: %s", out)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatal("uninstall left the unit behind")
	}
	// Nothing but empty directories is left.
	for _, p := range listTree(t, home) {
		if st, err := os.Stat(filepath.Join(home, p)); err == nil && !st.IsDir() && !contains(before, p) {
			t.Errorf("left behind: %s", p)
		}
	}
	if code, _, errOut := h.run("", "service", "start"); code != exitcode.Usage || !strings.Contains(errOut, "sfmcp-token service install") {
		t.Fatalf("start without a unit: exit %d\n%s", code, errOut)
	}
}

func listTree(t *testing.T, root string) []string {
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// A value systemd would drop from the unit (not UTF-8) is the user's to
// fix: exit 2, with the variable named. internal/service tests how the
// environment is quoted.
func TestServiceRefusesAnEnvironmentSystemdDrops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the drop-in is systemd's")
	}
	h, _ := serviceHarness(t)
	h.env["SFMCP_CONFIG"] = "/x/\xff.toml"
	if code, _, errOut := h.run("", "service", "install", "--executable", "/usr/local/bin/sfmcp-token"); code != exitcode.Usage || !strings.Contains(errOut, "not UTF-8") || !strings.Contains(errOut, "set SFMCP_CONFIG to a UTF-8 value") {
		t.Fatalf("a value that is not UTF-8: exit %d\n%s", code, errOut)
	}
}

// serviceHarness is a harness whose HOME is a fresh directory (returned)
// and whose PATH has no systemctl.
func serviceHarness(t *testing.T) (*harness, string) {
	h := newHarness(t, snowflaketest.Options{})
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PATH", t.TempDir()) // no systemctl
	h.env["HOME"] = home
	return h, home
}
