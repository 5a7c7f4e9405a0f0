package snowflake

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func oktaSetup() Setup {
	return Setup{Integration: "okta_mcp", MCPServer: "db.public.gong_mcp", Role: "mcp_users", Tools: []Tool{{Type: ToolSQL}},
		RedirectURI: "http://127.0.0.1:8000/callback",
		External: &ExternalOAuth{Type: ExternalOkta, Issuer: "https://example.okta.com/oauth2/aus123",
			JWKSURL: "https://example.okta.com/oauth2/aus123/v1/keys", Audiences: []string{"https://myorg-acct.snowflakecomputing.com"},
			UserClaim: "sub", UserAttribute: AttributeLoginName, Scopes: []string{"session:role:MCP_USERS", "offline_access"}}}
}

// The External OAuth integration has every property Snowflake requires,
// each value a literal or a keyword from a fixed set; the binding comes
// last, at the level asked for, with the integration's name as a string.
func TestExternalOAuthStatements(t *testing.T) {
	s := oktaSetup()
	stmts, err := s.Statements()
	if err != nil {
		t.Fatal(err)
	}
	want := `CREATE SECURITY INTEGRATION IF NOT EXISTS OKTA_MCP
  TYPE = EXTERNAL_OAUTH
  ENABLED = TRUE
  EXTERNAL_OAUTH_TYPE = OKTA
  EXTERNAL_OAUTH_ISSUER = 'https://example.okta.com/oauth2/aus123'
  EXTERNAL_OAUTH_JWS_KEYS_URL = 'https://example.okta.com/oauth2/aus123/v1/keys'
  EXTERNAL_OAUTH_AUDIENCE_LIST = ('https://myorg-acct.snowflakecomputing.com')
  EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = 'sub'
  EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = 'LOGIN_NAME'
  EXTERNAL_OAUTH_ANY_ROLE_MODE = DISABLE
  EXTERNAL_OAUTH_BLOCKED_ROLES_LIST = ('ACCOUNTADMIN', 'SECURITYADMIN', 'ORGADMIN')
  COMMENT = 'sfmcp: Snowflake MCP access through https://example.okta.com/oauth2/aus123'`
	if stmts[0].SQL != want {
		t.Fatalf("integration:\n%s\nwant\n%s", stmts[0].SQL, want)
	}
	if got := sqlOf(stmts[len(stmts)-2:]); !slices.Equal(got, []string{
		"ALTER SCHEMA DB.PUBLIC SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_MCP'",
		"ALTER SCHEMA DB.PUBLIC SET OAUTH_SCOPES_SUPPORTED = 'session:role:MCP_USERS,offline_access'",
	}) {
		t.Fatalf("binding: %q", got)
	}
	script := Script(stmts)
	if !strings.Contains(script, "-- [UNVERIFIED] Snowflake's release note of 22 July 2026 names OAUTH_AUTHORIZATION_SERVER") ||
		!strings.Contains(script, "-- [UNVERIFIED] which scopes OAUTH_SCOPES_SUPPORTED accepts") {
		t.Errorf("the script does not say what is unverified:\n%s", script)
	}
	if s.BindingSQL() != "SHOW PARAMETERS LIKE 'OAUTH_AUTHORIZATION_SERVER' IN SCHEMA DB.PUBLIC" {
		t.Errorf("binding check: %s", s.BindingSQL())
	}
}

func TestExternalOAuthBindLevelsAndOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Setup)
		want []string // in the script
	}{
		{"account", func(s *Setup) { s.External.Bind = BindAccount }, []string{"ALTER ACCOUNT SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_MCP';",
			"-- the MCP servers of the account take tokens from https://example.okta.com/oauth2/aus123 only"}},
		{"database", func(s *Setup) { s.External.Bind = BindDatabase }, []string{"ALTER DATABASE DB SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_MCP';",
			"ALTER DATABASE DB SET OAUTH_SCOPES_SUPPORTED = "}},
		{"schema of a quoted database", func(s *Setup) { s.MCPServer = `"my.db".PUBLIC.M` },
			[]string{`ALTER SCHEMA "my.db".PUBLIC SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_MCP';`}},
		{"a quoted integration name, in identifier syntax in the string", func(s *Setup) { s.Integration = `"Okta MCP"` },
			[]string{`CREATE SECURITY INTEGRATION IF NOT EXISTS "Okta MCP"`, `SET OAUTH_AUTHORIZATION_SERVER = '"Okta MCP"';`}},
		{"Entra ID's audiences and user mapping", func(s *Setup) {
			s.External.Type, s.External.Audiences, s.External.UserClaim = ExternalAzure, []string{"api://app", "0000-app"}, "upn"
			s.External.UserAttribute = AttributeEmail
		}, []string{"EXTERNAL_OAUTH_TYPE = AZURE", "EXTERNAL_OAUTH_AUDIENCE_LIST = ('api://app', '0000-app')",
			"EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = 'upn'", "EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = 'EMAIL_ADDRESS'"}},
		{"any role", func(s *Setup) { s.External.AnyRole = true }, []string{"EXTERNAL_OAUTH_ANY_ROLE_MODE = ENABLE"}},
		{"no scopes: no OAUTH_SCOPES_SUPPORTED", func(s *Setup) { s.External.Scopes = nil }, nil},
	} {
		s := oktaSetup()
		ext := *s.External
		s.External = &ext
		tc.mod(&s)
		stmts, err := s.Statements()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		script := Script(stmts)
		for _, w := range tc.want {
			if !strings.Contains(script, w) {
				t.Errorf("%s: script lacks %q:\n%s", tc.name, w, script)
			}
		}
		if s.External.Scopes == nil && strings.Contains(script, "OAUTH_SCOPES_SUPPORTED =") {
			t.Errorf("%s: scopes set:\n%s", tc.name, script)
		}
	}
}

