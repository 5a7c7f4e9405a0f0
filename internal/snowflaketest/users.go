package snowflaketest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Service users, network rules and policies, authentication policies and
// programmatic access tokens, with the rules Snowflake documents:
//   - a SERVICE user needs a network policy to get or use a PAT (390432);
//   - ROLE_RESTRICTION is required for SERVICE users;
//   - a session authenticated with a PAT cannot manage PATs;
//   - at most 15 PATs per user;
//   - ROTATE keeps the old secret valid for EXPIRE_ROTATED_TOKEN_AFTER_HOURS.

type userState struct {
	kind          string // PERSON or SERVICE
	comment       string
	networkPolicy string
	authPolicy    string
	pats          []*pat
}

var (
	reCreateUser     = regexp.MustCompile(`(?is)^CREATE\s+USER\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)(.*)$`)
	reDropUser       = regexp.MustCompile(`(?is)^DROP\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reNetworkRule    = regexp.MustCompile(`(?is)^CREATE\s+(OR\s+REPLACE\s+)?NETWORK\s+RULE\s+(` + nameRE + `)\s+(.*)$`)
	reNetworkPolicy  = regexp.MustCompile(`(?is)^CREATE\s+NETWORK\s+POLICY\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)\s+(.*)$`)
	reAuthPolicy     = regexp.MustCompile(`(?is)^CREATE\s+AUTHENTICATION\s+POLICY\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)\s+(.*)$`)
	reDropObject     = regexp.MustCompile(`(?is)^DROP\s+(NETWORK\s+RULE|NETWORK\s+POLICY|AUTHENTICATION\s+POLICY)\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reAlterUserSet   = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(` + nameRE + `)\s+SET\s+(NETWORK_POLICY\s*=\s*(` + literalRE + `)|AUTHENTICATION\s+POLICY\s+(` + nameRE + `)(\s+FORCE)?)$`)
	reAlterUserUnset = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+UNSET\s+(NETWORK_POLICY|AUTHENTICATION\s+POLICY)$`)
	reDescribeUser   = regexp.MustCompile(`(?is)^DESC(?:RIBE)?\s+USER\s+(` + nameRE + `)$`)

	reServiceType  = regexp.MustCompile(`(?i)TYPE\s*=\s*SERVICE`)
	reDefaultRole  = regexp.MustCompile(`(?i)DEFAULT_ROLE\s*=\s*(` + nameRE + `)`)
	reComment      = regexp.MustCompile(`(?is)COMMENT\s*=\s*(` + literalRE + `)`)
	reLoginName    = regexp.MustCompile(`(?is)\bLOGIN_NAME\s*=\s*(` + literalRE + `)`)
	reEmail        = regexp.MustCompile(`(?is)\bEMAIL\s*=\s*(` + literalRE + `)`)
	reValueList    = regexp.MustCompile(`(?i)VALUE_LIST\s*=\s*\(`)
	reIPv4Type     = regexp.MustCompile(`(?i)TYPE\s*=\s*IPV4`)
	reAllowedRules = regexp.MustCompile(`(?i)ALLOWED_NETWORK_RULE_LIST\s*=\s*\(\s*(` + literalRE + `)`)
)

// accountStatement is one kind of statement about users, their policies
// and their PATs: the pattern that recognises it, and its handler, which
// gets the pattern's submatches and runs with s.mu held.
type accountStatement struct {
	re *regexp.Regexp
	// managesPATs: refused in a session authenticated with a PAT.
	managesPATs bool
	// roles may run it (nil: any role); others are refused for lack of
	// privilege.
	roles     []string
	privilege string
	exec      func(s *Server, m []string) (sqlResult, *SQLError)
}

