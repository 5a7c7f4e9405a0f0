package snowflaketest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The SQL API v2 stand-in understands the statements sfmcp sends and keeps
// their effects: an integration created here can be signed in with, an MCP
// server created here answers, grants decide access.

// sqlResult is one statement's answer.
type sqlResult struct {
	columns []string
	rows    [][]*string
}

// SQLError is a statement failure with Snowflake's code and SQL state.
type SQLError struct {
	Status   int
	Code     string
	SQLState string
	Message  string
}

// Statements returns every statement the SQL API ran, in order.
func (s *Server) Statements() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statements)
}

// FailSQL makes the next n statements fail with HTTP status (after they
// are recorded), e.g. to interrupt a setup half-way.
func (s *Server) FailSQL(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.sqlFaults = append(s.sqlFaults, status)
	}
}

// FailSQLAfter lets after statements run, then fails the next one with
// status, as if the client had crashed or Snowflake had failed mid-setup.
func (s *Server) FailSQLAfter(after, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range after {
		s.sqlFaults = append(s.sqlFaults, 0)
	}
	s.sqlFaults = append(s.sqlFaults, status)
}

// IntegrationClientID returns the client id of an integration created
// through the SQL API.
func (s *Server) IntegrationClientID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.integrationNames[strings.ToUpper(name)]
}

func (s *Server) handleStatements(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticateBearer(w, r)
	if !ok {
		return
	}
	if r.Header.Get("User-Agent") == "" || !strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "*/*") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "390142", "message": "Incoming request does not contain a valid payload."})
		return
	}
	var req struct {
		Statement string `json:"statement"`
		Role      string `json:"role"`
	}
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if json.Unmarshal(body, &req) != nil || strings.TrimSpace(req.Statement) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "390142", "message": "Incoming request does not contain a valid payload."})
		return
	}
	role := tok.role
	if req.Role != "" {
		role = strings.ToUpper(req.Role)
	}
	handle := newSecret("01b")[:36]
	res, sqlErr := s.execSQL(tok, role, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(req.Statement), ";")))
	if sqlErr != nil {
		writeJSON(w, sqlErr.Status, map[string]any{"code": sqlErr.Code, "sqlState": sqlErr.SQLState, "message": sqlErr.Message, "statementHandle": handle})
		return
	}
	s.mu.Lock()
	async := s.opts.AsyncSQL
	if async {
		s.pendingResults[handle] = res
	}
	s.mu.Unlock()
	if async {
		writeJSON(w, http.StatusAccepted, map[string]any{"code": "333334", "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
			"statementHandle": handle, "statementStatusUrl": "/api/v2/statements/" + handle})
		return
	}
	writeJSON(w, http.StatusOK, resultBody(handle, res))
}

func (s *Server) handleStatementStatus(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticateBearer(w, r); !ok {
		return
	}
	s.mu.Lock()
	res, ok := s.pendingResults[r.PathValue("handle")]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "000709", "message": "Statement not found."})
		return
	}
	writeJSON(w, http.StatusOK, resultBody(r.PathValue("handle"), res))
}

func resultBody(handle string, res sqlResult) map[string]any {
	rowType := []map[string]any{}
	for _, c := range res.columns {
		rowType = append(rowType, map[string]any{"name": c, "type": "text", "nullable": true})
	}
	data := res.rows
	if data == nil {
		data = [][]*string{}
	}
	return map[string]any{
		"resultSetMetaData": map[string]any{"numRows": len(data), "format": "jsonv2", "rowType": rowType,
			"partitionInfo": []map[string]any{{"rowCount": len(data)}}},
		"data": data, "code": "090001", "sqlState": "00000", "statementHandle": handle,
		"statementStatusUrl": "/api/v2/statements/" + handle, "message": "Statement executed successfully.",
		"createdOn": time.Now().UnixMilli(),
	}
}

func str(s string) *string { return &s }

func status(msg string) sqlResult {
	return sqlResult{columns: []string{"status"}, rows: [][]*string{{str(msg)}}}
}

// Snowflake's lexical forms, as the stand-in reads them: an identifier
// part (bare, or "quoted" with "" inside), a dotted name, a '…' literal
// with doubled quotes and backslash escapes.
const (
	identRE   = `(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`
	nameRE    = `(?:` + identRE + `(?:\.` + identRE + `)*)`
	literalRE = `'(?:[^'\\]|''|\\.)*'`
)

