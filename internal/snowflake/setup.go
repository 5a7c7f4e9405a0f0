package snowflake

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// Tool types of an MCP server specification.
const (
	ToolSearch  = "CORTEX_SEARCH_SERVICE_QUERY"
	ToolAnalyst = "CORTEX_ANALYST_MESSAGE"
	ToolAgent   = "CORTEX_AGENT_RUN"
	ToolSQL     = "SYSTEM_EXECUTE_SQL"
)

// Tool is one tool of the MCP server: a type and, except for SQL, the
// fully qualified object it uses.
type Tool struct {
	Type   string
	Object string // DB.SCHEMA.NAME
}

// Setup is what an administrator creates for sfmcp users.
type Setup struct {
	Integration  string // security integration name
	Confidential bool   // OAUTH_CLIENT_TYPE; public (PKCE enforced) by default
	RedirectURI  string // loopback redirect; default http://127.0.0.1:3000/oauth/callback
	RefreshDays  int    // OAUTH_REFRESH_TOKEN_VALIDITY in days; default 90
	MCPServer    string // DB.SCHEMA.NAME
	Role         string // the role MCP users get
	Tools        []Tool
	GrantToRoles []string
	GrantToUsers []string
	SQLWarehouse string // warehouse for the SQL tool, optional
	// External, when set, makes the integration an External OAuth one
	// (users sign in at an identity provider) and binds the MCP server to
	// it; Confidential and RefreshDays are then the identity provider's
	// business, and RedirectURI only checked (the IdP registers it).
	External *ExternalOAuth
}

// DefaultRedirectURI is the loopback redirect the setup registers.
const DefaultRedirectURI = "http://127.0.0.1:3000/oauth/callback"

// Statement is one SQL statement with a short description of what it does.
type Statement struct {
	What string
	SQL  string
	// Note, if any, is printed above the statement in a script (what the
	// administrator should know before running it); it is never sent.
	Note string
}

// setupNames are the setup's names as Snowflake stores them (parts) and
// quoted for SQL.
type setupNames struct {
	integ, server, role []string // parts
	integSQL, roleSQL   string
	serverSQL           string
}

// names reads the setup's names once into parts (ident).
func (s Setup) names() (setupNames, error) {
	var n setupNames
	var err error
	if n.integ, err = nameParts(s.Integration, 1); err != nil {
		return n, &FieldError{Field: "integration", Err: err}
	}
	if n.server, err = nameParts(s.MCPServer, 3); err != nil {
		return n, &FieldError{Field: "mcp_server", Err: err}
	}
	if n.role, err = nameParts(s.Role, 1); err != nil {
		return n, &FieldError{Field: "role", Err: err}
	}
	n.integSQL, n.roleSQL, n.serverSQL = ident.Join(n.integ...), ident.Join(n.role...), ident.Join(n.server...)
	return n, nil
}