// accountStatements are tried in this order; the first pattern that
// matches decides.
var accountStatements = []accountStatement{
	{re: reCreateUser, exec: (*Server).createUserLocked},
	{re: reDropUser, exec: (*Server).dropUserLocked},
	{re: reNetworkRule, exec: (*Server).createNetworkRuleLocked},
	{re: reNetworkPolicy, exec: (*Server).createNetworkPolicyLocked},
	{re: reAuthPolicy, exec: (*Server).createAuthPolicyLocked},
	{re: reDropObject, exec: (*Server).dropPolicyObjectLocked},
	{re: reAlterUserSet, exec: (*Server).setUserPolicyLocked},
	{re: reAlterUserUnset, exec: (*Server).unsetUserPolicyLocked},
	{re: reDescribeUser, exec: (*Server).describeUserLocked},
	{re: reAddPAT, managesPATs: true, exec: (*Server).addPATLocked},
	{re: reRotatePAT, managesPATs: true, exec: (*Server).rotatePATLocked},
	{re: reRemovePAT, managesPATs: true, exec: (*Server).removePATLocked},
	{re: reShowPATs, exec: (*Server).showPATsLocked},
}

// execAccountSQL handles the statements about users, their policies and their
// PATs, and those that bind MCP servers to an authorization server; ok is
// false when the statement is not one of them.
func (s *Server) execAccountSQL(tok accessToken, role, stmt string) (res sqlResult, sqlErr *SQLError, ok bool) {
	for _, k := range slices.Concat(accountStatements, mcpAuthStatements) {
		m := k.re.FindStringSubmatch(stmt)
		if m == nil {
			continue
		}
		if k.managesPATs && tok.kind == "PROGRAMMATIC_ACCESS_TOKEN" {
			return sqlResult{}, &SQLError{Status: 422, Code: "003001", SQLState: "42501", Message: "SQL access control error: a session authenticated with a programmatic access token cannot manage programmatic access tokens."}, true
		}
		if k.roles != nil && !slices.Contains(k.roles, role) {
			return sqlResult{}, privilegeError(k.privilege), true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		res, sqlErr = k.exec(s, m)
		return res, sqlErr, true
	}
	return sqlResult{}, nil, false
}

// createUserLocked: CREATE USER [IF NOT EXISTS] name [TYPE = SERVICE]
// [DEFAULT_ROLE = r] [LOGIN_NAME = '…'] [EMAIL = '…'] [COMMENT = '…'].
func (s *Server) createUserLocked(m []string) (sqlResult, *SQLError) {
	name, ifNotExists, props := unquote(m[2]), m[1] != "", m[3]
	if _, exists := s.users[name]; exists {
		if ifNotExists {
			return status(name + " already exists, statement succeeded."), nil
		}
		return sqlResult{}, alreadyExists(name)
	}
	st := &userState{kind: "PERSON"}
	if reServiceType.MatchString(props) {
		st.kind = "SERVICE"
	}
	if c := reComment.FindStringSubmatch(props); c != nil {
		st.comment = literal(c[1])
	}
	u := &User{Name: name}
	if d := reDefaultRole.FindStringSubmatch(props); d != nil {
		u.DefaultRole = unquote(d[1])
	}
	if l := reLoginName.FindStringSubmatch(props); l != nil {
		u.LoginName = literal(l[1])
	}
	if e := reEmail.FindStringSubmatch(props); e != nil {
		u.Email = literal(e[1])
	}
	s.users[name], s.userStates[name] = u, st
	return status("User " + name + " successfully created."), nil
}

// dropUserLocked: DROP USER [IF EXISTS] name; the user's PATs stop working.
func (s *Server) dropUserLocked(m []string) (sqlResult, *SQLError) {
	name, ifExists := unquote(m[2]), m[1] != ""
	if _, exists := s.users[name]; !exists {
		if ifExists {
			return status("Drop statement executed successfully (" + name + " already dropped)."), nil
		}
		return sqlResult{}, notExist("User", name)
	}
	delete(s.users, name)
	if st := s.userStates[name]; st != nil {
		for _, p := range st.pats {
			s.revokePATLocked(p)
		}
	}
	delete(s.userStates, name)
	return status(name + " successfully dropped."), nil
}

// createNetworkRuleLocked: CREATE [OR REPLACE] NETWORK RULE name … with
// TYPE = IPV4 and a VALUE_LIST, the only kind sfmcp creates.
func (s *Server) createNetworkRuleLocked(m []string) (sqlResult, *SQLError) {
	name, orReplace, props := unquote(m[2]), m[1] != "", m[3]
	if s.netRules[name] && !orReplace {
		return sqlResult{}, alreadyExists(name)
	}
	if !reValueList.MatchString(props) || !reIPv4Type.MatchString(props) {
		return sqlResult{}, compileError("network rule needs TYPE = IPV4 and VALUE_LIST")
	}
	s.netRules[name] = true
	return status("Network rule " + name + " successfully created."), nil
}

// createNetworkPolicyLocked: CREATE NETWORK POLICY [IF NOT EXISTS] name
// ALLOWED_NETWORK_RULE_LIST = ('rule', …); the first rule must exist.
func (s *Server) createNetworkPolicyLocked(m []string) (sqlResult, *SQLError) {
	name, ifNotExists, props := unquote(m[2]), m[1] != "", m[3]
	if s.netPolicies[name] {
		if ifNotExists {
			return status(name + " already exists, statement succeeded."), nil
		}
		return sqlResult{}, alreadyExists(name)
	}
	rules := reAllowedRules.FindStringSubmatch(props)
	if rules == nil || !s.netRules[nameInLiteral(rules[1])] {
		return sqlResult{}, compileError("network rule in ALLOWED_NETWORK_RULE_LIST does not exist")
	}
	s.netPolicies[name] = true
	return status("Network policy " + name + " successfully created."), nil
}

// createAuthPolicyLocked: CREATE AUTHENTICATION POLICY [IF NOT EXISTS] name ….
func (s *Server) createAuthPolicyLocked(m []string) (sqlResult, *SQLError) {
	name, ifNotExists := unquote(m[2]), m[1] != ""
	if s.authPolicies[name] && !ifNotExists {
		return sqlResult{}, alreadyExists(name)
	}
	s.authPolicies[name] = true
	return status("Authentication policy " + name + " successfully created."), nil
}

// dropPolicyObjectLocked: DROP NETWORK RULE | NETWORK POLICY |
// AUTHENTICATION POLICY [IF EXISTS] name; a policy attached to a user
// cannot be dropped.
func (s *Server) dropPolicyObjectLocked(m []string) (sqlResult, *SQLError) {
	kind, ifExists, name := strings.ToUpper(strings.Join(strings.Fields(m[1]), " ")), m[2] != "", unquote(m[3])
	set := map[string]map[string]bool{"NETWORK RULE": s.netRules, "NETWORK POLICY": s.netPolicies, "AUTHENTICATION POLICY": s.authPolicies}[kind]
	if !set[name] {
		if ifExists {
			return status("Drop statement executed successfully (" + name + " already dropped)."), nil
		}
		return sqlResult{}, notExist(kind, name)
	}
	for _, st := range s.userStates {
		if (kind == "NETWORK POLICY" && st.networkPolicy == name) || (kind == "AUTHENTICATION POLICY" && st.authPolicy == name) {
			return sqlResult{}, &SQLError{Status: 422, Code: "001538", SQLState: "42601", Message: "Cannot drop " + strings.ToLower(kind) + " " + name + " because it is attached to a user."}
		}
	}
	delete(set, name)
	return status(name + " successfully dropped."), nil
}

// setUserPolicyLocked: ALTER USER name SET NETWORK_POLICY = 'p' or SET
// AUTHENTICATION POLICY p [FORCE]; the policy must exist.
func (s *Server) setUserPolicyLocked(m []string) (sqlResult, *SQLError) {
	st, err := s.userStateLocked(m[1])
	if err != nil {
		return sqlResult{}, err
	}
	if m[3] != "" || strings.HasPrefix(strings.ToUpper(m[2]), "NETWORK_POLICY") {
		name := nameInLiteral(m[3])
		if !s.netPolicies[name] {
			return sqlResult{}, notExist("Network policy", name)
		}
		st.networkPolicy = name
	} else {
		name := unquote(m[4])
		if !s.authPolicies[name] {
			return sqlResult{}, notExist("Authentication policy", name)
		}
		st.authPolicy = name
	}
	return status("Statement executed successfully."), nil
}

// unsetUserPolicyLocked: ALTER USER [IF EXISTS] name UNSET NETWORK_POLICY
// or UNSET AUTHENTICATION POLICY.
func (s *Server) unsetUserPolicyLocked(m []string) (sqlResult, *SQLError) {
	st, err := s.userStateLocked(m[2])
	if err != nil {
		if m[1] != "" {
			return status("Statement executed successfully."), nil
		}
		return sqlResult{}, err
	}
	if strings.HasPrefix(strings.ToUpper(m[3]), "NETWORK") {
		st.networkPolicy = ""
	} else {
		st.authPolicy = ""
	}
	return status("Statement executed successfully."), nil
}

// describeUserLocked: DESC[RIBE] USER name.
func (s *Server) describeUserLocked(m []string) (sqlResult, *SQLError) {
	st, err := s.userStateLocked(m[1])
	if err != nil {
		return sqlResult{}, err
	}
	return describeUser(unquote(m[1]), s.users[unquote(m[1])], st), nil
}

// describeUser answers DESCRIBE USER as Snowflake documents it: one row
// per property, with property, property_type, property_value and
// property_default (a few of the properties).
func describeUser(name string, u *User, st *userState) sqlResult {
	res := sqlResult{columns: []string{"property", "property_type", "property_value", "property_default"}}
	row := func(prop string, v *string) {
		res.rows = append(res.rows, []*string{str(prop), str("String"), v, nil})
	}
	orNull := func(v string) *string {
		if v == "" {
			return nil
		}
		return str(v)
	}
	row("NAME", str(name))
	row("COMMENT", orNull(st.comment))
	row("TYPE", str(st.kind))
	row("DEFAULT_ROLE", orNull(u.DefaultRole))
	return res
}

// UserInfo is what the stand-in knows of a user, for tests to compare
// before and after.
type UserInfo struct {
	Type, Comment, NetworkPolicy, AuthPolicy string
	DefaultRole                              string
	Roles, PATs                              []string
}

// UserInfo returns a snapshot of a user (name as Snowflake stores it).
func (s *Server) UserInfo(name string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return UserInfo{}, false
	}
	info := UserInfo{Type: "PERSON", DefaultRole: u.DefaultRole, Roles: slices.Clone(u.Roles)}
	if st := s.userStates[name]; st != nil {
		info.Type, info.Comment, info.NetworkPolicy, info.AuthPolicy = st.kind, st.comment, st.networkPolicy, st.authPolicy
		for _, p := range st.pats {
			info.PATs = append(info.PATs, p.name)
		}
	}
	return info, true
}

// AdminSQL runs one statement as ALICE with role ACCOUNTADMIN, the way an
// administrator would in a worksheet, so a test can set the account up
// (it is recorded in Statements like any other).
func (s *Server) AdminSQL(stmt string) error {
	if _, err := s.execSQL(accessToken{kind: "OAUTH", user: DefaultUser, role: "ACCOUNTADMIN"}, "ACCOUNTADMIN", stmt); err != nil {
		return fmt.Errorf("%s: %s %s", stmt, err.Code, err.Message)
	}
	return nil
}

// userStateLocked is the state of the user named name (as written in a
// statement), made on first use for a user added with AddUser.
func (s *Server) userStateLocked(name string) (*userState, *SQLError) {
	n := unquote(name)
	st, ok := s.userStates[n]
	if !ok {
		if _, exists := s.users[n]; exists {
			st = &userState{kind: "PERSON"}
			s.userStates[n] = st
			return st, nil
		}
		return nil, notExist("User", n)
	}
	return st, nil
}

func notExist(kind, name string) *SQLError {
	return &SQLError{Status: 422, Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error: %s '%s' does not exist or not authorized.", kind, name)}
}

func alreadyExists(name string) *SQLError {
	return &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "SQL compilation error: Object '" + name + "' already exists."}
}
