package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// TestAdminSetupApplyThenOnboard: an administrator applies the setup through
// the SQL API; a user runs setup with the onboarding file it wrote; doctor
// finds the new MCP server answering through the bridge.
func TestAdminSetupApplyThenOnboard(t *testing.T) {
	p := signedIn(t)
	p.sf.AddUser(snowflaketest.User{Name: "alice", Password: snowflaketest.DefaultPassword, DefaultRole: "MCP_USERS",
		Roles: []string{"MCP_USERS", "PUBLIC", "SFMCP_ADMIN"}})
	if code, _, errOut := p.run(nil, "profile", "add", "admin", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "SFMCP_ADMIN"); code != 0 {
		t.Fatal(errOut)
	}
	p.login(t, "admin")
	onboard := filepath.Join(p.dir, "onboard.sh")
	code, out, errOut := p.run(nil, "admin", "setup", "--apply", "--admin-profile", "admin", "--integration", "sfmcp_team",
		"--mcp-server", "DB.PUBLIC.TEAM_MCP", "--role", "MCP_USERS", "--search-service", "DB.PUBLIC.GONG_SEARCH", "--sql",
		"--grant-to-user", "alice", "--account", "myorg-acct", "--onboarding-file", onboard)
	if code != 0 {
		t.Fatalf("admin setup --apply: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "✓ the OAuth integration") || !strings.Contains(out, "✓ USAGE on the MCP server") {
		t.Fatalf("apply output:\n%s", out)
	}
	stmts := strings.Join(p.sf.Statements(), "\n")
	if !strings.Contains(stmts, "CREATE SECURITY INTEGRATION IF NOT EXISTS SFMCP_TEAM") || !strings.Contains(stmts, "GRANT USAGE ON MCP SERVER DB.PUBLIC.TEAM_MCP TO ROLE MCP_USERS") {
		t.Fatalf("statements at the stand-in:\n%s", stmts)
	}
	script, err := os.ReadFile(onboard)
	if err != nil {
		t.Fatal(err)
	}
	// The user's machine: same stand-in, host override for the test; one
	// command with the file as handed out.
	code, out, errOut = p.runSigningIn("setup", "--from", onboard, "--host", p.sf.Host(), "--no-browser")
	if code != 0 || !strings.Contains(out, "doctor: all ") {
		t.Fatalf("setup --from the onboarding file: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = p.run(nil, "token", "--profile", "sfmcp_team")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("token for the onboarded profile: %d %s", code, errOut)
	}
	if p.sf.IntegrationClientID("SFMCP_TEAM") == "" {
		t.Fatal("integration not registered at the stand-in")
	}
	leaks.Record(t.Name()+": the onboarding file and output", string(script)+errOut)
}

func TestAdminSetupConfidentialStoresSecret(t *testing.T) {
	p := signedIn(t)
	p.sf.AddUser(snowflaketest.User{Name: "alice", Password: snowflaketest.DefaultPassword, DefaultRole: "MCP_USERS",
		Roles: []string{"MCP_USERS", "PUBLIC", "SFMCP_ADMIN"}})
	p.run(nil, "profile", "add", "admin", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "SFMCP_ADMIN")
	p.login(t, "admin")
	code, out, errOut := p.run(nil, "admin", "setup", "--apply", "--admin-profile", "admin", "--integration", "CORP",
		"--client-type", "confidential", "--mcp-server", "DB.PUBLIC.CORP_MCP", "--role", "MCP_USERS", "--sql")
	if code != 0 || !strings.Contains(out, "client secret stored in") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	creds, _ := os.ReadFile(p.credentialsFile())
	if !strings.Contains(string(creds), "corp:client-secret") {
		t.Fatal("the client secret was not stored for profile corp")
	}
	leaks.Record(t.Name()+": output", out+errOut)
}

func TestAdminSetupWithoutPrivilege(t *testing.T) {
	p := signedIn(t) // prod's role is MCP_USERS: no CREATE INTEGRATION
	code, _, errOut := p.run(nil, "admin", "setup", "--apply", "--admin-profile", "prod", "--integration", "X",
		"--mcp-server", "DB.PUBLIC.X_MCP", "--role", "MCP_USERS", "--sql")
	if code != 2 || !strings.Contains(errOut, "003001") || !strings.Contains(errOut, "Snowsight") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// Security issue, item 9: quoted names may hold dots, quotes and SQL; the
// script admin setup prints splits into exactly the statements intended,
// and each name stays one identifier.
func TestAdminSetupPrintsNamesQuoted(t *testing.T) {
	p := newProc(t)
	for _, c := range []struct {
		server string
		want   []string
	}{
		{`D." TO ROLE R; DROP DATABASE PROD; --.".M`, []string{
			"GRANT USAGE ON DATABASE D TO ROLE R",
			`GRANT USAGE ON SCHEMA D." TO ROLE R; DROP DATABASE PROD; --." TO ROLE R`}},
		{`"my.db".PUBLIC.X`, []string{
			`GRANT USAGE ON DATABASE "my.db" TO ROLE R`,
			`GRANT USAGE ON SCHEMA "my.db".PUBLIC TO ROLE R`,
			`GRANT USAGE ON MCP SERVER "my.db".PUBLIC.X TO ROLE R`}},
	} {
		code, out, errOut := p.run(nil, "admin", "setup", "--integration", "I", "--mcp-server", c.server, "--role", "R", "--sql",
			"--grant-to-user", "x' ; DROP DATABASE PROD; --", "--account", "myorg-acct")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", c.server, code, errOut)
		}
		stmts, err := snowflaketest.SplitSQL(out)
		// integration, role, server, 3 USAGE grants, the user's grant, the client id
		if err != nil || len(stmts) != 8 {
			t.Fatalf("%s: the script splits into %d statements (%v), want 8:\n%s", c.server, len(stmts), err, out)
		}
		for _, s := range stmts {
			if strings.HasPrefix(s, "DROP") {
				t.Fatalf("%s: the script holds %q", c.server, s)
			}
		}
		for _, w := range append(c.want, `GRANT ROLE R TO USER "x' ; DROP DATABASE PROD; --"`) {
			if !slices.Contains(stmts, w) {
				t.Errorf("%s: no statement %q in:\n%s", c.server, w, out)
			}
		}
	}
	// An account is printed into the script's comments: it must be one.
	code, out, _ := p.run(nil, "admin", "setup", "--integration", "I", "--mcp-server", "D.S.M", "--role", "R", "--sql",
		"--account", "x\nDROP DATABASE PROD;")
	if code != 2 || strings.Contains(out, "DROP DATABASE") {
		t.Fatalf("a hostile --account: exit %d\n%s", code, out)
	}
}