var (
	reCreateIntegration = regexp.MustCompile(`(?is)^CREATE\s+(OR\s+REPLACE\s+)?SECURITY\s+INTEGRATION\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)\s+(.*)$`)
	reCreateRole        = regexp.MustCompile(`(?is)^CREATE\s+ROLE\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)$`)
	reCreateMCP         = regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?MCP\s+SERVER\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)\s+FROM\s+SPECIFICATION\s+\$\$(.*)\$\$$`)
	reGrantMCP          = regexp.MustCompile(`(?is)^GRANT\s+USAGE\s+ON\s+MCP\s+SERVER\s+(` + nameRE + `)\s+TO\s+ROLE\s+(` + nameRE + `)$`)
	reGrantRoleToUser   = regexp.MustCompile(`(?is)^GRANT\s+ROLE\s+(` + nameRE + `)\s+TO\s+USER\s+(` + nameRE + `)$`)
	reGrant             = regexp.MustCompile(`(?is)^GRANT\s+.+\s+TO\s+(ROLE|USER)\s+` + nameRE + `$`)
	reDropDatabase      = regexp.MustCompile(`(?is)^DROP\s+DATABASE\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reShowSecrets       = regexp.MustCompile(`(?is)^SELECT\s+SYSTEM\$SHOW_OAUTH_CLIENT_SECRETS\s*\(\s*(` + literalRE + `)\s*\)$`)
	reCurrentUser       = regexp.MustCompile(`(?is)^SELECT\s+CURRENT_USER\s*\(\s*\)(\s*,\s*CURRENT_ROLE\s*\(\s*\))?$`)
	reOption            = regexp.MustCompile(`(?is)(\w+)\s*=\s*(` + literalRE + `|\((?:[^)']|` + literalRE + `)*\)|\S+)`)
	reLiteral           = regexp.MustCompile(literalRE)
)

// adminRoles may create integrations (CREATE INTEGRATION on the account).
var adminRoles = []string{"ACCOUNTADMIN", "SECURITYADMIN", "SFMCP_ADMIN"}

func (s *Server) execSQL(tok accessToken, role, stmt string) (sqlResult, *SQLError) {
	s.mu.Lock()
	s.statements = append(s.statements, stmt)
	fail := 0
	if len(s.sqlFaults) > 0 {
		fail, s.sqlFaults = s.sqlFaults[0], s.sqlFaults[1:]
	}
	s.mu.Unlock()
	if fail != 0 {
		return sqlResult{}, &SQLError{Status: fail, Code: "390503", Message: "Injected failure."}
	}
	// One statement per request, as the SQL API has it unless
	// MULTI_STATEMENT_COUNT says otherwise (sfmcp never does).
	split, err := SplitSQL(stmt)
	if err != nil {
		return sqlResult{}, compileError("syntax error: " + err.Error())
	}
	if len(split) != 1 {
		return sqlResult{}, &SQLError{Status: 422, Code: "000008", SQLState: "0A000", Message: fmt.Sprintf("Actual statement count %d did not match the desired statement count 1.", len(split))}
	}
	stmt = split[0]
	if res, err, ok := s.execAccountSQL(tok, role, stmt); ok {
		return res, err
	}
	if m := reCurrentUser.FindStringSubmatch(stmt); m != nil {
		if m[1] != "" {
			return sqlResult{columns: []string{"CURRENT_USER()", "CURRENT_ROLE()"}, rows: [][]*string{{str(tok.user), str(role)}}}, nil
		}
		return sqlResult{columns: []string{"CURRENT_USER()"}, rows: [][]*string{{str(tok.user)}}}, nil
	}
	if m := reShowSecrets.FindStringSubmatch(stmt); m != nil {
		return s.showSecrets(literal(m[1]))
	}
	if m := reDropDatabase.FindStringSubmatch(stmt); m != nil {
		// Never sent by sfmcp; answered as Snowflake would, so that a test
		// sees an injected DROP succeed rather than fail harmlessly.
		return status(unquote(m[2]) + " successfully dropped."), nil
	}
	if m := reCreateIntegration.FindStringSubmatch(stmt); m != nil {
		if !slices.Contains(adminRoles, role) {
			return sqlResult{}, privilegeError("CREATE INTEGRATION on the account")
		}
		return s.createIntegration(unquote(m[3]), m[1] != "", m[2] != "", m[4])
	}
	if m := reCreateRole.FindStringSubmatch(stmt); m != nil {
		return status(fmt.Sprintf("Role %s successfully created.", unquote(m[2]))), nil
	}
	if m := reCreateMCP.FindStringSubmatch(stmt); m != nil {
		return s.createMCPServer(m[2], m[1] != "", m[3])
	}
	if m := reGrantMCP.FindStringSubmatch(stmt); m != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		parts := nameParts(m[1])
		if len(parts) != 3 {
			return sqlResult{}, compileError("invalid MCP server name " + m[1])
		}
		srv, ok := s.mcpServers[mcpKey(parts[0], parts[1], parts[2])]
		if !ok {
			return sqlResult{}, &SQLError{Status: 422, Code: "002003", SQLState: "02000", Message: "SQL compilation error: MCP server '" + m[1] + "' does not exist or not authorized."}
		}
		srv.UsageRoles = append(srv.UsageRoles, unquote(m[2]))
		return status("Statement executed successfully."), nil
	}
	if m := reGrantRoleToUser.FindStringSubmatch(stmt); m != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if u, ok := s.users[unquote(m[2])]; ok {
			u.Roles = append(u.Roles, unquote(m[1]))
		}
		return status("Statement executed successfully."), nil
	}
	if reGrant.MatchString(stmt) {
		return status("Statement executed successfully."), nil
	}
	return sqlResult{}, compileError("syntax error line 1 at position 0 unexpected '" + firstWord(stmt) + "'.")
}

