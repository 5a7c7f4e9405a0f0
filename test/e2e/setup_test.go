package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A user with the administrator's onboarding file runs one command and is
// ready: profile, sign-in, the Claude Code entry, doctor green. Running it
// again changes nothing and signs in no second time.
func TestSetupFromOnboardingFile(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	t.Cleanup(p.stopDaemon)
	file := filepath.Join(p.dir, "sfmcp-onboarding.toml")
	os.WriteFile(file, []byte(`profile = "team"
account = "myorg-acct"
host = "`+p.sf.Host()+`"
role = "MCP_USERS"
mcp_server = "DB.PUBLIC.GONG_MCP"
`), 0o644)
	code, out, errOut := p.runSigningIn("setup", "--from", file, "--no-browser")
	if code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"✓ profile team: added", "Logged in to", "✓ MCP server snowflake: added to " + filepath.Join(p.dir, ".claude.json"), "doctor: all "} {
		if !strings.Contains(out, want) {
			t.Errorf("setup output lacks %q:\n%s", want, out)
		}
	}
	claude, _ := os.ReadFile(filepath.Join(p.dir, ".claude.json"))
	cfg, _ := os.ReadFile(p.configFile())
	exchanges := p.sf.Counters().CodeExchanges
	if exchanges != 1 || !strings.Contains(string(claude), `"mcp-proxy"`) {
		t.Fatalf("exchanges %d, ~/.claude.json:\n%s", exchanges, claude)
	}

	code, out, errOut = p.runSigningIn("setup", "--from", file, "--no-browser")
	if code != 0 || !strings.Contains(out, "✓ profile team: already set up") || !strings.Contains(out, "already signed in") || !strings.Contains(out, "already in") {
		t.Fatalf("second setup: exit %d\n%s%s", code, out, errOut)
	}
	if again, _ := os.ReadFile(filepath.Join(p.dir, ".claude.json")); string(again) != string(claude) {
		t.Errorf("a second setup changed ~/.claude.json")
	}
	if again, _ := os.ReadFile(p.configFile()); string(again) != string(cfg) {
		t.Errorf("a second setup changed the config")
	}
	if n := p.sf.Counters().CodeExchanges; n != exchanges {
		t.Errorf("a second setup signed in again (%d code exchanges)", n)
	}
	// A claude entry of the same name that is not ours is left alone.
	code, _, errOut = p.run(nil, "setup", "--from", file, "--server", "DB.PUBLIC.OTHER_MCP")
	if code != 2 || !strings.Contains(errOut, "for something else") {
		t.Fatalf("setup over another entry: exit %d: %s", code, errOut)
	}
}

// setup never changes a profile that exists with other settings, and
// without a terminal it asks nothing: what is missing is an error.
func TestSetupRefusesAndNeverHangs(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	p.mustRun("profile", "add", "team", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "ANALYST")
	before, _ := os.ReadFile(p.configFile())
	code, out, errOut := p.run(nil, "setup", "--profile", "team", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "MCP_USERS")
	if code != 2 || !strings.Contains(errOut, "already exists with other settings") || !strings.Contains(errOut, `role "ANALYST", not "MCP_USERS"`) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(p.configFile()); string(after) != string(before) {
		t.Fatal("setup changed a profile it refused")
	}
	code, _, errOut = p.run(nil, "setup", "--profile", "fresh")
	if code != 2 || !strings.Contains(errOut, "no account") {
		t.Fatalf("setup without an account: exit %d %s", code, errOut)
	}
	// A profile's settings are compared by what they mean: a custom client
	// is confidential by default, so saying so is no difference.
	p.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", p.sf.Host(), "--client-id", "CID", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback")
	_, _, errOut = p.run(nil, "setup", "--profile", "corp", "--client-type", "confidential", "--role", "")
	if strings.Contains(errOut, "other settings") {
		t.Errorf("setup saw a difference where there is none: %s", errOut)
	}
	// An onboarding file that sends the sign-in outside Snowflake's domains
	// is not followed without a person's yes (or --yes).
	lookalike := filepath.Join(p.dir, "lookalike.toml")
	os.WriteFile(lookalike, []byte("profile = \"new\"\naccount = \"https://snowflake-login.example.com\"\n"), 0o644)
	code, _, errOut = p.run(nil, "setup", "--from", lookalike)
	if code != 2 || !strings.Contains(errOut, "not a Snowflake host") {
		t.Errorf("a look-alike host: exit %d %s", code, errOut)
	}
	if after, _ := os.ReadFile(p.configFile()); strings.Contains(string(after), "snowflake-login") {
		t.Error("setup added a profile for a look-alike host")
	}
	for _, bad := range []string{"profile = \"x\"\naccount = \"myorg-acct\"\nheadersHelper = \"curl evil\"\n", "profile = \"../x\"\naccount = \"a-b\"\n"} {
		file := filepath.Join(p.dir, "bad.toml")
		os.WriteFile(file, []byte(bad), 0o644)
		if code, _, errOut := p.run(nil, "setup", "--from", file); code != 2 {
			t.Errorf("onboarding file %q: exit %d %s", bad, code, errOut)
		}
	}
}

// admin setup writes an onboarding file of data, no commands (setup takes
// it as it is: TestAdminSetupApplyThenOnboard).
func TestAdminOnboardingFileFeedsSetup(t *testing.T) {
	p := newProc(t)
	p.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host())
	file := filepath.Join(p.dir, "onboard.toml")
	out := p.mustRun("admin", "setup", "--integration", "sfmcp_team", "--mcp-server", "DB.PUBLIC.TEAM_MCP", "--role", "MCP_USERS",
		"--account", "myorg-acct", "--sql", "--onboarding-file", file)
	if !strings.Contains(out, "sfmcp-token setup --from onboard.toml") {
		t.Fatalf("admin setup does not name the setup command:\n%s", out)
	}
	data, _ := os.ReadFile(file)
	for _, want := range []string{`profile = "sfmcp_team"`, `account = "myorg-acct"`, `mcp_server = "DB.PUBLIC.TEAM_MCP"`, `client_type = "public"`, "sfmcp-token setup --from"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("onboarding file lacks %q:\n%s", want, data)
		}
	}
}
