//go:build darwin

package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLaunchAgentInstallUninstall is the macOS twin of the systemd test:
// kardianos writes the plist (launchctl runs only on start), compared with
// testdata/sfmcp.plist.golden with the temporary HOME shown as $HOME.
func TestLaunchAgentInstallUninstall(t *testing.T) {
	svc, home := testService(t, map[string]string{
		"SFMCP_CONFIG":  "/home/u/.config/sfmcp/config.toml",
		"SFMCP_KEYRING": "file",
	})
	if _, err := svc.Install(); err != nil {
		t.Fatal(err)
	}
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
	if _, err := svc.Uninstall(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(plist); !os.IsNotExist(err) {
		t.Fatal("uninstall left the plist behind")
	}
}
