package snowflake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// External OAuth (an identity provider's JWTs) for MCP servers, after
// Snowflake's CREATE SECURITY INTEGRATION (External OAuth) reference and
// the release note of 22 July 2026 that binds MCP servers to such an
// integration with OAUTH_AUTHORIZATION_SERVER.

// EXTERNAL_OAUTH_TYPE values.
const (
	ExternalOkta   = "OKTA"
	ExternalAzure  = "AZURE"
	ExternalPing   = "PING_FEDERATE"
	ExternalCustom = "CUSTOM"
)

// EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE values.
const (
	AttributeLoginName = "LOGIN_NAME"
	AttributeEmail     = "EMAIL_ADDRESS"
)

// Where OAUTH_AUTHORIZATION_SERVER is set: ALTER ACCOUNT, ALTER DATABASE
// or ALTER SCHEMA; a schema's value overrides its database's, which
// overrides the account's.
const (
	BindAccount  = "account"
	BindDatabase = "database"
	BindSchema   = "schema"
)

// BlockedRoles are never activated by the identity provider's tokens.
// Snowflake blocks them by default; naming them keeps the script honest
// about it.
var BlockedRoles = []string{"ACCOUNTADMIN", "SECURITYADMIN", "ORGADMIN"}

// Notes printed above the binding: Snowflake documents the parameters
// but not yet the form of their values.
const (
	unverifiedBinding = "[UNVERIFIED] Snowflake's release note of 22 July 2026 names OAUTH_AUTHORIZATION_SERVER but not the form " +
		"of its value: here the integration's name as a string literal. The SHOW PARAMETERS at the end shows what Snowflake made of it."
	unverifiedScopes = "[UNVERIFIED] which scopes OAUTH_SCOPES_SUPPORTED accepts is not documented yet: here the scopes users " +
		"request, comma-separated."
)

// ExternalOAuth is an External OAuth security integration that trusts an
// identity provider's tokens, and the binding that makes MCP servers take
// no others.
type ExternalOAuth struct {
	Type          string   // EXTERNAL_OAUTH_TYPE: ExternalOkta, ExternalAzure, ExternalPing or ExternalCustom
	Issuer        string   // EXTERNAL_OAUTH_ISSUER: the tokens' iss, exactly
	JWKSURL       string   // EXTERNAL_OAUTH_JWS_KEYS_URL: where the signing keys are
	Audiences     []string // EXTERNAL_OAUTH_AUDIENCE_LIST: the aud values accepted
	UserClaim     string   // EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM: the claim that names the user
	UserAttribute string   // EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE: AttributeLoginName or AttributeEmail
	// AnyRole is EXTERNAL_OAUTH_ANY_ROLE_MODE = ENABLE: a token with
	// session:role-any works as the user's default role. Otherwise tokens
	// must name their role.
	AnyRole bool
	Bind    string   // BindAccount, BindDatabase or BindSchema (default): where the MCP server is bound
	Scopes  []string // OAUTH_SCOPES_SUPPORTED: what MCP clients discover and request
}

// check validates what goes into the statements; the field names are the
// ones the FieldError reports.
func (x ExternalOAuth) check() error {
	if !slices.Contains([]string{ExternalOkta, ExternalAzure, ExternalPing, ExternalCustom}, x.Type) {
		return &FieldError{Field: "idp", Err: fmt.Errorf("EXTERNAL_OAUTH_TYPE %q is not OKTA, AZURE, PING_FEDERATE or CUSTOM", x.Type)}
	}
	if err := checkURL(x.Issuer); err != nil {
		return &FieldError{Field: "issuer", Err: err}
	}
	if err := checkURL(x.JWKSURL); err != nil {
		return &FieldError{Field: "jwks_url", Err: err}
	}
	if len(x.Audiences) == 0 {
		return &FieldError{Field: "audience", Err: errors.New("the token audience is required (Okta: the account's URL; Entra ID: the Application ID URI)")}
	}
	for _, a := range x.Audiences {
		if err := checkText(a, 512); err != nil {
			return &FieldError{Field: "audience", Err: err}
		}
	}
	if err := checkClaim(x.UserClaim); err != nil {
		return &FieldError{Field: "user_claim", Err: err}
	}
	if x.UserAttribute != AttributeLoginName && x.UserAttribute != AttributeEmail {
		return &FieldError{Field: "user_attribute", Err: fmt.Errorf("%q: use LOGIN_NAME or EMAIL_ADDRESS", x.UserAttribute)}
	}
	if !slices.Contains([]string{"", BindAccount, BindDatabase, BindSchema}, x.Bind) {
		return &FieldError{Field: "bind", Err: fmt.Errorf("%q: use account, database or schema", x.Bind)}
	}
	for _, s := range x.Scopes {
		if err := checkScope(s); err != nil {
			return &FieldError{Field: "scopes", Err: err}
		}
	}
	return nil
}

// checkURL accepts an absolute https URL (http only to a loopback
// address) without credentials, query or fragment.
func checkURL(raw string) error {
	if err := checkText(raw, 2048); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		!(u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname())) {
		return fmt.Errorf("%q must be an https URL without query or fragment (plain http only to a loopback address)", raw)
	}
	return nil
}

// loopback accepts a loopback IP literal only, as config.IsLoopback does: a
// name (localhost) could resolve elsewhere.
func loopback(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkText accepts printable text of at most max bytes: it goes into a
// literal, which quotes anything, and into a printed script, which a
// control character would disturb.
func checkText(s string, max int) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > max:
		return fmt.Errorf("%.40q… is longer than %d bytes", s, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	return ident.Check(s) // the same characters a name refuses
}

// checkClaim accepts a JWT claim name: letters, digits and _ . : / -.
func checkClaim(c string) error {
	bad := c == "" || len(c) > 128
	for i := 0; i < len(c) && !bad; i++ {
		ch := c[i]
		bad = !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("_.:/-", ch) >= 0)
	}
	if bad {
		return fmt.Errorf("%q is not a claim name (e.g. sub, upn or email)", c)
	}
	return nil
}

