package snowflake

import (
	"strings"
	"testing"
)

func TestIdent(t *testing.T) {
	for in, want := range map[string]string{
		"mcp_users":            "MCP_USERS",
		"R$1":                  "R$1",
		`"Mixed Case"`:         `"Mixed Case"`,
		"has space":            `"has space"`,
		`x'; DROP TABLE y; --`: `"x'; DROP TABLE y; --"`,
		"1abc":                 `"1abc"`,
		`"a""b"`:               `"a""b"`,
	} {
		got, err := Ident(in)
		if err != nil || got != want {
			t.Errorf("Ident(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", `""`, "a\nb", `"a"b"`, `x"; DROP TABLE y; --`, "a.b", strings.Repeat("a", 256)} {
		if got, err := Ident(bad); err == nil {
			t.Errorf("Ident(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       "'plain'",
		"it's":        "'it''s'",
		`back\slash`:  `'back\\slash'`,
		`\'; DROP --`: `'\\''; DROP --'`,
	} {
		if got := Literal(in); got != want {
			t.Errorf("Literal(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSetupStatements(t *testing.T) {
	s := Setup{Integration: "sfmcp_oauth", MCPServer: "db.public.gong_mcp", Role: "mcp_users",
		Tools:        []Tool{{Type: ToolSearch, Object: "db.public.gong_search"}, {Type: ToolSQL}, {Type: ToolAgent, Object: `DB.PUBLIC."Sales Agent"`}},
		GrantToRoles: []string{"analyst"}, GrantToUsers: []string{`"jane.doe@example.com"`}}
	stmts, err := s.Statements()
	if err != nil {
		t.Fatal(err)
	}
	script := Script(stmts)
	for _, want := range []string{
		"CREATE SECURITY INTEGRATION IF NOT EXISTS SFMCP_OAUTH\n  TYPE = OAUTH\n  OAUTH_CLIENT = CUSTOM",
		"OAUTH_CLIENT_TYPE = 'PUBLIC'",
		"OAUTH_REDIRECT_URI = 'http://127.0.0.1:3000/oauth/callback'",
		"OAUTH_ALLOW_NON_TLS_REDIRECT_URI = TRUE",
		"OAUTH_ENFORCE_PKCE = TRUE",
		"OAUTH_REFRESH_TOKEN_VALIDITY = 7776000",
		"OAUTH_USE_SECONDARY_ROLES = NONE",
		"ALLOWED_ROLES_LIST = ('MCP_USERS')",
		"CREATE ROLE IF NOT EXISTS MCP_USERS",
		"CREATE MCP SERVER IF NOT EXISTS DB.PUBLIC.GONG_MCP\n  FROM SPECIFICATION $$\ntools:\n  - name: \"gong_search\"\n    type: \"CORTEX_SEARCH_SERVICE_QUERY\"",
		"identifier: \"DB.PUBLIC.GONG_SEARCH\"",
		"type: \"SYSTEM_EXECUTE_SQL\"",
		"read_only: true",
		"identifier: \"DB.PUBLIC.\\\"Sales Agent\\\"\"",
		"GRANT USAGE ON DATABASE DB TO ROLE MCP_USERS",
		"GRANT USAGE ON SCHEMA DB.PUBLIC TO ROLE MCP_USERS",
		"GRANT USAGE ON MCP SERVER DB.PUBLIC.GONG_MCP TO ROLE MCP_USERS",
		"GRANT USAGE ON CORTEX SEARCH SERVICE DB.PUBLIC.GONG_SEARCH TO ROLE MCP_USERS",
		`GRANT USAGE ON AGENT DB.PUBLIC."Sales Agent" TO ROLE MCP_USERS`,
		"GRANT ROLE MCP_USERS TO ROLE ANALYST",
		`GRANT ROLE MCP_USERS TO USER "jane.doe@example.com"`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	conf := s
	conf.Confidential = true
	stmts, _ = conf.Statements()
	if sql := stmts[0].SQL; !strings.Contains(sql, "'CONFIDENTIAL'") || strings.Contains(sql, "ENFORCE_PKCE") {
		t.Errorf("confidential integration:\n%s", sql)
	}
}

func TestSetupRejectsHostileInput(t *testing.T) {
	base := Setup{Integration: "i", MCPServer: "d.s.m", Role: "r", Tools: []Tool{{Type: ToolSQL}}}
	for name, mod := range map[string]func(*Setup){
		"integration with a dot":    func(s *Setup) { s.Integration = "a.b" },
		"server with two parts":     func(s *Setup) { s.MCPServer = "d.s" },
		"role with newline":         func(s *Setup) { s.Role = "r\nDROP" },
		"dollar quote in a name":    func(s *Setup) { s.Tools = []Tool{{Type: ToolSearch, Object: `d.s."x$$y"`}} },
		"non-loopback redirect":     func(s *Setup) { s.RedirectURI = "https://evil.example/cb" },
		"redirect without port":     func(s *Setup) { s.RedirectURI = "http://127.0.0.1/cb" },
		"no tools":                  func(s *Setup) { s.Tools = nil },
		"refresh validity too long": func(s *Setup) { s.RefreshDays = 91 },
		"unterminated quote":        func(s *Setup) { s.GrantToRoles = []string{`"abc`} },
	} {
		s := base
		mod(&s)
		if _, err := s.Statements(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Quoting keeps injection attempts inside one identifier or literal.
	s := base
	s.Role = `x'; GRANT ROLE ACCOUNTADMIN TO USER evil; --`
	stmts, err := s.Statements()
	if err != nil {
		t.Fatal(err)
	}
	script := Script(stmts)
	if !strings.Contains(script, `CREATE ROLE IF NOT EXISTS "x'; GRANT ROLE ACCOUNTADMIN TO USER evil; --"`) ||
		!strings.Contains(script, `ALLOWED_ROLES_LIST = ('x''; GRANT ROLE ACCOUNTADMIN TO USER evil; --')`) {
		t.Fatalf("hostile role not contained:\n%s", script)
	}
	s.Role = `x"; DROP`
	if _, err := s.Statements(); err == nil {
		t.Fatal("a lone double quote in a name was accepted")
	}
}
