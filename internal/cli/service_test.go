package cli

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/packaging"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestServiceInstallUninstall installs into a temporary HOME with no
// service manager on PATH: the unit is written (compared with the golden
// file), the user is told how to enable it, and uninstall leaves nothing.
func TestServiceInstallUninstall(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the golden unit is the Linux systemd one")
	}
	h, home := serviceHarness(t)
	h.env["SFMCP_CONFIG"] = "/home/u/.config/sfmcp/config.toml"
	h.env["SFMCP_KEYRING"] = "file"
	h.env["XDG_DATA_HOME"] = ""
	before := listTree(t, home)

	out := h.mustRun("service", "install", "--executable", "/usr/local/bin/sfmcp-token")
	wantSays := "systemctl --user daemon-reload && systemctl --user enable --now sfmcp.service"
	if !packaging.SystemdRunning() {
		wantSays = "does not run systemd" // nothing to enable it with here
	}
	if !strings.Contains(out, wantSays) {
		t.Fatalf("install did not say %q: %s", wantSays, out)
	}
	unit := filepath.Join(home, ".config", "systemd", "user", "sfmcp.service")
	got, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sfmcp.service.golden")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, _ := os.ReadFile(golden)
	if string(got) != string(want) {
		t.Fatalf("unit differs from %s (run go test ./cli -run ServiceInstall -update):\n%s", golden, got)
	}
	// Installing again replaces the unit (an upgrade).
	h.mustRun("service", "install", "--executable", "/opt/sfmcp/sfmcp-token")
	if got, _ := os.ReadFile(unit); !strings.Contains(string(got), "ExecStart=/opt/sfmcp/sfmcp-token \"daemon\"") {
		t.Fatalf("reinstall did not update the unit:\n%s", got)
	}
	if out := h.mustRun("service", "status"); !strings.Contains(out, "installed: yes") {
		t.Fatalf("status: %s", out)
	}
	h.mustRun("service", "uninstall")
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatal("uninstall left the unit behind")
	}
	// Nothing but empty directories is left.
	for _, p := range listTree(t, home) {
		if st, err := os.Stat(filepath.Join(home, p)); err == nil && !st.IsDir() && !contains(before, p) {
			t.Errorf("left behind: %s", p)
		}
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

// #20: a value with a newline or a % specifier in the user's environment
// stays one quoted Environment= value for the unit: it adds no directive
// and systemd expands nothing in it. The values go into the drop-in that
// the packaged unit uses too, written by one function.
func TestServiceUnitQuotesEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the unit is the Linux systemd one")
	}
	h, home := serviceHarness(t)
	h.env["XDG_DATA_HOME"] = ""
	h.env["SFMCP_CONFIG"] = "/x/c.toml\nExecStartPre=/bin/sh -c 'touch /tmp/owned' %h \"{{.}}\" \\"
	h.mustRun("service", "install", "--executable", "/usr/local/bin/sfmcp-token")
	dir := filepath.Join(home, ".config", "systemd", "user")
	unit, err := os.ReadFile(filepath.Join(dir, "sfmcp.service"))
	if err != nil {
		t.Fatal(err)
	}
	dropIn, err := os.ReadFile(filepath.Join(dir, "sfmcp.service.d", "sfmcp-environment.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(unit)+string(dropIn), "\n") {
		if strings.HasPrefix(line, "ExecStartPre") {
			t.Errorf("the value added a directive: %q", line)
		}
		if strings.HasPrefix(line, "Environment=") {
			env = append(env, line)
		}
	}
	want := `Environment="SFMCP_CONFIG=/x/c.toml\x0aExecStartPre=/bin/sh -c 'touch /tmp/owned' %%h \"{{.}}\" \\"`
	if !slices.Equal(env, []string{want, `Environment="SFMCP_KEYRING=file"`}) {
		t.Fatalf("Environment= lines:\n%s\nwant:\n%s", strings.Join(env, "\n"), want)
	}
	h.mustRun("service", "uninstall")
	if _, err := os.Stat(filepath.Join(dir, "sfmcp.service.d", "sfmcp-environment.conf")); !os.IsNotExist(err) {
		t.Fatal("uninstall left the drop-in behind")
	}
	// systemd would silently drop a value that is not UTF-8.
	h.env["SFMCP_CONFIG"] = "/x/\xff.toml"
	if code, _, errOut := h.run("", "service", "install", "--executable", "/usr/local/bin/sfmcp-token"); code != exitcode.Usage || !strings.Contains(errOut, "not UTF-8") {
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