// Hostile values stay inside their literal; what cannot be written safely
// or means nothing to Snowflake is refused, naming the field.
func TestExternalOAuthHostileInput(t *testing.T) {
	s := oktaSetup()
	s.External.Issuer = `https://evil.example/a'b\';DROP DATABASE PROD;--`
	s.External.Audiences = []string{`x'), ('y`}
	s.Integration = `"i'; DROP DATABASE PROD; --"`
	stmts, err := s.Statements()
	if err != nil {
		t.Fatal(err)
	}
	script := Script(stmts)
	for _, want := range []string{
		`EXTERNAL_OAUTH_ISSUER = 'https://evil.example/a''b\\'';DROP DATABASE PROD;--'`,
		`EXTERNAL_OAUTH_AUDIENCE_LIST = ('x''), (''y')`,
		`CREATE SECURITY INTEGRATION IF NOT EXISTS "i'; DROP DATABASE PROD; --"`,
		`SET OAUTH_AUTHORIZATION_SERVER = '"i''; DROP DATABASE PROD; --"'`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %s:\n%s", want, script)
		}
	}
	splitsInto(t, script, sqlOf(stmts), s)

	for _, tc := range []struct {
		field string
		mod   func(*ExternalOAuth)
	}{
		{"idp", func(x *ExternalOAuth) { x.Type = "OKTA; DROP" }},
		{"issuer", func(x *ExternalOAuth) { x.Issuer = "http://idp.example/" }},
		{"issuer", func(x *ExternalOAuth) { x.Issuer = "https://idp.example/?a=b" }},
		{"issuer", func(x *ExternalOAuth) { x.Issuer = "https://idp.example/\n-- x" }},
		{"issuer", func(x *ExternalOAuth) { x.Issuer = "https://user:pw@idp.example/" }},
		{"jwks_url", func(x *ExternalOAuth) { x.JWKSURL = "" }},
		{"audience", func(x *ExternalOAuth) { x.Audiences = nil }},
		{"audience", func(x *ExternalOAuth) { x.Audiences = []string{"a\u202eb"} }},
		{"user_claim", func(x *ExternalOAuth) { x.UserClaim = "sub' OR 1=1" }},
		{"user_attribute", func(x *ExternalOAuth) { x.UserAttribute = "USER_NAME" }},
		{"bind", func(x *ExternalOAuth) { x.Bind = "table" }},
		{"scopes", func(x *ExternalOAuth) { x.Scopes = []string{"session:role:A,B"} }},
		{"scopes", func(x *ExternalOAuth) { x.Scopes = []string{"session:role:A B"} }},
	} {
		s := oktaSetup()
		tc.mod(s.External)
		_, err := s.Statements()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: %v, want a %s field error", *s.External, err, tc.field)
		}
	}
	s = oktaSetup()
	s.RefreshDays = 30
	if _, err := s.Statements(); err == nil || !strings.Contains(err.Error(), "refresh_days: the identity provider decides") {
		t.Errorf("refresh days with an identity provider: %v", err)
	}
	s = oktaSetup()
	s.External.Issuer, s.External.JWKSURL = "http://127.0.0.1:4000/oauth2/x", "http://[::1]:4000/jwks"
	if _, err := s.Statements(); err != nil {
		t.Errorf("loopback http issuer: %v", err)
	}
}

// For random names and values, the script holds exactly the statements
// intended.
func TestExternalOAuthScriptSplitsIntoIntendedStatements(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	accepted := 0
	for range 5000 {
		s := oktaSetup()
		s.Integration, s.MCPServer, s.Role = randomName(r, 1), randomName(r, 3), randomName(r, 1)
		x := *s.External
		x.Issuer = "https://idp.example/" + randomName(r, 2)
		x.Audiences = []string{randomName(r, 1), randomName(r, 2)}
		x.Bind = []string{BindAccount, BindDatabase, BindSchema}[r.IntN(3)]
		s.External = &x
		stmts, err := s.Statements()
		if err != nil {
			continue
		}
		accepted++
		all := append(stmts, Statement{What: "check", SQL: s.BindingSQL()})
		splitsInto(t, Script(all), sqlOf(all), s)
	}
	if accepted < 500 {
		t.Fatalf("only %d of 5000 random setups were accepted: the test proves little", accepted)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"one two three", []string{"one two", "three"}},
		{"averyveryverylongword x", []string{"averyveryverylongword", "x"}},
	} {
		if got := wrap(tc.in, 8); !slices.Equal(got, tc.want) {
			t.Errorf("wrap(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
