package adminsetup

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/internal/version"
)

const (
	oktaIssuer  = "https://example.okta.com/oauth2/aus123"
	accountURL  = "https://myorg-acct.snowflakecomputing.com"
	entraApp    = "api://12345678-1234-1234-1234-123456789abc"
	entraIssuer = "https://login.microsoftonline.com/tenant-1/v2.0"
)

func oktaRequest() Request {
	return Request{Setup: setup(), IdP: &IdP{Kind: "okta", Issuer: oktaIssuer, Audiences: []string{accountURL}, ClientID: "0oa123"}}
}

// Each kind's defaults, after Snowflake's guide for it; what a kind
// without defaults must be given; what users request.
func TestIdPDefaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		idp       IdP
		role      string
		want      snowflake.ExternalOAuth
		wantScope []string
	}{
		{"okta", IdP{Kind: "okta", Issuer: oktaIssuer, Audiences: []string{accountURL}}, "MCP_USERS",
			snowflake.ExternalOAuth{Type: "OKTA", JWKSURL: oktaIssuer + "/v1/keys", Audiences: []string{accountURL}, UserClaim: "sub", UserAttribute: "LOGIN_NAME"},
			[]string{"session:role:MCP_USERS", "offline_access"}},
		{"okta from the issuer's host, any role", IdP{Issuer: oktaIssuer + "/", Audiences: []string{accountURL}, AnyRole: true}, "MCP_USERS",
			snowflake.ExternalOAuth{Type: "OKTA", JWKSURL: oktaIssuer + "/v1/keys", Audiences: []string{accountURL}, UserClaim: "sub", UserAttribute: "LOGIN_NAME", AnyRole: true},
			[]string{"session:role-any", "offline_access"}},
		{"entra v2: the app's client id is an audience too", IdP{Kind: "entra", Issuer: entraIssuer, Audiences: []string{entraApp}}, "MCP_USERS",
			snowflake.ExternalOAuth{Type: "AZURE", JWKSURL: "https://login.microsoftonline.com/tenant-1/discovery/v2.0/keys",
				Audiences: []string{entraApp, "12345678-1234-1234-1234-123456789abc"}, UserClaim: "upn", UserAttribute: "LOGIN_NAME"},
			[]string{entraApp + "/session:scope:MCP_USERS", "offline_access"}},
		{"entra v1, email addresses", IdP{Kind: "entra", Issuer: "https://sts.windows.net/tenant-1/", Audiences: []string{"api://custom"},
			UserAttribute: "email_address"}, "MCP_USERS",
			snowflake.ExternalOAuth{Type: "AZURE", JWKSURL: "https://login.microsoftonline.com/tenant-1/discovery/v2.0/keys",
				Audiences: []string{"api://custom"}, UserClaim: "upn", UserAttribute: "EMAIL_ADDRESS"},
			[]string{"api://custom/session:scope:MCP_USERS", "offline_access"}},
		{"custom, all given", IdP{Kind: "custom", Issuer: "https://idp.example", Audiences: []string{accountURL}, JWKSURL: "https://idp.example/jwks",
			UserClaim: "email", UserAttribute: "EMAIL_ADDRESS", Bind: "account"}, "R",
			snowflake.ExternalOAuth{Type: "CUSTOM", JWKSURL: "https://idp.example/jwks", Audiences: []string{accountURL}, UserClaim: "email",
				UserAttribute: "EMAIL_ADDRESS", Bind: "account"},
			[]string{"session:role:R", "offline_access"}},
		{"ping", IdP{Kind: "PING", Issuer: "https://sso.example", Audiences: []string{accountURL}, JWKSURL: "https://sso.example/pf/JWKS",
			UserClaim: "sub", UserAttribute: "LOGIN_NAME"}, "R",
			snowflake.ExternalOAuth{Type: "PING_FEDERATE", JWKSURL: "https://sso.example/pf/JWKS", Audiences: []string{accountURL}, UserClaim: "sub", UserAttribute: "LOGIN_NAME"},
			[]string{"session:role:R", "offline_access"}},
	} {
		d, err := tc.idp.resolve()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		x, scopes, err := d.external(tc.role)
		tc.want.Issuer, tc.want.Scopes = tc.idp.Issuer, tc.wantScope
		if err != nil || x.Type != tc.want.Type || x.JWKSURL != tc.want.JWKSURL || !slices.Equal(x.Audiences, tc.want.Audiences) ||
			x.UserClaim != tc.want.UserClaim || x.UserAttribute != tc.want.UserAttribute || x.AnyRole != tc.want.AnyRole ||
			x.Bind != tc.want.Bind || x.Issuer != tc.want.Issuer || !slices.Equal(x.Scopes, tc.wantScope) || !slices.Equal(scopes, tc.wantScope) {
			t.Errorf("%s:\n got %+v (%v)\nwant %+v", tc.name, x, err, tc.want)
		}
	}
}

func TestIdPRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		mod         func(*Request)
	}{
		{"no issuer", "issuer", func(r *Request) { r.IdP.Issuer = "" }},
		{"unknown kind", "idp", func(r *Request) { r.IdP.Kind = "auth0" }},
		{"no audience", "audience", func(r *Request) { r.IdP.Audiences = nil }},
		{"Okta's org authorization server", "issuer", func(r *Request) { r.IdP.Issuer = "https://example.okta.com" }},
		{"Entra without the Application ID URI", "audience", func(r *Request) { r.IdP.Kind, r.IdP.Audiences = "entra", []string{""} }},
		{"Entra outside Microsoft's hosts: keys needed", "jwks_url", func(r *Request) { r.IdP.Kind, r.IdP.Issuer = "entra", "https://x.ciamlogin.com/t/v2.0" }},
		{"custom without keys", "jwks_url", func(r *Request) { r.IdP.Kind = "custom" }},
		{"custom without a user claim", "user_claim", func(r *Request) { r.IdP.Kind, r.IdP.JWKSURL = "custom", "https://idp.example/keys" }},
		{"ping without an attribute", "user_attribute", func(r *Request) {
			r.IdP.Kind, r.IdP.JWKSURL, r.IdP.UserClaim = "ping", "https://idp.example/keys", "sub"
		}},
		{"a role no scope can name", "role", func(r *Request) { r.Setup.Role = `"Team Role"` }},
		{"a client id with a space", "client_id", func(r *Request) { r.IdP.ClientID = "0oa 1" }},
		{"a bad bind", "bind", func(r *Request) { r.IdP.Bind = "table" }},
		{"refresh days are the IdP's", "refresh_days", func(r *Request) { r.Setup.RefreshDays = 30 }},
		{"a redirect URI that is not loopback", "redirect_uri", func(r *Request) { r.Setup.RedirectURI = "https://evil.example/cb" }},
	} {
		r := oktaRequest()
		d := *r.IdP
		r.IdP = &d
		tc.mod(&r)
		_, err := New(r)
		var fe *snowflake.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want a %s field error", tc.name, err, tc.field)
		}
	}
	// A role that can be a scope but must be quoted in SQL is fine.
	r := oktaRequest()
	r.Setup.Role = `"mcp-users"`
	if p, err := New(r); err != nil || !slices.Equal(p.Scopes, []string{"session:role:mcp-users", "offline_access"}) {
		t.Errorf("quoted role: %v %v", p, err)
	}
}

