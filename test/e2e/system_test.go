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

// What the system file locks holds on every path: a profile selected by
// the server URL, a lone profile, a changed default; a misspelt lock or a
// file others may write is refused.
func TestSystemLocksHoldEverywhere(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	p.mustRun("profile", "add", "evil", "--account", "myorg-acct", "--host", p.sf.Host())
	system := filepath.Join(t.TempDir(), "config.toml")
	write := func(text string, mode os.FileMode) {
		os.WriteFile(system, []byte(text), mode)
		os.Chmod(system, mode)
	}
	write("[managed]\nallowed_hosts = [\"myorg-allowed.snowflakecomputing.com\"]\ndefault_profile = \"evil\"\n", 0o644)
	env := []string{"SFMCP_SYSTEM_CONFIG=" + system, "SFMCP_NO_AUTOSTART=1"}
	for _, args := range [][]string{{"profile", "show"}, {"login", "--no-browser"}, {"mcp-proxy", "--server", "DB.PUBLIC.GONG_MCP"}} {
		if code, _, errOut := p.run(env, args...); code == 0 || !strings.Contains(errOut, "allows only myorg-allowed") {
			t.Errorf("%v with a disallowed lone profile: exit %d %s", args, code, errOut)
		}
	}
	write("[managed]\ndefault_profile = \"evil\"\n", 0o644)
	p.mustRun("profile", "add", "other", "--account", "myorg-acct", "--host", p.sf.Host())
	if code, _, errOut := p.run(env, "profile", "default", "other"); code != 2 || !strings.Contains(errOut, "cannot be changed here") {
		t.Errorf("profile default under a locked default: exit %d %s", code, errOut)
	}
	write("[managed]\nallowed_host = [\"x\"]\n", 0o644)
	if code, _, errOut := p.run(env, "profile", "list"); code != 2 || !strings.Contains(errOut, `unknown managed setting "managed.allowed_host"`) || !strings.Contains(errOut, "tell your administrator") {
		t.Errorf("a misspelt lock: exit %d %s", code, errOut)
	}
	write("default_profile = \"evil\"\n", 0o666)
	if code, _, errOut := p.run(env, "profile", "list"); code != 2 || !strings.Contains(errOut, "may be written by other users") {
		t.Errorf("a world-writable system file: exit %d %s", code, errOut)
	}
}

// A signed-in profile whose host the system file does not allow gets no
// token, also when the daemon selects it by the server URL.
func TestAllowedHostsInTheDaemon(t *testing.T) {
	p := signedIn(t)
	p.stopDaemon()
	system := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(system, []byte("[managed]\nallowed_hosts = [\"myorg-allowed.snowflakecomputing.com\"]\n"), 0o644)
	p.env = append(p.env, "SFMCP_SYSTEM_CONFIG="+system)
	d := p.startDaemon(t) // as the service runs it, with the variable
	defer func() { d.Process.Signal(os.Interrupt); d.Wait() }()
	url := "CLAUDE_CODE_MCP_SERVER_URL=https://" + p.sf.Host() + "/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP"
	code, out, errOut := p.run([]string{url, "SFMCP_NO_AUTOSTART=1"}, "headers")
	if code != 2 || strings.Contains(out, "Bearer") {
		t.Fatalf("a profile selected by its server URL escaped allowed_hosts: exit %d (stdout not shown: it may hold a token) %s", code, errOut)
	}
}
