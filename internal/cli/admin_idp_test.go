//go:build unix

package cli

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// adminSignedIn adds profile admin on the stand-in, as alice working as
// SFMCP_ADMIN (which may create integrations and alter databases and
// schemas, not the account), signs it in and starts the daemon.
func adminSignedIn(h *harness) {
	h.t.Helper()
	h.sf.AddUser(snowflaketest.User{Name: "alice", Password: snowflaketest.DefaultPassword, DefaultRole: "MCP_USERS",
		Roles: []string{"MCP_USERS", "PUBLIC", "SFMCP_ADMIN"}})
	h.mustRun("profile", "add", "admin", "--account", "myorg-myaccount", "--host", h.sf.Host(), "--role", "SFMCP_ADMIN")
	h.mustRun("login", "admin")
	h.startDaemon()
}

// --apply runs the External OAuth setup through the SQL API with the admin
// profile's token: afterwards the stand-in has the integration and the
// MCP server's schema is bound to it; a binding the admin role may not
// set is refused with the statement named, and nothing is reported ready.
func TestAdminSetupIdPApply(t *testing.T) {
	h := newHarness(t, signInOpts)
	adminSignedIn(h)
	args := []string{"admin", "setup", "--apply", "--admin-profile", "admin", "--integration", "okta_mcp", "--mcp-server", "DB.PUBLIC.GONG_MCP",
		"--role", "MCP_USERS", "--sql", "--idp", "okta", "--issuer", "https://example.okta.com/oauth2/aus123",
		"--audience", "https://myorg-myaccount.snowflakecomputing.com", "--client-id", "0oa123"}
	out := h.mustRun(args...)
	for _, want := range []string{
		"✓ the External OAuth integration: Snowflake takes the tokens of https://example.okta.com/oauth2/aus123\n",
		"✓ the MCP servers of schema DB.PUBLIC take tokens from https://example.okta.com/oauth2/aus123 only (OAUTH_AUTHORIZATION_SERVER)\n",
		"✓ the scopes MCP clients discover and request (OAUTH_SCOPES_SUPPORTED)\n",
		"Integration OKTA_MCP is ready; the MCP server DB.PUBLIC.GONG_MCP takes tokens from https://example.okta.com/oauth2/aus123 only.\n",
		"  sfmcp-token profile add okta_mcp --account myorg-myaccount --issuer https://example.okta.com/oauth2/aus123 --idp okta",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	x, ok := h.sf.ExternalOAuthIntegration("OKTA_MCP")
	if !ok || x.Type != "OKTA" || x.Issuer != "https://example.okta.com/oauth2/aus123" || x.JWKSURL != "https://example.okta.com/oauth2/aus123/v1/keys" ||
		!slices.Equal(x.AudienceList, []string{"https://myorg-myaccount.snowflakecomputing.com"}) || x.UserClaim != "sub" || x.UserAttribute != "LOGIN_NAME" {
		t.Fatalf("integration at the stand-in: %+v %v", x, ok)
	}
	if got := h.sf.EffectiveParameter("DB", "PUBLIC", snowflaketest.ParamAuthorizationServer); got != "OKTA_MCP" {
		t.Fatalf("OAUTH_AUTHORIZATION_SERVER = %q", got)
	}
	if got := h.sf.EffectiveParameter("DB", "PUBLIC", snowflaketest.ParamScopesSupported); got != "session:role:MCP_USERS,offline_access" {
		t.Fatalf("OAUTH_SCOPES_SUPPORTED = %q", got)
	}
	// ALTER ACCOUNT takes ACCOUNTADMIN.
	code, out, errOut := h.run("", append(args[:len(args):len(args)], "--integration", "okta_acct", "--issuer", "https://example.okta.com/oauth2/aus456", "--bind", "account")...)
	if code == 0 || !strings.Contains(errOut, "(the MCP servers of the account take tokens from https://example.okta.com/oauth2/aus456 only (OAUTH_AUTHORIZATION_SERVER)) failed") ||
		!strings.Contains(errOut, "003001") || strings.Contains(out, "is ready") {
		t.Fatalf("account binding without ACCOUNTADMIN: exit %d\n%s%s", code, out, errOut)
	}
	if got := h.sf.EffectiveParameter("DB", "OTHER", snowflaketest.ParamAuthorizationServer); got != "" {
		t.Fatalf("the account was bound: %q", got)
	}
}

// The whole way, with a real OpenID provider: the administrator applies
// the setup and hands out the onboarding file; the bound MCP server now
// refuses Snowflake's tokens; a user's setup --from that file makes an
// IdP profile, signs in at the provider, and the provider's token calls
// the server.
func TestAdminSetupIdPThenUserSetup(t *testing.T) {
	idp := idptest.Start(t, idptest.Options{IssuerPath: "/oauth2/aus123"})
	h := newHarness(t, signInOpts)
	adminSignedIn(h)
	onb := filepath.Join(h.dir, "onboard.toml")
	redirect := "http://127.0.0.1:" + freePort(t) + "/callback"
	h.mustRun("admin", "setup", "--apply", "--admin-profile", "admin", "--integration", "corp_idp", "--profile-name", "corp",
		"--mcp-server", "DB.PUBLIC.GONG_MCP", "--role", "MCP_USERS", "--sql", "--idp", "okta", "--issuer", idp.Issuer, "--jwks-url", idp.JWKSURL,
		"--audience", idp.Audience, "--client-id", idp.ClientID, "--redirect-uri", redirect, "--onboarding-file", onb)
	if code := mcpInitialize(t, h, daemonAccessToken(t, h, "admin")); code != http.StatusUnauthorized {
		t.Fatalf("the bound MCP server answered a Snowflake OAuth token with HTTP %d", code)
	}
	h.sf.AddUser(snowflaketest.User{Name: "ALICE_CORP", LoginName: "alice@example.com", Roles: []string{"MCP_USERS"}, DefaultRole: "MCP_USERS"})
	h.open = idpBrowser(t, idp, "alice@example.com")
	// A handout from anywhere may name any issuer: without a terminal,
	// setup signs in there only when the user names it, as the
	// administrator's command does.
	if code, _, errOut := h.run("", "setup", "--from", onb, "--host", h.sf.Host()); code != 2 || !strings.Contains(errOut, "which you did not name") {
		t.Fatalf("setup --from an IdP file without the issuer: exit %d\n%s", code, errOut)
	}
	code, out, errOut := h.run("", "setup", "--from", onb, "--host", h.sf.Host(), "--issuer", idp.Issuer)
	if code != 0 {
		t.Fatalf("setup --from the onboarding file: exit %d\n%s%s", code, out, errOut)
	}
	cfg, err := config.Load(h.env["SFMCP_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles["corp"]
	if p.Issuer != idp.Issuer || p.IdP != "okta" || p.Audience != idp.Audience || p.ClientID != idp.ClientID || p.RedirectURI != redirect || p.Role != "MCP_USERS" {
		t.Fatalf("profile corp: %+v\n%s%s", p, out, errOut)
	}
	if code := mcpInitialize(t, h, daemonAccessToken(t, h, "corp")); code != http.StatusOK {
		t.Fatalf("the bound MCP server answered the provider's token with HTTP %d\n%s%s", code, out, errOut)
	}
	if s := idp.Stats(t); s.CodesExchanged != 1 {
		t.Errorf("the provider saw %+v; want one sign-in", s)
	}
}
