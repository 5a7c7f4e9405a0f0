package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/adminsetup"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflake"
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

// admin setup --idp prints the External OAuth integration and the binding,
// says what the identity provider's administrator registers and what is
// unverified, and hands users a profile that signs in at the issuer.
func TestAdminSetupIdPPrints(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	file := filepath.Join(h.dir, "onboard.toml")
	base := []string{"admin", "setup", "--integration", "okta_mcp", "--mcp-server", "db.public.gong_mcp", "--role", "mcp_users", "--sql",
		"--idp", "okta", "--issuer", "https://example.okta.com/oauth2/aus123", "--audience", "https://myorg-acct.snowflakecomputing.com",
		"--account", "myorg-acct"}
	out := h.mustRun(append(base, "--client-id", "0oa123")...)
	for _, want := range []string{
		"-- Users sign in at https://example.okta.com/oauth2/aus123 (okta); Snowflake takes its tokens through External OAuth.\n",
		"-- the redirect URI http://127.0.0.1:8000/callback; the authorization code and refresh token grants;\n",
		"CREATE SECURITY INTEGRATION IF NOT EXISTS OKTA_MCP\n  TYPE = EXTERNAL_OAUTH\n",
		"EXTERNAL_OAUTH_JWS_KEYS_URL = 'https://example.okta.com/oauth2/aus123/v1/keys'",
		"EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = 'sub'",
		"-- [UNVERIFIED] Snowflake's release note of 22 July 2026 names OAUTH_AUTHORIZATION_SERVER",
		"ALTER SCHEMA DB.PUBLIC SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_MCP';",
		"ALTER SCHEMA DB.PUBLIC SET OAUTH_SCOPES_SUPPORTED = 'session:role:MCP_USERS,offline_access';",
		"SHOW PARAMETERS LIKE 'OAUTH_AUTHORIZATION_SERVER' IN SCHEMA DB.PUBLIC;",
		"--   sfmcp-token profile add okta_mcp --account myorg-acct --issuer https://example.okta.com/oauth2/aus123 --idp okta " +
			"--audience https://myorg-acct.snowflakecomputing.com --client-id 0oa123 --client-type public --redirect-uri http://127.0.0.1:8000/callback --role MCP_USERS\n",
		"--   sfmcp-token setup --profile okta_mcp --server db.public.gong_mcp\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "sfmcp-token") {
			t.Errorf("uncommented shell line in the SQL output: %q", line)
		}
	}
	if strings.Contains(out, "SHOW_OAUTH_CLIENT_SECRETS") {
		t.Error("an External OAuth integration has no client secrets to show")
	}
	// Entra ID, bound at the database, the handout in a file.
	out = h.mustRun("admin", "setup", "--integration", "entra_mcp", "--mcp-server", "db.public.gong_mcp", "--role", "mcp_users", "--sql",
		"--idp", "entra", "--issuer", "https://login.microsoftonline.com/tenant-1/v2.0", "--audience", "api://12345678-1234-1234-1234-123456789abc",
		"--bind", "database", "--user-attribute", "email_address", "--account", "myorg-acct", "--onboarding-file", file)
	for _, want := range []string{
		"EXTERNAL_OAUTH_TYPE = AZURE",
		"EXTERNAL_OAUTH_JWS_KEYS_URL = 'https://login.microsoftonline.com/tenant-1/discovery/v2.0/keys'",
		"EXTERNAL_OAUTH_AUDIENCE_LIST = ('api://12345678-1234-1234-1234-123456789abc', '12345678-1234-1234-1234-123456789abc')",
		"EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = 'EMAIL_ADDRESS'",
		"ALTER DATABASE DB SET OAUTH_SCOPES_SUPPORTED = 'api://12345678-1234-1234-1234-123456789abc/session:scope:MCP_USERS,offline_access';",
		"--   sfmcp-token setup --from onboard.toml --issuer https://login.microsoftonline.com/tenant-1/v2.0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("entra output lacks %q:\n%s", want, out)
		}
	}
	// Until the administrator fills in the client id, setup refuses the file.
	o, err := config.LoadOnboarding(file)
	if err == nil || !strings.Contains(err.Error(), `client_id is a placeholder, "<IDP_CLIENT_ID>"`) || o.Issuer != "https://login.microsoftonline.com/tenant-1/v2.0" || o.IdP != "entra" || o.Audience != "api://12345678-1234-1234-1234-123456789abc" ||
		o.ClientID != "<IDP_CLIENT_ID>" || o.RedirectURI != config.DefaultIdPRedirect || o.Role != "MCP_USERS" {
		t.Fatalf("onboarding file: %+v %v", o, err)
	}
}

