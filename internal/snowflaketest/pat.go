package snowflaketest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Service users, network rules and policies, authentication policies and
// programmatic access tokens, with the rules Snowflake documents:
//   - a SERVICE user needs a network policy to get or use a PAT (390432);
//   - ROLE_RESTRICTION is required for SERVICE users;
//   - a session authenticated with a PAT cannot manage PATs;
//   - at most 15 PATs per user;
//   - ROTATE keeps the old secret valid for EXPIRE_ROTATED_TOKEN_AFTER_HOURS.

type pat struct {
	name, role, comment string
	secret              string
	expires             time.Time
	created             time.Time
	disabled            bool
	rotatedAway         bool // the prior secret object after a rotation
}

type userState struct {
	kind          string // PERSON or SERVICE
	comment       string
	networkPolicy string
	authPolicy    string
	pats          []*pat
}

var (
	reCreateUser      = regexp.MustCompile(`(?is)^CREATE\s+USER\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)(.*)$`)
	reDropUser        = regexp.MustCompile(`(?is)^DROP\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reNetworkRule     = regexp.MustCompile(`(?is)^CREATE\s+(OR\s+REPLACE\s+)?NETWORK\s+RULE\s+(` + nameRE + `)\s+(.*)$`)
	reNetworkPolicy   = regexp.MustCompile(`(?is)^CREATE\s+NETWORK\s+POLICY\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)\s+(.*)$`)
	reAuthPolicy      = regexp.MustCompile(`(?is)^CREATE\s+AUTHENTICATION\s+POLICY\s+(IF\s+NOT\s+EXISTS\s+)?(` + nameRE + `)\s+(.*)$`)
	reDropObject      = regexp.MustCompile(`(?is)^DROP\s+(NETWORK\s+RULE|NETWORK\s+POLICY|AUTHENTICATION\s+POLICY)\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reAlterUserSet    = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(` + nameRE + `)\s+SET\s+(NETWORK_POLICY\s*=\s*(` + literalRE + `)|AUTHENTICATION\s+POLICY\s+(` + nameRE + `)(\s+FORCE)?)$`)
	reAlterUserUnset  = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+UNSET\s+(NETWORK_POLICY|AUTHENTICATION\s+POLICY)$`)
	reAddPAT          = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+ADD\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKEN|PAT)\s+(` + nameRE + `)(.*)$`)
	reRotatePAT       = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+ROTATE\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKEN|PAT)\s+(` + nameRE + `)(\s+EXPIRE_ROTATED_TOKEN_AFTER_HOURS\s*=\s*(\d+))?$`)
	reRemovePAT       = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+REMOVE\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKEN|PAT)\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reDescribeUser    = regexp.MustCompile(`(?is)^DESC(?:RIBE)?\s+USER\s+(` + nameRE + `)$`)
	reShowPATs        = regexp.MustCompile(`(?is)^SHOW\s+USER\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKENS|PATS)(\s+FOR\s+USER\s+(` + nameRE + `))?$`)
	reDaysToExpiry    = regexp.MustCompile(`(?is)DAYS_TO_EXPIRY\s*=\s*(\d+)`)
	reRoleRestriction = regexp.MustCompile(`(?is)ROLE_RESTRICTION\s*=\s*(` + literalRE + `)`)
	reComment         = regexp.MustCompile(`(?is)COMMENT\s*=\s*(` + literalRE + `)`)
)