// The printed script: what the IdP's administrator registers and what is
// unverified first, the binding check last, no client secret query.
func TestIdPScript(t *testing.T) {
	p, err := New(oktaRequest())
	if err != nil {
		t.Fatal(err)
	}
	script := p.Script()
	for _, want := range []string{
		"-- Users sign in at " + oktaIssuer + " (okta); Snowflake takes its tokens through External OAuth.\n",
		"(docs/idp-okta.md in sfmcp's documentation)",
		"-- the redirect URI http://127.0.0.1:8000/callback; the authorization code and refresh token grants;\n",
		"-- the scopes session:role:MCP_USERS offline_access; tokens whose audience is " + accountURL + ".\n",
		"-- [UNVERIFIED] the form of OAUTH_AUTHORIZATION_SERVER's and OAUTH_SCOPES_SUPPORTED's values",
		snowflake.Script(p.Statements),
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if !strings.HasSuffix(script, "SHOW PARAMETERS LIKE 'OAUTH_AUTHORIZATION_SERVER' IN SCHEMA DB.PUBLIC;\n\n") || strings.Contains(script, "SHOW_OAUTH_CLIENT_SECRETS") {
		t.Errorf("script's end:\n%s", script)
	}
	if p.ClientID() != "0oa123" {
		t.Errorf("client id %q", p.ClientID())
	}
	p.IdP.ClientID = ""
	if p.ClientID() != PlaceholderIdPClientID {
		t.Errorf("placeholder %q", p.ClientID())
	}
}

// --apply against the stand-in: the integration and the binding exist
// afterwards, at the level asked for, and the binding is read back.
func TestIdPApply(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	api := adminAPI(t, sf)
	for i, bind := range []string{snowflake.BindSchema, snowflake.BindDatabase, snowflake.BindAccount} {
		r := oktaRequest()
		r.Setup.Integration = []string{"okta_schema", "okta_db", "okta_account"}[i]
		r.Setup.MCPServer = []string{"db1.s.m", "db2.s.m", "db3.s.m"}[i]
		r.IdP.Issuer = oktaIssuer + bind // one integration per issuer
		r.IdP.Bind = bind
		p, err := New(r)
		if err != nil {
			t.Fatal(err)
		}
		var done int
		if c, err := p.Apply(context.Background(), api, func(snowflake.Statement) { done++ }); err != nil || c.ID != "" || done != len(p.Statements) {
			t.Fatalf("%s: apply: %v, %d of %d statements", bind, err, done, len(p.Statements))
		}
		x, ok := sf.ExternalOAuthIntegration(r.Setup.Integration)
		if !ok || x.Type != "OKTA" || x.Issuer != r.IdP.Issuer || x.JWKSURL != r.IdP.Issuer+"/v1/keys" || !slices.Equal(x.AudienceList, []string{accountURL}) ||
			x.UserClaim != "sub" || x.UserAttribute != "LOGIN_NAME" || x.AnyRoleMode || !slices.Equal(x.BlockedRoles, snowflake.BlockedRoles) {
			t.Fatalf("%s: integration %+v %v", bind, x, ok)
		}
		db := strings.ToUpper(strings.Split(r.Setup.MCPServer, ".")[0])
		if got := sf.EffectiveParameter(db, "S", snowflaketest.ParamAuthorizationServer); got != strings.ToUpper(r.Setup.Integration) {
			t.Fatalf("%s: OAUTH_AUTHORIZATION_SERVER = %q", bind, got)
		}
		if got := sf.EffectiveParameter(db, "S", snowflaketest.ParamScopesSupported); got != "session:role:MCP_USERS,offline_access" {
			t.Fatalf("%s: OAUTH_SCOPES_SUPPORTED = %q", bind, got)
		}
		// Bound where asked, not lower: another schema of the database
		// inherits a database binding only.
		other := sf.EffectiveParameter(db, "OTHER", snowflaketest.ParamAuthorizationServer)
		if (bind == snowflake.BindSchema) != (other != strings.ToUpper(r.Setup.Integration)) {
			t.Fatalf("%s: another schema's binding %q", bind, other)
		}
	}
}

// A binding set lower down wins over the one asked for: apply says so
// rather than report a setup that does not hold.
func TestIdPApplyBindingOverridden(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	if err := sf.AddExternalOAuth(snowflaketest.ExternalOAuth{Name: "OTHER_IDP", Issuer: "https://other.example", JWKSURL: "https://other.example/keys"}); err != nil {
		t.Fatal(err)
	}
	if err := sf.BindAuthorizationServer(snowflaketest.Level{Database: "DB", Schema: "PUBLIC"}, "OTHER_IDP"); err != nil {
		t.Fatal(err)
	}
	r := oktaRequest()
	r.IdP.Bind = snowflake.BindDatabase
	p, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Apply(context.Background(), adminAPI(t, sf), nil)
	if !errors.Is(err, snowflake.ErrBindingNotEffective) || !strings.Contains(err.Error(), `reads "OTHER_IDP" (set at schema), not SFMCP_TEAM`) {
		t.Fatalf("apply: %v", err)
	}
}

// The handouts carry the IdP profile, never a secret; read back, they
// make a profile that signs in at the identity provider.
func TestIdPHandoutRoundTrip(t *testing.T) {
	r := oktaRequest()
	r.Account = "myorg-acct"
	p, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handout(nil, "", p.ClientID())
	want := config.Onboarding{Profile: "sfmcp_team", Account: "myorg-acct", ClientID: "0oa123", ClientType: config.ClientPublic,
		RedirectURI: config.DefaultIdPRedirect, Role: "MCP_USERS", MCPServer: "db.public.team_mcp", Issuer: oktaIssuer, IdP: "okta", Audience: accountURL}
	if h != want {
		t.Fatalf("handout:\n%+v\nwant\n%+v", h, want)
	}
	dir := t.TempDir()
	onboarding := filepath.Join(dir, "onb.toml")
	if err := WriteOnboarding(onboarding, h); err != nil {
		t.Fatal(err)
	}
	got, err := config.LoadOnboarding(onboarding)
	if err != nil || got != h {
		t.Fatalf("read back: %+v %v", got, err)
	}
	if prof := got.AsProfile("corp"); !prof.IsIdP() || prof.Issuer != oktaIssuer || prof.IdP != "okta" || prof.Audience != accountURL ||
		prof.ClientID != "0oa123" || prof.Confidential() || prof.LoginRedirect() != config.DefaultIdPRedirect || prof.Validate() != nil {
		t.Fatalf("profile from the file: %+v %v", prof, prof.Validate())
	}
	system := filepath.Join(dir, "system.toml")
	if err := WriteSystemConfig(system, h); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadLayered(system, filepath.Join(dir, "user.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if prof, err := cfg.Profile(""); err != nil || prof.Name != "sfmcp_team" || prof.Issuer != oktaIssuer || prof.IdP != "okta" || prof.Audience != accountURL {
		t.Fatalf("system profile: %+v %v", prof, err)
	}
	// With any role, users' profiles name none: the token asks for session:role-any.
	r.IdP.AnyRole = true
	p, _ = New(r)
	if h := p.Handout(nil, "", p.ClientID()); h.Role != "" {
		t.Fatalf("any role: role %q in the handout", h.Role)
	}
}

func adminAPI(t *testing.T, sf *snowflaketest.Server) *snowflake.Client {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "rsa_key.p8")
	if err := sf.KeyPairFile("alice", keyFile); err != nil {
		t.Fatal(err)
	}
	key, err := snowflake.LoadPrivateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &snowflake.Client{BaseURL: sf.URL, HTTPClient: sf.Client(), Creds: &snowflake.KeyPair{Account: "myorg-acct", User: "alice", Key: key},
		UserAgent: "sfmcp/" + version.String(), Role: "ACCOUNTADMIN"}
}
