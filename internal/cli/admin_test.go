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

// admin setup parses its flags into its options; runF sees them.
func TestAdminSetupOptions(t *testing.T) {
	o, err := parsed(t, newAdminSetupCommand, "--integration", "sfmcp", "--mcp-server", "db.public.m", "--role", "r",
		"--search-service", "db.s.a", "--search-service", "db.s.b", "--analyst", "db.s.v", "--agent", "db.s.g", "--sql", "--sql-warehouse", "wh",
		"--client-type", "confidential", "--redirect-uri", "http://127.0.0.1:4000/cb", "--refresh-days", "30", "--grant-to-role", "analyst",
		"--grant-to-user", "bob", "--apply", "--admin-profile", "admin", "--account", "myorg-acct", "--profile-name", "team",
		"--onboarding-file", "o.toml", "--system-config", "s.toml")
	if err != nil || o.s.Integration != "sfmcp" || o.s.MCPServer != "db.public.m" || o.s.Role != "r" || len(o.search) != 2 || len(o.analyst) != 1 ||
		len(o.agent) != 1 || !o.sqlTool || o.s.SQLWarehouse != "wh" || o.clientType != "confidential" || o.s.RedirectURI != "http://127.0.0.1:4000/cb" ||
		o.s.RefreshDays != 30 || o.toRoles[0] != "analyst" || o.toUsers[0] != "bob" || !o.apply || o.adminProfile != "admin" ||
		o.account != "myorg-acct" || o.profileName != "team" || o.onboarding != "o.toml" || o.systemConfig != "s.toml" {
		t.Fatalf("options: %+v %v", o, err)
	}
	if o, err := parsed(t, newAdminSetupCommand, "--integration", "i", "--mcp-server", "d.s.m", "--role", "r"); err != nil ||
		o.clientType != config.ClientPublic || o.s.RedirectURI != "http://127.0.0.1:3000/oauth/callback" || o.s.RefreshDays != 90 || o.apply {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if _, err := parsed(t, newAdminSetupCommand, "--integration", "i", "--role", "r"); err == nil {
		t.Fatal("--mcp-server is required")
	}
}

// Each refusal names the flag and says what to do; nothing is written.
func TestAdminSetupRefusals(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	base := []string{"admin", "setup", "--integration", "sfmcp", "--mcp-server", "db.public.m", "--role", "r"}
	sys := filepath.Join(h.dir, "system.toml")
	for _, tc := range []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"--integration", "", "--sql"}, "admin setup: --integration, --mcp-server and --role are required", "e.g. sfmcp-token admin setup"},
		{[]string{"--sql", "--client-type", "secret"}, `--client-type "secret": use public or confidential`, ""},
		{nil, "admin setup: give at least one tool", ""},
		{[]string{"--sql", "--sql-warehouse", "a.b"}, "admin setup: --sql-warehouse: ", ""},
		{[]string{"--sql", "--grant-to-user", "a.b"}, "admin setup: --grant-to-user: ", ""},
		{[]string{"--sql", "--profile-name", "bad name"}, `admin setup: "bad name" is not a valid profile name`, "pass --profile-name"},
		{[]string{"--sql", "--account", "http://example.com"}, "admin setup: --account: ", "e.g. --account ORGNAME-ACCOUNTNAME"},
		{[]string{"--sql", "--system-config", sys, "--account", "myorg-acct", "--redirect-uri", "http://127.0.0.1/cb"}, "admin setup: --redirect-uri: ", ""},
	} {
		code, _, errOut := h.run("", append(append([]string{}, base...), tc.args...)...)
		if code != exitcode.Usage || !strings.HasPrefix(errOut, "sfmcp: "+tc.msg) || !strings.Contains(errOut, tc.hint) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, errOut)
		}
	}
	if _, err := os.Stat(sys); !os.IsNotExist(err) {
		t.Fatalf("a refused setup wrote the system file: %v", err)
	}
	// An admin profile with a host and no account gives users no account,
	// which makes no system configuration.
	h.mustRun("profile", "add", "hostonly", "--host", "myorg-acct.snowflakecomputing.com")
	code, _, errOut := h.run("", append(base, "--sql", "--system-config", sys, "--admin-profile", "hostonly")...)
	if code != exitcode.Usage || !strings.HasPrefix(errOut, "sfmcp: admin setup: --system-config: ") || !strings.Contains(errOut, "pass --account ORGNAME-ACCOUNTNAME") {
		t.Fatalf("system config without an account: exit %d\n%s", code, errOut)
	}
}

// A confidential client's users are told the secret comes separately.
func TestAdminSetupConfidential(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	out := h.mustRun("admin", "setup", "--integration", "sfmcp", "--mcp-server", "db.public.m", "--role", "r", "--sql", "--client-type", "confidential", "--account", "myorg-acct")
	for _, want := range []string{
		"OAUTH_CLIENT_TYPE = 'CONFIDENTIAL'",
		"--   sfmcp-token setup --profile sfmcp --account myorg-acct --client-id '<OAUTH_CLIENT_ID>' --client-type confidential",
		"-- (setup asks each user for the client secret, which you hand out separately; SFMCP_CLIENT_SECRET also works)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