// Statements validates the setup and returns the SQL to run, in order: the
// integration, the role, the MCP server, the grants, and for External
// OAuth the binding last (until then nothing changes for the server's
// users). Names are read once into parts (ident) and written back quoted;
// every string goes through Literal.
func (s Setup) Statements() ([]Statement, error) {
	n, err := s.names()
	if err != nil {
		return nil, err
	}
	integ, err := s.integrationStatement(n)
	if err != nil {
		return nil, err
	}
	role := n.roleSQL
	out := []Statement{integ, {What: "the role MCP users work as", SQL: "CREATE ROLE IF NOT EXISTS " + role}}
	spec, grants, err := s.toolSpec(role)
	if err != nil {
		return nil, err
	}
	db, schema := ident.Join(n.server[0]), ident.Join(n.server[:2]...)
	out = append(out,
		Statement{What: "the MCP server", SQL: fmt.Sprintf("CREATE MCP SERVER IF NOT EXISTS %s\n  FROM SPECIFICATION $$\n%s$$", n.serverSQL, spec)},
		Statement{What: "USAGE on the database", SQL: fmt.Sprintf("GRANT USAGE ON DATABASE %s TO ROLE %s", db, role)},
		Statement{What: "USAGE on the schema", SQL: fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO ROLE %s", schema, role)},
		Statement{What: "USAGE on the MCP server (connect and tools/list)", SQL: fmt.Sprintf("GRANT USAGE ON MCP SERVER %s TO ROLE %s", n.serverSQL, role)},
	)
	out = append(out, grants...)
	roleGrants, err := s.roleGrants(role)
	if err != nil {
		return nil, err
	}
	out = append(out, roleGrants...)
	if s.External != nil {
		out = append(out, s.External.bindStatements(n.integ[0], n.server)...)
	}
	return out, nil
}

// integrationStatement is the security integration: Snowflake OAuth for a
// custom client, or External OAuth.
func (s Setup) integrationStatement(n setupNames) (Statement, error) {
	redirect := s.RedirectURI
	if redirect == "" {
		redirect = DefaultRedirectURI
	}
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1") || u.Port() == "" {
		return Statement{}, &FieldError{Field: "redirect_uri", Err: fmt.Errorf("%q: use a loopback URI with a fixed port, e.g. %s", redirect, DefaultRedirectURI)}
	}
	if s.External != nil {
		if s.RefreshDays != 0 {
			return Statement{}, &FieldError{Field: "refresh_days", Err: errors.New("the identity provider decides how long refresh tokens last (Okta: the access policy's rule; Entra ID: 90 days)")}
		}
		if err := s.External.check(); err != nil {
			return Statement{}, err
		}
		return Statement{What: "the External OAuth integration: Snowflake takes the tokens of " + s.External.Issuer, SQL: s.External.integrationSQL(n.integSQL)}, nil
	}
	days := s.RefreshDays
	if days == 0 {
		days = 90
	}
	if days < 1 || days > 90 {
		return Statement{}, &FieldError{Field: "refresh_days", Err: fmt.Errorf("%d: Snowflake allows 1 to 90 days for custom clients", days)}
	}
	clientType := "PUBLIC"
	pkce := "\n  OAUTH_ENFORCE_PKCE = TRUE"
	if s.Confidential {
		clientType, pkce = "CONFIDENTIAL", ""
	}
	return Statement{What: "the OAuth integration sfmcp users sign in with", SQL: fmt.Sprintf(`CREATE SECURITY INTEGRATION IF NOT EXISTS %s
  TYPE = OAUTH
  OAUTH_CLIENT = CUSTOM
  ENABLED = TRUE
  OAUTH_CLIENT_TYPE = %s
  OAUTH_REDIRECT_URI = %s
  OAUTH_ALLOW_NON_TLS_REDIRECT_URI = TRUE%s
  OAUTH_ISSUE_REFRESH_TOKENS = TRUE
  OAUTH_REFRESH_TOKEN_VALIDITY = %d
  OAUTH_USE_SECONDARY_ROLES = NONE
  ALLOWED_ROLES_LIST = (%s)
  COMMENT = %s`, n.integSQL, Literal(clientType), Literal(redirect), pkce, days*86400, Literal(n.role[0]), Literal("sfmcp: Snowflake MCP access"))}, nil
}

// roleGrants grant the MCP role (quoted) to the roles and users named.
func (s Setup) roleGrants(role string) ([]Statement, error) {
	var out []Statement
	for _, r := range s.GrantToRoles {
		p, err := nameParts(r, 1)
		if err != nil {
			return nil, &FieldError{Field: "grant_to_roles", Err: err}
		}
		out = append(out, Statement{What: "the MCP role for role " + p[0], SQL: fmt.Sprintf("GRANT ROLE %s TO ROLE %s", role, ident.Join(p...))})
	}
	for _, usr := range s.GrantToUsers {
		p, err := nameParts(usr, 1)
		if err != nil {
			return nil, &FieldError{Field: "grant_to_users", Err: err}
		}
		out = append(out, Statement{What: "the MCP role for user " + p[0], SQL: fmt.Sprintf("GRANT ROLE %s TO USER %s", role, ident.Join(p...))})
	}
	return out, nil
}

