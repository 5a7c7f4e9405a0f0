package onboard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
)

const okta = "https://example.okta.com/oauth2/aus1"

// fromURL is the MCP server DB.S.M of myorg-acct as discovered, taking
// tokens from as and advertising scopes.
func fromURL(t *testing.T, as string, scopes ...string) *FromURL {
	t.Helper()
	a, err := config.ParseMCPServerURL("https://myorg-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/S/mcp-servers/M")
	if err != nil {
		t.Fatal(err)
	}
	return &FromURL{Address: a, Resource: idp.Resource{URL: a.URL, AuthorizationServers: []string{as}, Scopes: scopes}}
}

// setup --url: the profile is on the server's host and for it, signs in
// where the server takes tokens from, and at an identity provider the
// user did not name only with the user's or the system file's yes.
func TestNewFromURL(t *testing.T) {
	snowflake := fromURL(t, "https://myorg-acct.snowflakecomputing.com", "session:role:MCP_USERS")
	bound := fromURL(t, okta, "session:role:MCP_USERS")
	allow := func(issuer string) string { return "[managed]\nallowed_issuers = [\"" + issuer + "\"]\n" }
	for _, tc := range []struct {
		name         string
		s            setting
		issuer, role string
		client       string
		asked        []string
		err          string
	}{
		{"Snowflake's own OAuth", setting{req: Request{URL: snowflake}}, "", "MCP_USERS", "LOCAL_APPLICATION", nil, ""},
		{"a role given wins", setting{req: Request{URL: snowflake, Given: config.Onboarding{Role: "ANALYST"}}}, "", "ANALYST", "LOCAL_APPLICATION", nil, ""},
		{"an identity provider, nobody to ask", setting{req: Request{URL: bound, Given: config.Onboarding{ClientID: "0oa1"}}},
			"", "", "", nil, "which you did not name"},
		{"an identity provider, the user says no", setting{req: Request{URL: bound, Given: config.Onboarding{ClientID: "0oa1"}}, ask: Ask{TrustIssuer: trusts(false)}},
			"", "", "", []string{"trust " + okta}, "which you did not name"},
		{"an identity provider, the user says yes", setting{req: Request{URL: bound}, ask: Ask{TrustIssuer: trusts(true), ClientID: func(context.Context, string) (string, error) { return "0oa1", nil }}},
			okta, "MCP_USERS", "0oa1", []string{"trust " + okta, "client id"}, ""},
		{"the issuer given is the user's word", setting{req: Request{URL: bound, Issuer: okta, Given: config.Onboarding{ClientID: "0oa1"}}},
			okta, "MCP_USERS", "0oa1", nil, ""},
		{"another issuer given", setting{req: Request{URL: bound, Issuer: "https://evil.example", Given: config.Onboarding{ClientID: "0oa1"}}},
			"", "", "", nil, "takes tokens from " + okta},
		{"allowed by the system file", setting{system: allow(okta), req: Request{URL: bound, Given: config.Onboarding{ClientID: "0oa1"}}, ask: Ask{TrustIssuer: trusts(false)}},
			okta, "MCP_USERS", "0oa1", nil, ""},
		{"not allowed by the system file", setting{system: allow("https://other.okta.com"), req: Request{URL: bound, Given: config.Onboarding{ClientID: "0oa1"}},
			ask: Ask{TrustIssuer: trusts(true)}}, "", "", "", nil, "allows signing in only at https://other.okta.com"},
		{"no client id", setting{req: Request{URL: bound, Issuer: okta}}, "", "", "", nil, "needs the client id"},
		{"an account on another host", setting{req: Request{URL: snowflake, Given: config.Onboarding{Account: "myorg-other"}}}, "", "", "", nil, "is not profile snowflake's host"},
		{"an existing profile that signs in elsewhere", setting{profiles: []config.Profile{{Name: "snowflake", Account: "myorg-acct", Role: "MCP_USERS"}},
			req: Request{URL: bound, Issuer: okta, Given: config.Onboarding{ClientID: "0oa1"}}}, "", "", "", nil, "sign-in at Snowflake, not " + okta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, asked, err := tc.s.run(t)
			if !slices.Equal(asked, tc.asked) {
				t.Errorf("asked %q; want %q", asked, tc.asked)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v; want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := plan.Profile
			if p.Issuer != tc.issuer || p.Role != tc.role || p.EffectiveClientID() != tc.client || p.Account != "myorg-acct" || p.Host != "" ||
				!slices.Equal(p.MCPServers, []string{"DB.S.M"}) || plan.Server != "DB.S.M" || !plan.NewProfile {
				t.Errorf("planned %+v, server %q", p, plan.Server)
			}
		})
	}
}

// The refusals are typed, for setup to word.
func TestTrustIssuerErrors(t *testing.T) {
	cfg, err := config.Load(t.TempDir() + "/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	var untrusted *UntrustedIssuerError
	if err := TrustIssuer(context.Background(), cfg, okta, nil); !errors.As(err, &untrusted) || untrusted.Issuer != okta ||
		!strings.Contains(err.Error(), "example.okta.com") {
		t.Errorf("nobody to ask: %v", err)
	}
	if err := TrustIssuer(context.Background(), cfg, okta, trusts(true)); err != nil {
		t.Errorf("a yes: %v", err)
	}
}