// createIntegration: CREATE [OR REPLACE] SECURITY INTEGRATION [IF NOT
// EXISTS] name TYPE = OAUTH OAUTH_CLIENT = CUSTOM … (OR REPLACE is not
// honoured for these) or TYPE = EXTERNAL_OAUTH ….
func (s *Server) createIntegration(name string, orReplace, ifNotExists bool, options string) (sqlResult, *SQLError) {
	opts := map[string]string{}
	for _, m := range reOption.FindAllStringSubmatch(options, -1) {
		opts[strings.ToUpper(m[1])] = m[2]
	}
	if strings.EqualFold(opts["TYPE"], "EXTERNAL_OAUTH") {
		return s.createExternalOAuth(name, orReplace, ifNotExists, opts)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.integrationNames[name]; exists || s.externalOAuth[name] != nil {
		if ifNotExists {
			return status(fmt.Sprintf("%s already exists, statement succeeded.", name)), nil
		}
		return sqlResult{}, alreadyExists(name)
	}
	if !strings.EqualFold(opts["TYPE"], "OAUTH") || !strings.EqualFold(opts["OAUTH_CLIENT"], "CUSTOM") {
		return sqlResult{}, compileError("only TYPE = OAUTH, OAUTH_CLIENT = CUSTOM and TYPE = EXTERNAL_OAUTH integrations are supported here")
	}
	redirect := literal(opts["OAUTH_REDIRECT_URI"])
	if redirect == "" {
		return sqlResult{}, compileError("missing required property OAUTH_REDIRECT_URI")
	}
	in := Integration{
		ClientID:            newSecret("")[:28],
		ClientSecret:        strings.ToUpper(newSecret(""))[:20] + "+/=",
		Public:              strings.EqualFold(literal(opts["OAUTH_CLIENT_TYPE"]), "PUBLIC"),
		RedirectURIs:        []string{redirect},
		AllowNonTLSRedirect: strings.EqualFold(opts["OAUTH_ALLOW_NON_TLS_REDIRECT_URI"], "TRUE"),
		EnforcePKCE:         strings.EqualFold(opts["OAUTH_ENFORCE_PKCE"], "TRUE"),
		DoNotIssueRefresh:   strings.EqualFold(opts["OAUTH_ISSUE_REFRESH_TOKENS"], "FALSE"),
	}
	if strings.HasPrefix(redirect, "http://") && !in.AllowNonTLSRedirect {
		return sqlResult{}, compileError("OAUTH_REDIRECT_URI must use TLS unless OAUTH_ALLOW_NON_TLS_REDIRECT_URI = TRUE")
	}
	if roles := opts["ALLOWED_ROLES_LIST"]; roles != "" {
		for _, r := range reLiteral.FindAllString(roles, -1) {
			if r = literal(r); r != "" {
				in.AllowedRoles = append(in.AllowedRoles, r)
			}
		}
	}
	s.integrations[in.ClientID] = &in
	s.integrationNames[name] = in.ClientID
	return status(fmt.Sprintf("Integration %s successfully created.", name)), nil
}

// showSecrets answers SYSTEM$SHOW_OAUTH_CLIENT_SECRETS with upper-case keys,
// as real outputs have them.
func (s *Server) showSecrets(name string) (sqlResult, *SQLError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.integrationNames[name]
	if !ok {
		return sqlResult{}, &SQLError{Status: 422, Code: "002003", SQLState: "02000", Message: "SQL compilation error: Integration '" + name + "' does not exist or not authorized."}
	}
	in := s.integrations[id]
	v, _ := json.Marshal(map[string]string{"OAUTH_CLIENT_SECRET_2": in.ClientSecret + "2", "OAUTH_CLIENT_SECRET": in.ClientSecret, "OAUTH_CLIENT_ID": in.ClientID})
	return sqlResult{columns: []string{"SYSTEM$SHOW_OAUTH_CLIENT_SECRETS('" + name + "')"}, rows: [][]*string{{str(string(v))}}}, nil
}

var reToolName = regexp.MustCompile(`(?m)^\s*-\s*name:\s*"?([^"\n]+)"?\s*$`)

func (s *Server) createMCPServer(name string, ifNotExists bool, spec string) (sqlResult, *SQLError) {
	parts := nameParts(name)
	if len(parts) != 3 {
		return sqlResult{}, compileError("MCP server name must be DATABASE.SCHEMA.NAME here")
	}
	srv := MCPServer{Database: parts[0], Schema: parts[1], Name: parts[2]}
	for _, m := range reToolName.FindAllStringSubmatch(spec, -1) {
		srv.Tools = append(srv.Tools, Tool{Name: m[1], Title: m[1], Description: "Tool " + m[1]})
	}
	if len(srv.Tools) == 0 {
		return sqlResult{}, compileError("the specification has no tools")
	}
	s.mu.Lock()
	key := mcpKey(srv.Database, srv.Schema, srv.Name)
	_, exists := s.mcpServers[key]
	if exists && ifNotExists {
		s.mu.Unlock()
		return status(srv.Name + " already exists, statement succeeded."), nil
	}
	srv.UsageRoles = []string{"ACCOUNTADMIN"} // only the owner until granted
	s.mcpServers[key] = &srv
	s.mu.Unlock()
	return status(fmt.Sprintf("MCP Server %s successfully created.", srv.Name)), nil
}

var (
	reIdentPart = regexp.MustCompile(`^` + identRE)
	reWholeName = regexp.MustCompile(`^` + nameRE + `$`)
)

// nameParts reads a dotted name (matched by nameRE) into its parts as
// Snowflake stores them: quoted parts unescaped, bare ones upper-cased.
func nameParts(s string) []string {
	var parts []string
	for s != "" {
		p := reIdentPart.FindString(s)
		if p == "" {
			return append(parts, strings.ToUpper(s))
		}
		if p[0] == '"' {
			parts = append(parts, strings.ReplaceAll(p[1:len(p)-1], `""`, `"`))
		} else {
			parts = append(parts, strings.ToUpper(p))
		}
		s = strings.TrimPrefix(s[len(p):], ".")
	}
	return parts
}

// unquote is a name as Snowflake stores it, parts joined with dots.
func unquote(s string) string { return strings.Join(nameParts(s), ".") }

// literal is the value of a '…' literal (a doubled quote is one, backslash
// escapes the next character); anything else is returned as it is.
func literal(s string) string {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return s
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		switch {
		case in[i] == '\\' && i+1 < len(in):
			i++
			if c, ok := escapes[in[i]]; ok {
				b.WriteByte(c)
			} else {
				b.WriteByte(in[i])
			}
		case in[i] == '\'' && i+1 < len(in) && in[i+1] == '\'':
			i++
			b.WriteByte('\'')
		default:
			b.WriteByte(in[i])
		}
	}
	return b.String()
}

var escapes = map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f', '0': 0}

// nameInLiteral reads an object name given as a string: identifier syntax
// inside the quotes ('DB.S."x"'), else the text as it is.
func nameInLiteral(lit string) string {
	v := literal(lit)
	if reWholeName.MatchString(v) {
		return unquote(v)
	}
	return v
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func compileError(msg string) *SQLError {
	return &SQLError{Status: 422, Code: "001003", SQLState: "42000", Message: "SQL compilation error: " + msg}
}

func privilegeError(what string) *SQLError {
	return &SQLError{Status: 422, Code: "003001", SQLState: "42501", Message: "SQL access control error: Insufficient privileges to operate on account; " + what + " is required."}
}
