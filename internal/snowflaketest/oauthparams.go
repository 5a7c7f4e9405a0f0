package snowflaketest

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// OAUTH_AUTHORIZATION_SERVER and OAUTH_SCOPES_SUPPORTED (GA 2026-07-22):
// "hierarchical parameters", "settable at the account, database, and schema
// levels using ALTER ACCOUNT, ALTER DATABASE, or ALTER SCHEMA", with
// "Snowflake's standard lineage inheritance: a schema-level value overrides
// a database-level value, which overrides an account-level value". They
// change what an MCP server's Protected Resource Metadata advertises and
// which OAuth tokens it takes; nothing else.

// The parameters' names.
const (
	ParamAuthorizationServer = "OAUTH_AUTHORIZATION_SERVER" // an External OAuth integration's name
	ParamScopesSupported     = "OAUTH_SCOPES_SUPPORTED"     // a comma-separated list of scopes
)

var oauthParams = []string{ParamAuthorizationServer, ParamScopesSupported}

// Level is where a parameter is set: the account (the zero Level), a
// database (Database), or a schema (Database and Schema). Names resolve
// case-insensitively, as MCP server names do here.
type Level struct{ Database, Schema string }

func (l Level) normalized() (Level, error) {
	if l.Schema != "" && l.Database == "" {
		return Level{}, errors.New("a schema level needs its database")
	}
	return Level{Database: strings.ToUpper(l.Database), Schema: strings.ToUpper(l.Schema)}, nil
}

// SetParameter sets an OAUTH_* parameter at a level, as ALTER … SET does;
// OAUTH_AUTHORIZATION_SERVER must name an External OAuth integration.
func (s *Server) SetParameter(l Level, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := l.normalized()
	if err != nil {
		return err
	}
	v, sqlErr := s.paramValueLocked(strings.ToUpper(name), value)
	if sqlErr != nil {
		return errors.New(sqlErr.Message)
	}
	s.storeParamLocked(l, strings.ToUpper(name), v)
	return nil
}

// UnsetParameter unsets an OAUTH_* parameter at a level (ALTER … UNSET),
// so the level inherits it again.
func (s *Server) UnsetParameter(l Level, name string) error {
	return s.SetParameter(l, name, "")
}

// BindAuthorizationServer sets OAUTH_AUTHORIZATION_SERVER at l to the
// External OAuth integration named integration.
func (s *Server) BindAuthorizationServer(l Level, integration string) error {
	return s.SetParameter(l, ParamAuthorizationServer, integration)
}

// UnbindAuthorizationServer unsets OAUTH_AUTHORIZATION_SERVER at l.
func (s *Server) UnbindAuthorizationServer(l Level) error {
	return s.UnsetParameter(l, ParamAuthorizationServer)
}

// EffectiveParameter is the value of an OAUTH_* parameter for the MCP
// servers of database.schema: the schema's, else the database's, else the
// account's ("" when unset everywhere).
func (s *Server) EffectiveParameter(database, schema, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.effectiveParamLocked(database, schema, strings.ToUpper(name))
}

func (s *Server) effectiveParamLocked(database, schema, name string) string {
	db, sc := strings.ToUpper(database), strings.ToUpper(schema)
	for _, l := range []Level{{db, sc}, {db, ""}, {}} {
		if v := s.oauthParams[l][name]; v != "" {
			return v
		}
	}
	return ""
}

