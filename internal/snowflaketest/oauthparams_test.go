package snowflaketest

import (
	"slices"
	"strings"
	"testing"
)

// An administrator creates External OAuth integrations and binds MCP
// servers to them with SQL; values inherit schema → database → account.
func TestExternalOAuthSQL(t *testing.T) {
	okta, entra := newTestIdP(t), newTestIdP(t)
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	create := `CREATE SECURITY INTEGRATION okta_ext TYPE = EXTERNAL_OAUTH ENABLED = TRUE EXTERNAL_OAUTH_TYPE = OKTA
  EXTERNAL_OAUTH_ISSUER = '` + okta.issuer() + `' EXTERNAL_OAUTH_JWS_KEYS_URL = '` + okta.jwksURL() + `'
  EXTERNAL_OAUTH_AUDIENCE_LIST = ('` + testAudience + `', 'api://x')
  EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = 'sub' EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = 'LOGIN_NAME'
  EXTERNAL_OAUTH_ANY_ROLE_MODE = ENABLE EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE = 'scp'
  EXTERNAL_OAUTH_BLOCKED_ROLES_LIST = ('sysadmin') COMMENT = 'MCP = Okta'`
	mustSQL(t, s, create)
	got, ok := s.ExternalOAuthIntegration("OKTA_EXT")
	want := ExternalOAuth{Name: "OKTA_EXT", Type: "OKTA", Issuer: okta.issuer(), JWKSURL: okta.jwksURL(), AudienceList: []string{testAudience, "api://x"},
		UserClaim: "sub", UserAttribute: "LOGIN_NAME", AnyRoleMode: true, ScopeClaim: "scp", BlockedRoles: []string{"SYSADMIN"}}
	if !ok || !equalExternal(got, want) {
		t.Fatalf("integration %+v, want %+v", got, want)
	}
	if err := s.AdminSQL(create); err == nil || !strings.Contains(err.Error(), "002002") {
		t.Errorf("created twice: %v", err)
	}
	mustSQL(t, s, strings.Replace(create, "INTEGRATION okta_ext", "INTEGRATION IF NOT EXISTS okta_ext", 1))
	mustSQL(t, s, strings.Replace(strings.Replace(create, "CREATE", "CREATE OR REPLACE", 1), "ENABLED = TRUE", "ENABLED = FALSE", 1))
	if got, _ := s.ExternalOAuthIntegration("OKTA_EXT"); !got.Disabled {
		t.Error("OR REPLACE did not replace")
	}
	mustSQL(t, s, `CREATE SECURITY INTEGRATION ENTRA_EXT TYPE = EXTERNAL_OAUTH ENABLED = TRUE EXTERNAL_OAUTH_TYPE = AZURE
  EXTERNAL_OAUTH_ISSUER = '`+entra.issuer()+`' EXTERNAL_OAUTH_JWS_KEYS_URL = '`+entra.jwksURL()+`'
  EXTERNAL_OAUTH_AUDIENCE_LIST = 'api://guid' EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = 'upn'
  EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = 'EMAIL_ADDRESS'`)
	// Each variant is a new integration with a new issuer but for one fault.
	other := strings.NewReplacer("okta_ext", "OTHER", okta.issuer()+"'", "https://other.example/'").Replace(create)
	for stmt, code := range map[string]string{
		strings.Replace(create, "okta_ext", "OTHER", 1):                "001003", // the same issuer again
		strings.Replace(other, "EXTERNAL_OAUTH_ISSUER", "X_ISSUER", 1): "001003",
		strings.Replace(other, "= OKTA", "= KEYCLOAK", 1):              "001003",
		strings.Replace(other, "'LOGIN_NAME'", "'NAME'", 1):            "001003",
		strings.Replace(other, "ENABLED = TRUE", "ENABLED = MAYBE", 1): "001003",
		other + " EXTERNAL_OAUTH_RSA_PUBLIC_KEY = 'MII'":               "001003",
		other + " EXTERNAL_OAUTH_SCOPE_DELIMITER = ','":                "001003", // CUSTOM only
		strings.Replace(other, "'sub'", "('sub', 'email')", 1):         "001003",
	} {
		if err := s.AdminSQL(stmt); err == nil || !strings.Contains(err.Error(), code) {
			t.Errorf("%.80s…: %v, want %s", stmt, err, code)
		}
	}
	mustSQL(t, s, other)
	if _, ok := s.ExternalOAuthIntegration("OTHER"); !ok {
		t.Error("the variants' base is not a valid statement")
	}
	checkInheritance(t, s)
}