// execPATSQL handles the service-account statements; ok is false when the
// statement is not one of them.
func (s *Server) execPATSQL(tok accessToken, role, stmt string) (res sqlResult, sqlErr *SQLError, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userStates == nil {
		s.userStates = map[string]*userState{}
		s.netPolicies = map[string]bool{}
		s.netRules = map[string]bool{}
		s.authPolicies = map[string]bool{}
	}
	switch {
	case reCreateUser.MatchString(stmt):
		m := reCreateUser.FindStringSubmatch(stmt)
		name := unquote(m[2])
		if _, exists := s.users[name]; exists {
			if m[1] != "" {
				return status(name + " already exists, statement succeeded."), nil, true
			}
			return sqlResult{}, &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "SQL compilation error: Object '" + name + "' already exists."}, true
		}
		st := &userState{kind: "PERSON"}
		if regexp.MustCompile(`(?i)TYPE\s*=\s*SERVICE`).MatchString(m[3]) {
			st.kind = "SERVICE"
		}
		if c := reComment.FindStringSubmatch(m[3]); c != nil {
			st.comment = literal(c[1])
		}
		u := &User{Name: name}
		if d := regexp.MustCompile(`(?i)DEFAULT_ROLE\s*=\s*(` + nameRE + `)`).FindStringSubmatch(m[3]); d != nil {
			u.DefaultRole = unquote(d[1])
		}
		s.users[name], s.userStates[name] = u, st
		return status("User " + name + " successfully created."), nil, true
	case reDropUser.MatchString(stmt):
		m := reDropUser.FindStringSubmatch(stmt)
		name := unquote(m[2])
		if _, exists := s.users[name]; !exists {
			if m[1] != "" {
				return status("Drop statement executed successfully (" + name + " already dropped)."), nil, true
			}
			return sqlResult{}, notExist("User", name), true
		}
		delete(s.users, name)
		if st := s.userStates[name]; st != nil {
			for _, p := range st.pats {
				s.revokePATLocked(p)
			}
		}
		delete(s.userStates, name)
		return status(name + " successfully dropped."), nil, true
	case reNetworkRule.MatchString(stmt):
		m := reNetworkRule.FindStringSubmatch(stmt)
		name := unquote(m[2])
		if s.netRules[name] && m[1] == "" {
			return sqlResult{}, &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "SQL compilation error: Object '" + name + "' already exists."}, true
		}
		if !regexp.MustCompile(`(?i)VALUE_LIST\s*=\s*\(`).MatchString(m[3]) || !regexp.MustCompile(`(?i)TYPE\s*=\s*IPV4`).MatchString(m[3]) {
			return sqlResult{}, compileError("network rule needs TYPE = IPV4 and VALUE_LIST"), true
		}
		s.netRules[name] = true
		return status("Network rule " + name + " successfully created."), nil, true
	case reNetworkPolicy.MatchString(stmt):
		m := reNetworkPolicy.FindStringSubmatch(stmt)
		name := unquote(m[2])
		if s.netPolicies[name] {
			if m[1] != "" {
				return status(name + " already exists, statement succeeded."), nil, true
			}
			return sqlResult{}, &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "SQL compilation error: Object '" + name + "' already exists."}, true
		}
		rules := regexp.MustCompile(`(?i)ALLOWED_NETWORK_RULE_LIST\s*=\s*\(\s*(` + literalRE + `)`).FindStringSubmatch(m[3])
		if rules == nil || !s.netRules[nameInLiteral(rules[1])] {
			return sqlResult{}, compileError("network rule in ALLOWED_NETWORK_RULE_LIST does not exist"), true
		}
		s.netPolicies[name] = true
		return status("Network policy " + name + " successfully created."), nil, true
	case reAuthPolicy.MatchString(stmt):
		m := reAuthPolicy.FindStringSubmatch(stmt)
		name := unquote(m[2])
		if s.authPolicies[name] && m[1] == "" {
			return sqlResult{}, &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "SQL compilation error: Object '" + name + "' already exists."}, true
		}
		s.authPolicies[name] = true
		return status("Authentication policy " + name + " successfully created."), nil, true
	case reDropObject.MatchString(stmt):
		m := reDropObject.FindStringSubmatch(stmt)
		kind, name := strings.ToUpper(strings.Join(strings.Fields(m[1]), " ")), unquote(m[3])
		set := map[string]map[string]bool{"NETWORK RULE": s.netRules, "NETWORK POLICY": s.netPolicies, "AUTHENTICATION POLICY": s.authPolicies}[kind]
		if !set[name] {
			if m[2] != "" {
				return status("Drop statement executed successfully (" + name + " already dropped)."), nil, true
			}
			return sqlResult{}, notExist(kind, name), true
		}
		for _, st := range s.userStates {
			if (kind == "NETWORK POLICY" && st.networkPolicy == name) || (kind == "AUTHENTICATION POLICY" && st.authPolicy == name) {
				return sqlResult{}, &SQLError{Status: 422, Code: "001538", SQLState: "42601", Message: "Cannot drop " + strings.ToLower(kind) + " " + name + " because it is attached to a user."}, true
			}
		}
		delete(set, name)
		return status(name + " successfully dropped."), nil, true
	case reAlterUserSet.MatchString(stmt):
		m := reAlterUserSet.FindStringSubmatch(stmt)
		st, err := s.userStateLocked(m[1])
		if err != nil {
			return sqlResult{}, err, true
		}
		if m[3] != "" || strings.HasPrefix(strings.ToUpper(m[2]), "NETWORK_POLICY") {
			name := nameInLiteral(m[3])
			if !s.netPolicies[name] {
				return sqlResult{}, notExist("Network policy", name), true
			}
			st.networkPolicy = name
		} else {
			name := unquote(m[4])
			if !s.authPolicies[name] {
				return sqlResult{}, notExist("Authentication policy", name), true
			}
			st.authPolicy = name
		}
		return status("Statement executed successfully."), nil, true
	case reAlterUserUnset.MatchString(stmt):
		m := reAlterUserUnset.FindStringSubmatch(stmt)
		st, err := s.userStateLocked(m[2])
		if err != nil {
			if m[1] != "" {
				return status("Statement executed successfully."), nil, true
			}
			return sqlResult{}, err, true
		}
		if strings.HasPrefix(strings.ToUpper(m[3]), "NETWORK") {
			st.networkPolicy = ""
		} else {
			st.authPolicy = ""
		}
		return status("Statement executed successfully."), nil, true
	case reDescribeUser.MatchString(stmt):
		m := reDescribeUser.FindStringSubmatch(stmt)
		st, err := s.userStateLocked(m[1])
		if err != nil {
			return sqlResult{}, err, true
		}
		return describeUser(unquote(m[1]), s.users[unquote(m[1])], st), nil, true
	case reAddPAT.MatchString(stmt), reRotatePAT.MatchString(stmt), reRemovePAT.MatchString(stmt), reShowPATs.MatchString(stmt):
		if tok.kind == "PROGRAMMATIC_ACCESS_TOKEN" && !reShowPATs.MatchString(stmt) {
			return sqlResult{}, &SQLError{Status: 422, Code: "003001", SQLState: "42501", Message: "SQL access control error: a session authenticated with a programmatic access token cannot manage programmatic access tokens."}, true
		}
		res, err := s.patStatementLocked(stmt)
		return res, err, true
	}
	return sqlResult{}, nil, false
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