// The identity provider's flags are refused without one, and each bad
// value names its flag.
func TestAdminSetupIdPRefusals(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	base := []string{"admin", "setup", "--integration", "x", "--mcp-server", "db.public.m", "--role", "r", "--sql"}
	okta := []string{"--idp", "okta", "--issuer", "https://example.okta.com/oauth2/aus123", "--audience", "https://myorg-acct.snowflakecomputing.com"}
	for _, tc := range []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"--audience", "x"}, "admin setup: --audience is for an identity provider's integration: give --idp and --issuer too", "e.g. --idp okta"},
		{[]string{"--bind", "account"}, "admin setup: --bind is for an identity provider's integration", ""},
		{[]string{"--any-role"}, "admin setup: --any-role is for an identity provider's integration", ""},
		{append([]string{"--refresh-days", "30"}, okta...), "admin setup: --refresh-days: the identity provider decides", ""},
		{[]string{"--idp", "okta", "--audience", "a"}, "admin setup: --issuer: the identity provider's issuer is required", ""},
		{[]string{"--idp", "auth0", "--issuer", "https://a.example", "--audience", "a"}, `admin setup: --idp: identity provider "auth0"`, ""},
		{[]string{"--idp", "okta", "--issuer", "https://example.okta.com/oauth2/aus123"}, "admin setup: --audience: the token audience is required", ""},
		{[]string{"--idp", "ping", "--issuer", "https://sso.example", "--audience", "a"}, "admin setup: --jwks-url: a ping identity provider needs", ""},
		{append([]string{"--bind", "table"}, okta...), `admin setup: --bind: "table": use account, database or schema`, ""},
		{append([]string{"--user-attribute", "name"}, okta...), `admin setup: --user-attribute: "NAME": use LOGIN_NAME or EMAIL_ADDRESS`, ""},
		{append([]string{"--user-claim", "sub'--"}, okta...), `admin setup: --user-claim: "sub'--" is not a claim name`, ""},
		{append([]string{"--redirect-uri", "https://evil.example/cb"}, okta...), "admin setup: --redirect-uri: ", ""},
		{[]string{"--idp", "okta", "--issuer", "http://example.okta.com/oauth2/x", "--audience", "a"}, "admin setup: --issuer: ", ""},
	} {
		code, _, errOut := h.run("", append(append([]string{}, base...), tc.args...)...)
		if code != exitcode.Usage || !strings.HasPrefix(errOut, "sfmcp: "+tc.msg) || !strings.Contains(errOut, tc.hint) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, errOut)
		}
	}
}

// The identity provider's flags reach the options; the redirect URI and
// refresh days then count only when given.
func TestAdminSetupIdPOptions(t *testing.T) {
	o, err := parsed(t, newAdminSetupCommand, "--integration", "i", "--mcp-server", "d.s.m", "--role", "r", "--idp", "entra", "--issuer", "https://is",
		"--audience", "api://a", "--audience", "b", "--jwks-url", "https://keys", "--user-claim", "email", "--user-attribute", "EMAIL_ADDRESS",
		"--bind", "account", "--any-role", "--client-id", "cid")
	want := adminsetup.IdP{Kind: "entra", Issuer: "https://is", Audiences: []string{"api://a", "b"}, JWKSURL: "https://keys", UserClaim: "email",
		UserAttribute: "EMAIL_ADDRESS", Bind: "account", AnyRole: true, ClientID: "cid"}
	if err != nil || !reflect.DeepEqual(o.idp, want) {
		t.Fatalf("options: %+v %v", o.idp, err)
	}
	req, err := o.request()
	if err != nil || req.IdP == nil || req.Setup.RedirectURI != "" || req.Setup.RefreshDays != 0 {
		t.Fatalf("request: %+v %v", req, err)
	}
	o, _ = parsed(t, newAdminSetupCommand, "--integration", "i", "--mcp-server", "d.s.m", "--role", "r", "--issuer", "https://is",
		"--redirect-uri", "http://127.0.0.1:9000/cb")
	if req, err := o.request(); err != nil || req.IdP == nil || req.IdP.Bind != "schema" || req.Setup.RedirectURI != "http://127.0.0.1:9000/cb" {
		t.Fatalf("--issuer alone, a redirect given: %+v %v", req, err)
	}
	o, _ = parsed(t, newAdminSetupCommand, "--integration", "i", "--mcp-server", "d.s.m", "--role", "r")
	if req, err := o.request(); err != nil || req.IdP != nil || req.Setup.RedirectURI != snowflake.DefaultRedirectURI || req.Setup.RefreshDays != 90 {
		t.Fatalf("Snowflake OAuth: %+v %v", req, err)
	}
}