// checkScope accepts an OAuth scope token (RFC 6749 §3.3) without a comma,
// which separates OAUTH_SCOPES_SUPPORTED's list.
func checkScope(s string) error {
	if s == "" || len(s) > 512 {
		return fmt.Errorf("scope %q is empty or too long", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ',' {
			return fmt.Errorf("scope %q: a scope holds no spaces, commas, quotes or backslashes", s)
		}
	}
	return nil
}

// integrationSQL is CREATE SECURITY INTEGRATION … TYPE = EXTERNAL_OAUTH
// for integ (quoted). Every value is a literal or a keyword from a fixed
// set.
func (x ExternalOAuth) integrationSQL(integ string) string {
	aud := make([]string, len(x.Audiences))
	for i, a := range x.Audiences {
		aud[i] = Literal(a)
	}
	blocked := make([]string, len(BlockedRoles))
	for i, r := range BlockedRoles {
		blocked[i] = Literal(r)
	}
	anyRole := "DISABLE"
	if x.AnyRole {
		anyRole = "ENABLE"
	}
	return fmt.Sprintf(`CREATE SECURITY INTEGRATION IF NOT EXISTS %s
  TYPE = EXTERNAL_OAUTH
  ENABLED = TRUE
  EXTERNAL_OAUTH_TYPE = %s
  EXTERNAL_OAUTH_ISSUER = %s
  EXTERNAL_OAUTH_JWS_KEYS_URL = %s
  EXTERNAL_OAUTH_AUDIENCE_LIST = (%s)
  EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = %s
  EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = %s
  EXTERNAL_OAUTH_ANY_ROLE_MODE = %s
  EXTERNAL_OAUTH_BLOCKED_ROLES_LIST = (%s)
  COMMENT = %s`, integ, x.Type, Literal(x.Issuer), Literal(x.JWKSURL), strings.Join(aud, ", "), Literal(x.UserClaim),
		Literal(x.UserAttribute), anyRole, strings.Join(blocked, ", "), Literal("sfmcp: Snowflake MCP access through "+x.Issuer))
}

// bindStatements set OAUTH_AUTHORIZATION_SERVER and OAUTH_SCOPES_SUPPORTED
// where x.Bind says, for the MCP server whose name has parts server. The
// integration is named by integPart as Snowflake stores it, written in
// identifier syntax inside the string ([UNVERIFIED] which form Snowflake
// takes; a plain name reads the same either way).
func (x ExternalOAuth) bindStatements(integPart string, server []string) []Statement {
	target, where := "SCHEMA "+ident.Join(server[:2]...), "the MCP servers of schema "+strings.Join(server[:2], ".")
	switch x.Bind {
	case BindAccount:
		target, where = "ACCOUNT", "the MCP servers of the account"
	case BindDatabase:
		target, where = "DATABASE "+ident.Join(server[0]), "the MCP servers of database "+server[0]
	}
	note := unverifiedBinding + " From now on " + where + " (unless set lower down) refuse Snowflake OAuth tokens: " +
		"their users need a profile that signs in at the identity provider."
	out := []Statement{{What: where + " take tokens from " + x.Issuer + " only (OAUTH_AUTHORIZATION_SERVER)", Note: note,
		SQL: fmt.Sprintf("ALTER %s SET OAUTH_AUTHORIZATION_SERVER = %s", target, Literal(ident.Quote(integPart)))}}
	if len(x.Scopes) > 0 {
		out = append(out, Statement{What: "the scopes MCP clients discover and request (OAUTH_SCOPES_SUPPORTED)", Note: unverifiedScopes,
			SQL: fmt.Sprintf("ALTER %s SET OAUTH_SCOPES_SUPPORTED = %s", target, Literal(strings.Join(x.Scopes, ",")))})
	}
	return out
}

// BindingSQL reads back the binding the MCP server's schema ends up with,
// wherever it was set. Call it after Statements succeeded.
func (s Setup) BindingSQL() string {
	p, err := nameParts(s.MCPServer, 3)
	if err != nil {
		return ""
	}
	return "SHOW PARAMETERS LIKE 'OAUTH_AUTHORIZATION_SERVER' IN SCHEMA " + ident.Join(p[:2]...)
}

// ErrBindingNotEffective: after the setup, the MCP server's schema does
// not take its tokens from the new integration (a lower level sets
// another, or Snowflake stored the value in another form).
var ErrBindingNotEffective = errors.New("the MCP server is not bound to the new integration")

// checkBinding reads the binding back and fails unless the MCP server's
// schema now names the integration.
func (s Setup) checkBinding(ctx context.Context, api *Client) error {
	res, err := api.Exec(ctx, s.BindingSQL())
	if err != nil {
		return fmt.Errorf("read the binding back: %w", err)
	}
	integ, _ := ident.ParseOne(s.Integration)
	got, _ := res.Column(0, "value")
	level, _ := res.Column(0, "level")
	if v := strings.Trim(got, `'`); strings.EqualFold(v, integ) || strings.EqualFold(v, ident.Quote(integ)) {
		return nil
	}
	if level == "" {
		level = "no level"
	}
	return fmt.Errorf("%w: OAUTH_AUTHORIZATION_SERVER reads %q (set at %s), not %s", ErrBindingNotEffective, got, strings.ToLower(level), integ)
}