func (s *Server) patStatementLocked(stmt string) (sqlResult, *SQLError) {
	now := s.now()
	if m := reAddPAT.FindStringSubmatch(stmt); m != nil {
		user := unquote(m[2])
		st, err := s.userStateLocked(m[2])
		if err != nil {
			return sqlResult{}, err
		}
		name := unquote(m[3])
		opts := m[4]
		role := ""
		if r := reRoleRestriction.FindStringSubmatch(opts); r != nil {
			role = nameInLiteral(r[1])
		}
		if st.kind == "SERVICE" && role == "" {
			return sqlResult{}, &SQLError{Status: 422, Code: "003164", SQLState: "22023", Message: "ROLE_RESTRICTION is required for programmatic access tokens of service users."}
		}
		if st.kind == "SERVICE" && st.networkPolicy == "" {
			return sqlResult{}, &SQLError{Status: 422, Code: "390432", SQLState: "08004", Message: "Network policy is required."}
		}
		if role != "" && !slices.Contains(s.users[user].Roles, role) {
			return sqlResult{}, &SQLError{Status: 422, Code: "003165", SQLState: "22023", Message: "Role '" + role + "' is not granted to user " + user + "."}
		}
		active := 0
		for _, p := range st.pats {
			if p.name == name {
				return sqlResult{}, &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "Programmatic access token " + name + " already exists."}
			}
			if now.Before(p.expires) {
				active++
			}
		}
		if active >= 15 {
			return sqlResult{}, &SQLError{Status: 422, Code: "003166", SQLState: "54000", Message: "A user can have at most 15 programmatic access tokens."}
		}
		days := 15
		if d := reDaysToExpiry.FindStringSubmatch(opts); d != nil {
			days, _ = strconv.Atoi(d[1])
		}
		if days < 1 || days > 365 {
			return sqlResult{}, &SQLError{Status: 422, Code: "003167", SQLState: "22023", Message: "DAYS_TO_EXPIRY must be between 1 and 365."}
		}
		p := &pat{name: name, role: role, created: now, expires: now.Add(time.Duration(days) * 24 * time.Hour), secret: newSecret("pat-")}
		if c := reComment.FindStringSubmatch(opts); c != nil {
			p.comment = literal(c[1])
		}
		st.pats = append(st.pats, p)
		s.access[p.secret] = &accessToken{kind: "PROGRAMMATIC_ACCESS_TOKEN", user: user, role: role, expires: p.expires}
		return sqlResult{columns: []string{"token_name", "token_secret"}, rows: [][]*string{{str(name), str(p.secret)}}}, nil
	}
	if m := reRotatePAT.FindStringSubmatch(stmt); m != nil {
		user := unquote(m[2])
		st, err := s.userStateLocked(m[2])
		if err != nil {
			return sqlResult{}, err
		}
		name := unquote(m[3])
		i := slices.IndexFunc(st.pats, func(p *pat) bool { return p.name == name && !p.rotatedAway })
		if i < 0 {
			return sqlResult{}, notExist("Programmatic access token", name)
		}
		old := st.pats[i]
		hours := 24
		if m[5] != "" {
			hours, _ = strconv.Atoi(m[5])
		}
		// The old secret lives on as a rotated object for the given hours.
		rotated := &pat{name: fmt.Sprintf("%s_ROTATED_%d", name, now.Unix()), role: old.role, secret: old.secret, created: old.created,
			expires: now.Add(time.Duration(hours) * time.Hour), rotatedAway: true}
		if at := s.access[old.secret]; at != nil {
			at.expires = rotated.expires
			if hours == 0 {
				at.revoked = true
			}
		}
		lifetime := old.expires.Sub(old.created)
		old.secret, old.created, old.expires = newSecret("pat-"), now, now.Add(lifetime)
		s.access[old.secret] = &accessToken{kind: "PROGRAMMATIC_ACCESS_TOKEN", user: user, role: old.role, expires: old.expires}
		st.pats = append(st.pats, rotated)
		return sqlResult{columns: []string{"token_name", "token_secret", "rotated_token_name"}, rows: [][]*string{{str(name), str(old.secret), str(rotated.name)}}}, nil
	}
	if m := reRemovePAT.FindStringSubmatch(stmt); m != nil {
		st, err := s.userStateLocked(m[2])
		if err != nil {
			if m[1] != "" {
				return status("Statement executed successfully."), nil
			}
			return sqlResult{}, err
		}
		name := unquote(m[4])
		i := slices.IndexFunc(st.pats, func(p *pat) bool { return p.name == name })
		if i < 0 {
			if m[3] != "" {
				return status("Statement executed successfully."), nil
			}
			return sqlResult{}, notExist("Programmatic access token", name)
		}
		s.revokePATLocked(st.pats[i])
		st.pats = slices.Delete(st.pats, i, i+1)
		return status("Statement executed successfully."), nil
	}
	m := reShowPATs.FindStringSubmatch(stmt)
	user := unquote(m[2])
	st, err := s.userStateLocked(m[2])
	if err != nil {
		return sqlResult{}, err
	}
	res := sqlResult{columns: []string{"name", "user_name", "role_restriction", "expires_at", "status", "comment", "created_on", "created_by", "mins_to_bypass_network_policy_requirement", "rotated_to"}}
	for _, p := range st.pats {
		state := "ACTIVE"
		if !now.Before(p.expires) {
			state = "EXPIRED"
		} else if p.disabled {
			state = "DISABLED"
		}
		res.rows = append(res.rows, []*string{str(p.name), str(user), str(p.role), str(p.expires.UTC().Format("2006-01-02 15:04:05.000 -0700")),
			str(state), str(p.comment), str(p.created.UTC().Format("2006-01-02 15:04:05.000 -0700")), str("ADMIN"), nil, nil})
	}
	return res, nil
}

func (s *Server) revokePATLocked(p *pat) {
	if at := s.access[p.secret]; at != nil {
		at.revoked = true
	}
}

// patUsable applies the network-policy rule when a PAT authenticates: a
// service user without a network policy cannot use one.
func (s *Server) patUsableLocked(t *accessToken) bool {
	if t.kind != "PROGRAMMATIC_ACCESS_TOKEN" {
		return true
	}
	st := s.userStates[t.user]
	return st == nil || st.kind != "SERVICE" || st.networkPolicy != ""
}

func notExist(kind, name string) *SQLError {
	return &SQLError{Status: 422, Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error: %s '%s' does not exist or not authorized.", kind, name)}
}