// checkInheritance sets and unsets the parameters at each level with SQL.
func checkInheritance(t *testing.T, s *Server) {
	effective := func() [3]string {
		return [3]string{s.EffectiveParameter("DB", "PUBLIC", ParamAuthorizationServer), s.EffectiveParameter("db", "other", ParamAuthorizationServer),
			s.EffectiveParameter("ELSE", "PUBLIC", ParamAuthorizationServer)}
	}
	for _, step := range []struct {
		stmt string
		want [3]string // DB.PUBLIC, DB.OTHER, ELSE.PUBLIC
	}{
		{"ALTER ACCOUNT SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_EXT'", [3]string{"OKTA_EXT", "OKTA_EXT", "OKTA_EXT"}},
		{"ALTER DATABASE db SET OAUTH_AUTHORIZATION_SERVER = 'entra_ext'", [3]string{"ENTRA_EXT", "ENTRA_EXT", "OKTA_EXT"}},
		{"ALTER SCHEMA DB.PUBLIC SET OAUTH_AUTHORIZATION_SERVER = OKTA_EXT OAUTH_SCOPES_SUPPORTED = 'session:role:MCP_USERS,offline_access'", [3]string{"OKTA_EXT", "ENTRA_EXT", "OKTA_EXT"}},
		{"ALTER SCHEMA IF EXISTS db.public UNSET OAUTH_AUTHORIZATION_SERVER", [3]string{"ENTRA_EXT", "ENTRA_EXT", "OKTA_EXT"}},
		{"ALTER DATABASE DB UNSET OAUTH_AUTHORIZATION_SERVER", [3]string{"OKTA_EXT", "OKTA_EXT", "OKTA_EXT"}},
		{"ALTER ACCOUNT UNSET OAUTH_AUTHORIZATION_SERVER, OAUTH_SCOPES_SUPPORTED", [3]string{"", "", ""}},
	} {
		mustSQL(t, s, step.stmt)
		if got := effective(); got != step.want {
			t.Errorf("after %s: %q, want %q", step.stmt, got, step.want)
		}
	}
	if got := s.EffectiveParameter("DB", "PUBLIC", ParamScopesSupported); got != "session:role:MCP_USERS,offline_access" {
		t.Errorf("schema scopes: %q", got)
	}
	mustSQL(t, s, "CREATE SECURITY INTEGRATION SNOW_OAUTH TYPE = OAUTH OAUTH_CLIENT = CUSTOM OAUTH_REDIRECT_URI = 'https://app.example/cb'")
	for stmt, code := range map[string]string{
		"ALTER ACCOUNT SET OAUTH_AUTHORIZATION_SERVER = 'NOPE'":       "002003",
		"ALTER ACCOUNT SET OAUTH_AUTHORIZATION_SERVER = 'SNOW_OAUTH'": "001003",
		"ALTER DATABASE DB SET DATA_RETENTION_TIME_IN_DAYS = 1":       "001003",
		"ALTER SCHEMA PUBLIC SET OAUTH_SCOPES_SUPPORTED = 'x'":        "001003",
	} {
		if err := s.AdminSQL(stmt); err == nil || !strings.Contains(err.Error(), code) {
			t.Errorf("%s: %v, want %s", stmt, err, code)
		}
	}
	// ALTER ACCOUNT takes ACCOUNTADMIN; a user's own role cannot bind.
	for _, stmt := range []string{"ALTER ACCOUNT SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_EXT'", "ALTER DATABASE DB SET OAUTH_AUTHORIZATION_SERVER = 'OKTA_EXT'"} {
		if st, m := sql(t, s, adminToken(t, s), "", stmt); st != 422 || m["code"] != "003001" {
			t.Errorf("%s as MCP_USERS: %d %v", stmt, st, m)
		}
	}
	if effective() != [3]string{} {
		t.Errorf("refused statements changed the binding: %q", effective())
	}
}

func mustSQL(t *testing.T, s *Server, stmt string) {
	t.Helper()
	if err := s.AdminSQL(stmt); err != nil {
		t.Fatal(err)
	}
}

