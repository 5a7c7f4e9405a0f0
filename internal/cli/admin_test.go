package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func TestAdminSetupPrints(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct")
	file := filepath.Join(h.dir, "onboard.toml")
	out := h.mustRun("admin", "setup", "--integration", "sfmcp", "--mcp-server", "db.public.gong_mcp", "--role", "mcp_users",
		"--search-service", "db.public.gong_search", "--analyst", `db.public."Revenue View"`, "--grant-to-role", "analyst", "--onboarding-file", file)
	for _, want := range []string{
		"CREATE SECURITY INTEGRATION IF NOT EXISTS SFMCP",
		"GRANT SELECT ON SEMANTIC VIEW DB.PUBLIC.\"Revenue View\" TO ROLE MCP_USERS;",
		"SELECT SYSTEM$SHOW_OAUTH_CLIENT_SECRETS('SFMCP');",
		"-- Each user then runs",
		"--   sfmcp-token setup --from onboard.toml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Every line is SQL or an SQL comment: the output can be piped into a worksheet.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "sfmcp-token") {
			t.Errorf("uncommented shell line in the SQL output: %q", line)
		}
	}
	if data, err := os.ReadFile(file); err != nil || !strings.Contains(string(data), `profile = "sfmcp"`) || !strings.Contains(string(data), `client_id = "<OAUTH_CLIENT_ID>"`) {
		t.Fatalf("onboarding file: %v %s", err, data)
	}
	// Without a file, the one command with every setting.
	out = h.mustRun("admin", "setup", "--integration", "sfmcp", "--mcp-server", "db.public.gong_mcp", "--role", "mcp_users", "--sql")
	if !strings.Contains(out, "--   sfmcp-token setup --profile sfmcp --account myorg-acct --client-id '<OAUTH_CLIENT_ID>' --client-type public --redirect-uri http://127.0.0.1:3000/oauth/callback --role MCP_USERS --server db.public.gong_mcp") {
		t.Errorf("the setup command:\n%s", out)
	}
	if code, _, errOut := h.run("", "admin", "setup", "--integration", "x", "--mcp-server", "db.s", "--role", "r", "--sql"); code != exitcode.Usage || !strings.Contains(errOut, "DATABASE.SCHEMA.NAME") {
		t.Fatalf("bad server name: %d %s", code, errOut)
	}
	// The snowflake package names the field; the CLI names the flag.
	if code, _, errOut := h.run("", "admin", "setup", "--integration", "x", "--mcp-server", "db.s.m", "--role", "r", "--refresh-days", "91", "--sql"); code != exitcode.Usage || !strings.Contains(errOut, "--refresh-days: 91") {
		t.Fatalf("bad refresh days: %d %s", code, errOut)
	}
}

// admin setup --system-config writes the organisation's system file: the
// profile as everyone's default, its MCP server, only its host allowed.
func TestAdminSetupWritesTheSystemFile(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct")
	sys := filepath.Join(h.dir, "system.toml")
	h.mustRun("admin", "setup", "--integration", "sfmcp", "--mcp-server", "db.public.gong_mcp", "--role", "mcp_users", "--sql", "--system-config", sys)
	cfg, err := config.LoadLayered(sys, filepath.Join(h.dir, "none.toml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("")
	if err != nil || p.Name != "sfmcp" || p.Role != "MCP_USERS" || len(p.MCPServers) != 1 || p.MCPServers[0] != "db.public.gong_mcp" {
		t.Fatalf("system profile: %+v %v", p, err)
	}
	if m := cfg.Managed(); len(m.AllowedHosts) != 1 || m.AllowedHosts[0] != "myorg-acct.snowflakecomputing.com" {
		t.Fatalf("managed: %+v", m)
	}
	if data, _ := os.ReadFile(sys); strings.Contains(string(data), "secret") {
		t.Fatalf("a secret in the system file:\n%s", data)
	}
}
