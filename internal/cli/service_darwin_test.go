//go:build darwin

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// TestLaunchAgentInstallUninstall is the macOS twin of the systemd test:
// kardianos writes the plist (launchctl runs only on start), compared with
// testdata/sfmcp.plist.golden with the temporary HOME shown as $HOME.
func TestLaunchAgentInstallUninstall(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	home := t.TempDir()
	t.Setenv("HOME", home)
	h.env["HOME"] = home
	h.env["SFMCP_CONFIG"] = "/home/u/.config/sfmcp/config.toml"
	h.env["SFMCP_KEYRING"] = "file"
	h.env["XDG_DATA_HOME"] = ""
	h.mustRun("service", "install", "--executable", "/usr/local/bin/sfmcp-token")
	plist := filepath.Join(home, "Library", "LaunchAgents", "sfmcp.plist")
	got, err := os.ReadFile(plist)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(got), home, "$HOME")
	golden := filepath.Join("testdata", "sfmcp.plist.golden")
	if *update {
		os.WriteFile(golden, []byte(text), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if text != string(want) {
		t.Fatalf("plist differs from %s:\n%s", golden, text)
	}
	h.mustRun("service", "uninstall")
	if _, err := os.Stat(plist); !os.IsNotExist(err) {
		t.Fatal("uninstall left the plist behind")
	}
}