func equalExternal(a, b ExternalOAuth) bool {
	return slices.Equal(a.AudienceList, b.AudienceList) && slices.Equal(a.AllowedRoles, b.AllowedRoles) && slices.Equal(a.BlockedRoles, b.BlockedRoles) &&
		a.Name == b.Name && a.Type == b.Type && a.Disabled == b.Disabled && a.Issuer == b.Issuer && a.JWKSURL == b.JWKSURL &&
		a.UserClaim == b.UserClaim && a.UserAttribute == b.UserAttribute && a.AnyRoleMode == b.AnyRoleMode &&
		a.ScopeClaim == b.ScopeClaim && a.ScopeDelimiter == b.ScopeDelimiter
}

// What SQL sets is what the MCP server enforces and advertises.
func TestSQLBindingEnforced(t *testing.T) {
	idp := newTestIdP(t)
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	mustSQL(t, s, "CREATE USER CAROL LOGIN_NAME = 'carol@example.com' EMAIL = 'carol@corp.example' DEFAULT_ROLE = MCP_USERS")
	mustSQL(t, s, "GRANT ROLE MCP_USERS TO USER CAROL")
	mustSQL(t, s, `CREATE OR REPLACE SECURITY INTEGRATION CUSTOM_EXT TYPE = EXTERNAL_OAUTH ENABLED = TRUE EXTERNAL_OAUTH_TYPE = CUSTOM
  EXTERNAL_OAUTH_ISSUER = '`+idp.issuer()+`' EXTERNAL_OAUTH_JWS_KEYS_URL = '`+idp.jwksURL()+`'
  EXTERNAL_OAUTH_AUDIENCE_LIST = ('`+testAudience+`') EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = 'email'
  EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = 'EMAIL_ADDRESS' EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE = 'scope'
  EXTERNAL_OAUTH_SCOPE_DELIMITER = ' '`)
	mustSQL(t, s, "ALTER SCHEMA DB.PUBLIC SET OAUTH_AUTHORIZATION_SERVER = 'CUSTOM_EXT' OAUTH_SCOPES_SUPPORTED = 'session:role:MCP_USERS'")
	meta, _ := getPRM(t, s, s.MCPURL(DefaultMCPServer()))
	if !slices.Equal(meta.AuthorizationServers, []string{idp.issuer()}) || !slices.Equal(meta.ScopesSupported, []string{"session:role:MCP_USERS"}) {
		t.Errorf("PRM after SQL binding: %+v", meta)
	}
	tok := idp.token(t, idp.claims(map[string]any{"scp": nil, "email": "carol@corp.example", "scope": "openid session:role:MCP_USERS"}))
	if resp, body := mcpPost(t, s, gongPath, tok, toolsList); resp.StatusCode != 200 || !strings.Contains(body, "gong_search") {
		t.Errorf("IdP token after SQL binding: %d %s", resp.StatusCode, body)
	}
	if resp, _ := mcpPost(t, s, gongPath, adminToken(t, s), toolsList); resp.StatusCode != 401 {
		t.Errorf("Snowflake OAuth token after SQL binding: %d", resp.StatusCode)
	}
}

// SHOW PARAMETERS tells where the effective value comes from.
func TestShowParameters(t *testing.T) {
	idp := newTestIdP(t)
	s := boundStandIn(t, idp) // OAUTH_AUTHORIZATION_SERVER = OKTA_EXT on DB
	mustSQL(t, s, "ALTER ACCOUNT SET OAUTH_SCOPES_SUPPORTED = 'session:role:MCP_USERS'")
	for stmt, want := range map[string]string{
		"SHOW PARAMETERS LIKE 'oauth_auth%' IN SCHEMA DB.PUBLIC":   `[["OAUTH_AUTHORIZATION_SERVER","OKTA_EXT","","DATABASE","","STRING"]]`,
		"SHOW PARAMETERS LIKE 'OAUTH%' IN DATABASE OTHER":          `[["OAUTH_AUTHORIZATION_SERVER","","","","","STRING"],["OAUTH_SCOPES_SUPPORTED","session:role:MCP_USERS","","ACCOUNT","","STRING"]]`,
		"SHOW PARAMETERS LIKE 'OAUTH_SCOPES_SUPPORTED' IN ACCOUNT": `[["OAUTH_SCOPES_SUPPORTED","session:role:MCP_USERS","","ACCOUNT","","STRING"]]`,
	} {
		st, m := sql(t, s, adminToken(t, s), "", stmt)
		if st != 200 || toJSON(m["data"]) != want {
			t.Errorf("%s: %d %s, want %s", stmt, st, toJSON(m["data"]), want)
		}
	}
}
