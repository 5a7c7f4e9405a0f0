package snowflaketest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Programmatic access tokens: ADD, ROTATE, REMOVE and SHOW, with the rules
// listed in users.go.

type pat struct {
	name, role, comment string
	secret              string
	expires             time.Time
	created             time.Time
	disabled            bool
	rotatedAway         bool // the prior secret object after a rotation
}

var (
	reAddPAT          = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+ADD\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKEN|PAT)\s+(` + nameRE + `)(.*)$`)
	reRotatePAT       = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+ROTATE\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKEN|PAT)\s+(` + nameRE + `)(\s+EXPIRE_ROTATED_TOKEN_AFTER_HOURS\s*=\s*(\d+))?$`)
	reRemovePAT       = regexp.MustCompile(`(?is)^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(` + nameRE + `)\s+REMOVE\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKEN|PAT)\s+(IF\s+EXISTS\s+)?(` + nameRE + `)$`)
	reShowPATs        = regexp.MustCompile(`(?is)^SHOW\s+USER\s+(?:PROGRAMMATIC\s+ACCESS\s+TOKENS|PATS)(\s+FOR\s+USER\s+(` + nameRE + `))?$`)
	reDaysToExpiry    = regexp.MustCompile(`(?is)DAYS_TO_EXPIRY\s*=\s*(\d+)`)
	reRoleRestriction = regexp.MustCompile(`(?is)ROLE_RESTRICTION\s*=\s*(` + literalRE + `)`)
)

// Limits Snowflake documents for PATs.
const (
	maxPATsPerUser = 15
	defaultPATDays = 15
	maxPATDays     = 365
)

// addPATLocked: ALTER USER name ADD PROGRAMMATIC ACCESS TOKEN | PAT t
// [ROLE_RESTRICTION = 'r'] [DAYS_TO_EXPIRY = n] [COMMENT = '…']; answers
// with the token's name and its secret.
func (s *Server) addPATLocked(m []string) (sqlResult, *SQLError) {
	user := unquote(m[2])
	st, err := s.userStateLocked(m[2])
	if err != nil {
		return sqlResult{}, err
	}
	name, opts := unquote(m[3]), m[4]
	role := ""
	if r := reRoleRestriction.FindStringSubmatch(opts); r != nil {
		role = nameInLiteral(r[1])
	}
	now := s.now()
	if err := s.checkNewPATLocked(user, st, name, role, now); err != nil {
		return sqlResult{}, err
	}
	days := defaultPATDays
	if d := reDaysToExpiry.FindStringSubmatch(opts); d != nil {
		days, _ = strconv.Atoi(d[1])
	}
	if days < 1 || days > maxPATDays {
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

// checkNewPATLocked applies Snowflake's rules to a new PAT, in the order
// Snowflake reports them: a service user's token needs a role restriction
// and a network policy, the role must be granted, the name must be new,
// and the user may hold at most 15 unexpired tokens.
func (s *Server) checkNewPATLocked(user string, st *userState, name, role string, now time.Time) *SQLError {
	if st.kind == "SERVICE" && role == "" {
		return &SQLError{Status: 422, Code: "003164", SQLState: "22023", Message: "ROLE_RESTRICTION is required for programmatic access tokens of service users."}
	}
	if st.kind == "SERVICE" && st.networkPolicy == "" {
		return &SQLError{Status: 422, Code: "390432", SQLState: "08004", Message: "Network policy is required."}
	}
	if role != "" && !slices.Contains(s.users[user].Roles, role) {
		return &SQLError{Status: 422, Code: "003165", SQLState: "22023", Message: "Role '" + role + "' is not granted to user " + user + "."}
	}
	active := 0
	for _, p := range st.pats {
		if p.name == name {
			return &SQLError{Status: 422, Code: "002002", SQLState: "42710", Message: "Programmatic access token " + name + " already exists."}
		}
		if now.Before(p.expires) {
			active++
		}
	}
	if active >= maxPATsPerUser {
		return &SQLError{Status: 422, Code: "003166", SQLState: "54000", Message: "A user can have at most 15 programmatic access tokens."}
	}
	return nil
}

// rotatePATLocked: ALTER USER name ROTATE PROGRAMMATIC ACCESS TOKEN | PAT
// t [EXPIRE_ROTATED_TOKEN_AFTER_HOURS = h]. The token gets a new secret
// and a fresh lifetime; the old secret lives on, as a rotated object, for
// h hours (24 by default; 0 ends it at once).
func (s *Server) rotatePATLocked(m []string) (sqlResult, *SQLError) {
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
	now := s.now()
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

// removePATLocked: ALTER USER [IF EXISTS] name REMOVE PROGRAMMATIC ACCESS
// TOKEN | PAT [IF EXISTS] t; its secret stops working.
func (s *Server) removePATLocked(m []string) (sqlResult, *SQLError) {
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

// showPATsLocked: SHOW USER PROGRAMMATIC ACCESS TOKENS | PATS [FOR USER
// name], with the columns Snowflake documents.
func (s *Server) showPATsLocked(m []string) (sqlResult, *SQLError) {
	user := unquote(m[2])
	st, err := s.userStateLocked(m[2])
	if err != nil {
		return sqlResult{}, err
	}
	const at = "2006-01-02 15:04:05.000 -0700"
	now := s.now()
	res := sqlResult{columns: []string{"name", "user_name", "role_restriction", "expires_at", "status", "comment", "created_on", "created_by", "mins_to_bypass_network_policy_requirement", "rotated_to"}}
	for _, p := range st.pats {
		state := "ACTIVE"
		if !now.Before(p.expires) {
			state = "EXPIRED"
		} else if p.disabled {
			state = "DISABLED"
		}
		res.rows = append(res.rows, []*string{str(p.name), str(user), str(p.role), str(p.expires.UTC().Format(at)),
			str(state), str(p.comment), str(p.created.UTC().Format(at)), str("ADMIN"), nil, nil})
	}
	return res, nil
}

func (s *Server) revokePATLocked(p *pat) {
	if at := s.access[p.secret]; at != nil {
		at.revoked = true
	}
}

// patUsableLocked applies the network-policy rule when a PAT
// authenticates: a service user without a network policy cannot use one.
func (s *Server) patUsableLocked(t *accessToken) bool {
	if t.kind != "PROGRAMMATIC_ACCESS_TOKEN" {
		return true
	}
	st := s.userStates[t.user]
	return st == nil || st.kind != "SERVICE" || st.networkPolicy != ""
}
