package snowflake

import (
	"fmt"
	"net/netip"
	"strings"
)

// ServiceAccount is what `pat create` sets up for automation.
type ServiceAccount struct {
	User         string   `json:"user"`
	Role         string   `json:"role"`
	Database     string   `json:"database"`
	RuleSchema   string   `json:"rule_schema"`   // default NETWORKS
	PolicySchema string   `json:"policy_schema"` // default POLICIES
	AllowIPs     []string `json:"allow_ips"`
	Days         int      `json:"days"`       // PAT lifetime, default 30
	TokenName    string   `json:"token_name"` // default <USER>_PAT
	AdminRole    string   `json:"admin_role"` // default ACCOUNTADMIN
}

// Step is one resource of the setup, with the SQL that creates it and the
// SQL that removes it.
type Step struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Name   string   `json:"name"` // fully qualified
	Create []string `json:"sql"`
	Remove []string `json:"undo_sql"`
}

// Step ids, in order.
const (
	StepUser          = "user"
	StepNetworkRule   = "network_rule"
	StepNetworkPolicy = "network_policy"
	StepAuthPolicy    = "authentication_policy"
	StepPAT           = "pat"
)

// Normalize fills defaults and validates every input before any SQL runs.
func (a *ServiceAccount) Normalize() error {
	if a.User == "" || a.Role == "" || a.Database == "" {
		return fmt.Errorf("user, role and database are required")
	}
	if a.RuleSchema == "" {
		a.RuleSchema = "NETWORKS"
	}
	if a.PolicySchema == "" {
		a.PolicySchema = "POLICIES"
	}
	if a.Days == 0 {
		a.Days = 30
	}
	if a.Days < 1 || a.Days > 365 {
		return fmt.Errorf("--days %d: a PAT lives 1 to 365 days", a.Days)
	}
	if a.AdminRole == "" {
		a.AdminRole = "ACCOUNTADMIN"
	}
	if len(a.AllowIPs) == 0 {
		return fmt.Errorf("give at least one --allow-ip: Snowflake requires a network policy for a service user's PAT")
	}
	for _, ip := range a.AllowIPs {
		if err := checkIPv4(ip); err != nil {
			return err
		}
	}
	for _, n := range []struct{ flag, v string }{{"--user", a.User}, {"--role", a.Role}, {"--db", a.Database}, {"--schema", a.RuleSchema}, {"--schema", a.PolicySchema}, {"--admin-role", a.AdminRole}} {
		if _, err := Name(n.v, 1); err != nil {
			return fmt.Errorf("%s: %w", n.flag, err)
		}
	}
	if a.TokenName == "" {
		a.TokenName = Unquoted(mustIdent(a.User)) + "_PAT"
	}
	if _, err := Ident(a.TokenName); err != nil {
		return fmt.Errorf("--token-name: %w", err)
	}
	return nil
}

func mustIdent(s string) string {
	q, _ := Ident(s)
	return q
}

// checkIPv4 accepts an IPv4 address or CIDR range, as an IPV4 network
// rule does.
func checkIPv4(s string) error {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("--allow-ip %q is not an IPv4 CIDR range", s)
		}
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return fmt.Errorf("--allow-ip %q is not an IPv4 address", s)
	}
	return nil
}

// Steps returns the plan, in order. Normalize first.
func (a ServiceAccount) Steps() []Step {
	user, role := mustIdent(a.User), mustIdent(a.Role)
	db := mustIdent(a.Database)
	base := Unquoted(user)
	rule := db + "." + mustIdent(a.RuleSchema) + "." + mustIdent(base+"_NETWORK_RULE")
	policy := mustIdent(base + "_NETWORK_POLICY")
	auth := db + "." + mustIdent(a.PolicySchema) + "." + mustIdent(base+"_AUTH_POLICY")
	token := mustIdent(a.TokenName)
	ips := make([]string, len(a.AllowIPs))
	for i, ip := range a.AllowIPs {
		ips[i] = Literal(ip)
	}
	return []Step{
		{ID: StepUser, Kind: "USER", Name: user,
			Create: []string{
				fmt.Sprintf("CREATE USER IF NOT EXISTS %s TYPE = SERVICE DEFAULT_ROLE = %s COMMENT = 'sfmcp service account'", user, role),
				fmt.Sprintf("GRANT ROLE %s TO USER %s", role, user),
			},
			Remove: []string{fmt.Sprintf("DROP USER IF EXISTS %s", user)}},
		{ID: StepNetworkRule, Kind: "NETWORK RULE", Name: rule,
			Create: []string{fmt.Sprintf("CREATE OR REPLACE NETWORK RULE %s MODE = INGRESS TYPE = IPV4 VALUE_LIST = (%s) COMMENT = 'sfmcp: where %s may connect from'", rule, strings.Join(ips, ", "), Unquoted(user))},
			Remove: []string{fmt.Sprintf("DROP NETWORK RULE IF EXISTS %s", rule)}},
		{ID: StepNetworkPolicy, Kind: "NETWORK POLICY", Name: policy,
			Create: []string{
				fmt.Sprintf("CREATE NETWORK POLICY IF NOT EXISTS %s ALLOWED_NETWORK_RULE_LIST = (%s)", policy, Literal(rule)),
				fmt.Sprintf("ALTER USER %s SET NETWORK_POLICY = %s", user, Literal(Unquoted(policy))),
			},
			Remove: []string{fmt.Sprintf("ALTER USER IF EXISTS %s UNSET NETWORK_POLICY", user), fmt.Sprintf("DROP NETWORK POLICY IF EXISTS %s", policy)}},
		{ID: StepAuthPolicy, Kind: "AUTHENTICATION POLICY", Name: auth,
			Create: []string{
				fmt.Sprintf("CREATE AUTHENTICATION POLICY IF NOT EXISTS %s AUTHENTICATION_METHODS = ('PROGRAMMATIC_ACCESS_TOKEN') PAT_POLICY = (MAX_EXPIRY_IN_DAYS = %d)", auth, max(a.Days, 15)),
				fmt.Sprintf("ALTER USER %s SET AUTHENTICATION POLICY %s", user, auth),
			},
			Remove: []string{fmt.Sprintf("ALTER USER IF EXISTS %s UNSET AUTHENTICATION POLICY", user), fmt.Sprintf("DROP AUTHENTICATION POLICY IF EXISTS %s", auth)}},
		{ID: StepPAT, Kind: "PROGRAMMATIC ACCESS TOKEN", Name: Unquoted(user) + "." + Unquoted(token),
			Create: []string{fmt.Sprintf("ALTER USER %s ADD PROGRAMMATIC ACCESS TOKEN %s ROLE_RESTRICTION = %s DAYS_TO_EXPIRY = %d COMMENT = 'sfmcp'", user, token, Literal(Unquoted(role)), a.Days)},
			Remove: []string{fmt.Sprintf("ALTER USER IF EXISTS %s REMOVE PROGRAMMATIC ACCESS TOKEN IF EXISTS %s", user, token)}},
	}
}

// RotateSQL rotates the PAT, keeping the old secret valid for hours.
func (a ServiceAccount) RotateSQL(hours int) string {
	return fmt.Sprintf("ALTER USER %s ROTATE PROGRAMMATIC ACCESS TOKEN %s EXPIRE_ROTATED_TOKEN_AFTER_HOURS = %d", mustIdent(a.User), mustIdent(a.TokenName), hours)
}

// ShowPATsSQL lists the user's PATs.
func (a ServiceAccount) ShowPATsSQL() string {
	return "SHOW USER PROGRAMMATIC ACCESS TOKENS FOR USER " + mustIdent(a.User)
}
