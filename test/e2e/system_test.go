package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An organisation's system file: its profiles and defaults are there for
// every user (who runs login with no flags), the user's file overlays them
// and holds only the user's own settings, and [managed] settings cannot be
// overridden; doctor and profile show say where each setting came from.
func TestSystemConfigOverlayAndLocks(t *testing.T) {
	p := newProc(t)
	host := p.sf.Host()
	hostname := strings.Split(host, ":")[0]
	system := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(system, []byte(`default_profile = "corp"
[profiles.corp]
account = "myorg-acct"
host = "`+host+`"
role = "MCP_USERS"
mcp_servers = ["DB.PUBLIC.GONG_MCP"]
[profiles.team]
account = "myorg-acct"
host = "`+host+`"
role = "MCP_USERS"
[managed]
keyring = "file"
allowed_hosts = ["`+hostname+`"]
profiles = ["corp"]
`), 0o644)
	p.env = append(p.env, "SFMCP_SYSTEM_CONFIG="+system)
	t.Cleanup(p.stopDaemon)

	if out := p.mustRun("profile", "list"); !strings.Contains(out, "corp *") || !strings.Contains(out, "team") {
		t.Fatalf("profile list with the system file:\n%s", out)
	}
	// No flags at all: the organisation's default profile.
	if code, out, errOut := p.runSigningIn("login", "--no-browser"); code != 0 || !strings.Contains(out, "profile corp") {
		t.Fatalf("login with no flags: exit %d\n%s%s", code, out, errOut)
	}
	// Locked: the profile, the credential store, the allowed hosts.
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"profile", "add", "corp", "--force", "--role", "OTHER"}, "managed by " + system},
		{nil, []string{"profile", "remove", "team"}, "comes from " + system},
		{nil, []string{"profile", "add", "evil", "--account", "other-acct"}, "allows only " + hostname},
		{[]string{"SFMCP_KEYRING=os"}, []string{"login", "team", "--no-browser"}, `sets keyring = "file" for everyone`},
	} {
		if code, _, errOut := p.run(tc.env, tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q: %s", tc.args, code, tc.want, errOut)
		}
	}
	// An unlocked system profile takes the user's override, and the user's
	// file holds only that.
	p.mustRun("profile", "add", "team", "--force", "--role", "ANALYST")
	user, _ := os.ReadFile(p.configFile())
	if strings.Contains(string(user), "[profiles.corp]") || strings.Contains(string(user), "account") || !strings.Contains(string(user), `role = "ANALYST"`) {
		t.Errorf("the user's file holds more than the user's own settings:\n%s", user)
	}
	out := p.mustRun("profile", "show", "team")
	if !strings.Contains(out, "role:         "+p.configFile()) || !strings.Contains(out, "account:      "+system) {
		t.Errorf("profile show team, sources:\n%s", out)
	}
	if out := p.mustRun("profile", "show", "corp"); !strings.Contains(out, system+" (locked)") {
		t.Errorf("profile show corp:\n%s", out)
	}
	// setup with no flags: the default profile and its MCP servers, from
	// the system file (the daemon reads it too: here it is started with
	// SFMCP_SYSTEM_CONFIG, as the service is; the real file needs nothing).
	d := p.startDaemon(t)
	defer func() { d.Process.Signal(os.Interrupt); d.Wait() }()
	code, out, errOut := p.run(nil, "setup", "--yes", "--client", "claude-code")
	if code != 0 || !strings.Contains(out, "profile corp: already set up") || !strings.Contains(out, "doctor: all") {
		t.Fatalf("setup with no flags: exit %d\n%s%s", code, out, errOut)
	}
	if claude, _ := os.ReadFile(filepath.Join(p.dir, ".claude.json")); !strings.Contains(string(claude), "DB.PUBLIC.GONG_MCP") {
		t.Errorf("setup did not add the system profile's MCP server:\n%s", claude)
	}
	_, out, _ = p.run([]string{"SFMCP_NO_AUTOSTART=1"}, "doctor", "--json", "--mcp-file", "")
	var checks []struct {
		Check, Detail string
	}
	json.Unmarshal([]byte(out), &checks)
	if len(checks) == 0 || !strings.Contains(checks[0].Detail, "system "+system) || !strings.Contains(checks[0].Detail, "locked by the system file: keyring, allowed_hosts, profiles.corp") {
		t.Errorf("doctor's provenance: %+v", checks)
	}
}