// ShowSecretsSQL reads the integration's client id (and secret). Call it
// after Statements succeeded.
func (s Setup) ShowSecretsSQL() string {
	p, _ := nameParts(s.Integration, 1)
	if len(p) == 0 {
		p = []string{""}
	}
	return "SELECT SYSTEM$SHOW_OAUTH_CLIENT_SECRETS(" + Literal(p[0]) + ")"
}

// toolSpec renders the YAML specification and the grants each tool needs.
func (s Setup) toolSpec(role string) (string, []Statement, error) {
	if len(s.Tools) == 0 {
		return "", nil, fmt.Errorf("give at least one tool: --search-service, --analyst, --agent or --sql")
	}
	var b strings.Builder
	b.WriteString("tools:\n")
	var grants []Statement
	seen := map[string]int{}
	for _, t := range s.Tools {
		var obj, grant, title, desc, base, display, last string
		if t.Type != ToolSQL {
			parts, err := nameParts(t.Object, 3)
			if err != nil {
				return "", nil, fmt.Errorf("tool %s: %w", t.Type, err)
			}
			obj, display, last = ident.Join(parts...), strings.Join(parts, "."), parts[2]
			base = strings.ToLower(last)
		}
		switch t.Type {
		case ToolSearch:
			grant = fmt.Sprintf("GRANT USAGE ON CORTEX SEARCH SERVICE %s TO ROLE %s", obj, role)
			title, desc = "Search "+last, "Search the Cortex Search service "+display+"."
		case ToolAnalyst:
			grant = fmt.Sprintf("GRANT SELECT ON SEMANTIC VIEW %s TO ROLE %s", obj, role)
			title, desc = "Ask "+last, "Ask questions in plain language over the semantic view "+display+"."
		case ToolAgent:
			grant = fmt.Sprintf("GRANT USAGE ON AGENT %s TO ROLE %s", obj, role)
			title, desc = "Agent "+last, "Run the Cortex agent "+display+"."
		case ToolSQL:
			base, title, desc = "sql", "SQL execution", "Run read-only SQL queries."
		default:
			return "", nil, fmt.Errorf("unknown tool type %q", t.Type)
		}
		name := toolName(base)
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s_%d", name, seen[name])
		}
		fmt.Fprintf(&b, "  - name: %s\n    type: %s\n    title: %s\n    description: %s\n", yamlString(name), yamlString(t.Type), yamlString(title), yamlString(desc))
		if obj != "" {
			fmt.Fprintf(&b, "    identifier: %s\n", yamlString(obj))
		}
		if t.Type == ToolSQL {
			b.WriteString("    config:\n      read_only: true\n")
			if s.SQLWarehouse != "" {
				wh, err := nameParts(s.SQLWarehouse, 1)
				if err != nil {
					return "", nil, &FieldError{Field: "sql_warehouse", Err: err}
				}
				fmt.Fprintf(&b, "      warehouse: %s\n", yamlString(wh[0]))
			}
		}
		if grant != "" {
			grants = append(grants, Statement{What: "access to " + display + " for its tool", SQL: grant})
		}
	}
	spec := b.String()
	if strings.Contains(spec, "$$") {
		return "", nil, fmt.Errorf("a name contains $$, which cannot appear inside FROM SPECIFICATION $$ … $$")
	}
	return spec, grants, nil
}

// toolName makes an MCP tool name: lower case letters, digits and _.
func toolName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "tool"
	}
	return b.String()
}

// yamlString is a double-quoted YAML scalar.
func yamlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// Script joins statements into one SQL script with comments. A
// description never ends its comment line early (names hold no line
// breaks, and this makes sure).
func Script(stmts []Statement) string {
	var b strings.Builder
	oneLine := strings.NewReplacer("\n", " ", "\r", " ", "\u2028", " ", "\u2029", " ")
	for _, s := range stmts {
		fmt.Fprintf(&b, "-- %s\n", oneLine.Replace(s.What))
		for _, line := range wrap(oneLine.Replace(s.Note), 100) {
			fmt.Fprintf(&b, "-- %s\n", line)
		}
		fmt.Fprintf(&b, "%s;\n\n", s.SQL)
	}
	return b.String()
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word stays whole).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines, line = append(lines, line), ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