// paramValueLocked checks a value for name and returns it as stored: an
// integration's name upper-cased, a scope list without blanks; "" unsets.
func (s *Server) paramValueLocked(name, value string) (string, *SQLError) {
	switch name {
	case ParamAuthorizationServer:
		v := strings.ToUpper(strings.TrimSpace(value))
		if v == "" {
			return "", nil
		}
		if _, ok := s.externalOAuth[v]; ok {
			return v, nil
		}
		if s.integrationNames[v] != "" {
			// [UNVERIFIED] text: Snowflake's error for a non-External OAuth integration.
			return "", compileError("integration " + v + " is not an External OAuth security integration")
		}
		return "", notExist("Integration", v)
	case ParamScopesSupported:
		// [UNVERIFIED] accepted values: any non-empty scope strings.
		scopes := strings.FieldsFunc(value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		return strings.Join(scopes, ","), nil
	}
	return "", compileError("invalid parameter '" + name + "'")
}

func (s *Server) storeParamLocked(l Level, name, value string) {
	if value == "" {
		delete(s.oauthParams[l], name)
		return
	}
	if s.oauthParams[l] == nil {
		s.oauthParams[l] = map[string]string{}
	}
	s.oauthParams[l][name] = value
}

var (
	reAlterAccountParams = regexp.MustCompile(`(?is)^ALTER\s+ACCOUNT\s+(SET|UNSET)\s+(.+)$`)
	reAlterObjectParams  = regexp.MustCompile(`(?is)^ALTER\s+(DATABASE|SCHEMA)\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+(SET|UNSET)\s+(.+)$`)
)

// mcpAuthStatements set and unset the parameters. ALTER ACCOUNT … SET takes
// ACCOUNTADMIN; ALTER DATABASE and SCHEMA take the owner, which the
// stand-in (which has no ownership) grants to its administrative roles.
var mcpAuthStatements = []accountStatement{
	{re: reAlterAccountParams, roles: []string{"ACCOUNTADMIN"}, privilege: "ALTER ACCOUNT",
		exec: func(s *Server, m []string) (sqlResult, *SQLError) { return s.alterParamsLocked(Level{}, m[1], m[2]) }},
	{re: reAlterObjectParams, roles: adminRoles, privilege: "OWNERSHIP", exec: (*Server).alterObjectParamsLocked},
	{re: reShowParams, exec: (*Server).showParamsLocked},
}

// alterObjectParamsLocked: ALTER DATABASE [IF EXISTS] db SET|UNSET … or
// ALTER SCHEMA [IF EXISTS] db.schema SET|UNSET …. A schema needs its
// database named: the stand-in has no current database.
func (s *Server) alterObjectParamsLocked(m []string) (sqlResult, *SQLError) {
	parts := nameParts(m[3])
	var l Level
	switch {
	case strings.EqualFold(m[1], "DATABASE") && len(parts) == 1:
		l = Level{Database: parts[0]}
	case strings.EqualFold(m[1], "SCHEMA") && len(parts) == 2:
		l = Level{Database: parts[0], Schema: parts[1]}
	default:
		return sqlResult{}, compileError("invalid " + strings.ToLower(m[1]) + " name " + m[3])
	}
	l, _ = l.normalized()
	return s.alterParamsLocked(l, m[4], m[5])
}

// alterParamsLocked: SET name = value [name = value …] or UNSET name [, …],
// all checked before any is applied.
func (s *Server) alterParamsLocked(l Level, verb, body string) (sqlResult, *SQLError) {
	values := map[string]string{}
	if strings.EqualFold(verb, "UNSET") {
		for _, name := range strings.FieldsFunc(body, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			values[strings.ToUpper(name)] = ""
		}
	} else {
		for _, o := range reOption.FindAllStringSubmatch(body, -1) {
			values[strings.ToUpper(o[1])] = o[2]
		}
	}
	if len(values) == 0 {
		return sqlResult{}, compileError("nothing to " + strings.ToLower(verb))
	}
	for name, raw := range values {
		if !slices.Contains(oauthParams, name) {
			return sqlResult{}, compileError("invalid parameter '" + name + "'")
		}
		v := literal(raw)
		if name == ParamAuthorizationServer && raw != "" {
			v = nameInLiteral(raw) // 'OKTA_EXT', 'okta_ext' or a bare OKTA_EXT ([UNVERIFIED] which forms Snowflake takes)
		}
		v, err := s.paramValueLocked(name, v)
		if err != nil {
			return sqlResult{}, err
		}
		values[name] = v
	}
	for name, v := range values {
		s.storeParamLocked(l, name, v)
	}
	return status("Statement executed successfully."), nil
}

var reShowParams = regexp.MustCompile(`(?is)^SHOW\s+PARAMETERS(?:\s+LIKE\s+(` + literalRE + `))?\s+IN\s+(ACCOUNT|DATABASE\s+(` + nameRE + `)|SCHEMA\s+(` + nameRE + `))$`)

// showParamsLocked: SHOW PARAMETERS [LIKE '…'] IN ACCOUNT | DATABASE db |
// SCHEMA db.schema, for the OAUTH_* parameters only (the stand-in keeps no
// others), with the columns Snowflake documents; level is where the
// effective value was set ("" when unset everywhere).
func (s *Server) showParamsLocked(m []string) (sqlResult, *SQLError) {
	var l Level
	switch {
	case m[3] != "" && len(nameParts(m[3])) == 1:
		l = Level{Database: nameParts(m[3])[0]}
	case m[4] != "" && len(nameParts(m[4])) == 2:
		l = Level{Database: nameParts(m[4])[0], Schema: nameParts(m[4])[1]}
	case m[3] != "" || m[4] != "":
		return sqlResult{}, compileError("invalid name in SHOW PARAMETERS")
	}
	l, _ = l.normalized()
	chain := []Level{l} // where a value for l may come from, nearest first
	if l.Schema != "" {
		chain = append(chain, Level{Database: l.Database})
	}
	if l != (Level{}) {
		chain = append(chain, Level{})
	}
	pattern := "%"
	if m[1] != "" {
		pattern = literal(m[1])
	}
	like := regexp.MustCompile(`(?is)^` + strings.NewReplacer("%", ".*", "_", ".").Replace(regexp.QuoteMeta(pattern)) + `$`)
	res := sqlResult{columns: []string{"key", "value", "default", "level", "description", "type"}}
	for _, name := range oauthParams {
		if !like.MatchString(name) {
			continue
		}
		value, level := "", ""
		for _, at := range chain {
			if v := s.oauthParams[at][name]; v != "" {
				value, level = v, levelName(at)
				break
			}
		}
		res.rows = append(res.rows, []*string{str(name), str(value), str(""), str(level), str(""), str("STRING")})
	}
	return res, nil
}

func levelName(l Level) string {
	switch {
	case l.Schema != "":
		return "SCHEMA"
	case l.Database != "":
		return "DATABASE"
	}
	return "ACCOUNT"
}
