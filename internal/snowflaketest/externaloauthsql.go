package snowflaketest

import (
	"slices"
	"strings"
)

// The SQL of External OAuth integrations, after Snowflake's CREATE SECURITY
// INTEGRATION (External OAuth) reference:
//
//	CREATE [ OR REPLACE ] SECURITY INTEGRATION [ IF NOT EXISTS ] <name>
//	  TYPE = EXTERNAL_OAUTH
//	  ENABLED = { TRUE | FALSE }
//	  EXTERNAL_OAUTH_TYPE = { OKTA | AZURE | PING_FEDERATE | CUSTOM }
//	  EXTERNAL_OAUTH_ISSUER = '<string_literal>'
//	  EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM = { '<string_literal>' | ('<string_literal>' [ , ... ] ) }
//	  EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE = { 'LOGIN_NAME' | 'EMAIL_ADDRESS' }
//	  [ EXTERNAL_OAUTH_JWS_KEYS_URL = { '<string_literal>' | ('<string_literal>' [ , ... ] ) } ]
//	  [ EXTERNAL_OAUTH_BLOCKED_ROLES_LIST = ( '<role_name>' [ , ... ] ) ]
//	  [ EXTERNAL_OAUTH_ALLOWED_ROLES_LIST = ( '<role_name>' [ , ... ] ) ]
//	  [ EXTERNAL_OAUTH_RSA_PUBLIC_KEY = <public_key1> ] [ EXTERNAL_OAUTH_RSA_PUBLIC_KEY_2 = <public_key2> ]
//	  [ EXTERNAL_OAUTH_AUDIENCE_LIST = { '<string_literal>' | ('<string_literal>' [ , ... ] ) } ]
//	  [ EXTERNAL_OAUTH_ANY_ROLE_MODE = { DISABLE | ENABLE | ENABLE_FOR_PRIVILEGE } ]
//	  [ EXTERNAL_OAUTH_SCOPE_DELIMITER = '<string_literal>' ]   -- CUSTOM only
//	  [ EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE = '<string_literal>' ]
//	  [ COMMENT = '<string_literal>' ]
//
// The stand-in verifies with one JWKS URL (no static RSA keys) and maps one
// user claim; it refuses the other forms rather than ignore them.

// requiredExternalOptions are the properties the syntax does not bracket.
var requiredExternalOptions = []string{"ENABLED", "EXTERNAL_OAUTH_TYPE", "EXTERNAL_OAUTH_ISSUER",
	"EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM", "EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE"}

// createExternalOAuth creates the integration the options describe.
func (s *Server) createExternalOAuth(name string, orReplace, ifNotExists bool, opts map[string]string) (sqlResult, *SQLError) {
	e, err := externalOAuthFromOptions(name, opts)
	if err != nil {
		return sqlResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exists := s.externalOAuth[strings.ToUpper(name)] != nil || s.integrationNames[name] != ""
	switch {
	case exists && ifNotExists:
		return status(name + " already exists, statement succeeded."), nil
	case exists && !orReplace:
		return sqlResult{}, alreadyExists(name)
	}
	if err := s.addExternalOAuthLocked(e); err != nil {
		// [UNVERIFIED] codes and texts: Snowflake's for these are not documented.
		return sqlResult{}, compileError(err.Error())
	}
	return status("Integration " + name + " successfully created."), nil
}

// externalOAuthFromOptions reads the properties of CREATE SECURITY
// INTEGRATION … TYPE = EXTERNAL_OAUTH; addExternalOAuthLocked checks the
// values.
func externalOAuthFromOptions(name string, opts map[string]string) (ExternalOAuth, *SQLError) {
	for _, r := range requiredExternalOptions {
		if opts[r] == "" {
			return ExternalOAuth{}, compileError("missing required property " + r)
		}
	}
	if opts["EXTERNAL_OAUTH_RSA_PUBLIC_KEY"] != "" || opts["EXTERNAL_OAUTH_RSA_PUBLIC_KEY_2"] != "" {
		return ExternalOAuth{}, compileError("the stand-in verifies tokens with EXTERNAL_OAUTH_JWS_KEYS_URL only")
	}
	urls, claims := listValue(opts["EXTERNAL_OAUTH_JWS_KEYS_URL"]), listValue(opts["EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM"])
	if len(urls) != 1 || len(claims) != 1 {
		return ExternalOAuth{}, compileError("the stand-in takes exactly one EXTERNAL_OAUTH_JWS_KEYS_URL and one EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM")
	}
	enabled, anyRole := word(opts["ENABLED"]), word(opts["EXTERNAL_OAUTH_ANY_ROLE_MODE"])
	if enabled != "TRUE" && enabled != "FALSE" {
		return ExternalOAuth{}, compileError("ENABLED must be TRUE or FALSE")
	}
	if !slices.Contains([]string{"", "DISABLE", "ENABLE", "ENABLE_FOR_PRIVILEGE"}, anyRole) {
		return ExternalOAuth{}, compileError("EXTERNAL_OAUTH_ANY_ROLE_MODE must be DISABLE, ENABLE or ENABLE_FOR_PRIVILEGE")
	}
	e := ExternalOAuth{
		Name: name, Type: word(opts["EXTERNAL_OAUTH_TYPE"]), Disabled: enabled == "FALSE",
		Issuer: literal(opts["EXTERNAL_OAUTH_ISSUER"]), JWKSURL: urls[0],
		AudienceList: listValue(opts["EXTERNAL_OAUTH_AUDIENCE_LIST"]),
		UserClaim:    claims[0], UserAttribute: word(opts["EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE"]),
		// ENABLE_FOR_PRIVILEGE honours session:role-any for users with the
		// USE_ANY_ROLE privilege; the stand-in grants it to no one.
		AnyRoleMode:    anyRole == "ENABLE",
		ScopeClaim:     literal(opts["EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE"]),
		ScopeDelimiter: literal(opts["EXTERNAL_OAUTH_SCOPE_DELIMITER"]),
		AllowedRoles:   roleList(opts["EXTERNAL_OAUTH_ALLOWED_ROLES_LIST"]),
		BlockedRoles:   roleList(opts["EXTERNAL_OAUTH_BLOCKED_ROLES_LIST"]),
	}
	if e.ScopeDelimiter != "" && e.Type != "CUSTOM" {
		return ExternalOAuth{}, compileError("EXTERNAL_OAUTH_SCOPE_DELIMITER is only for EXTERNAL_OAUTH_TYPE = CUSTOM")
	}
	return e, nil
}

// word is a keyword value, bare or quoted, upper-cased.
func word(v string) string { return strings.ToUpper(literal(v)) }

// listValue reads '…' or ('…', '…') into its strings.
func listValue(v string) []string {
	if !strings.HasPrefix(v, "(") {
		if v == "" {
			return nil
		}
		return []string{literal(v)}
	}
	var out []string
	for _, l := range reLiteral.FindAllString(v, -1) {
		out = append(out, literal(l))
	}
	return out
}

// roleList reads ('ROLE', …) into role names as Snowflake stores them.
func roleList(v string) []string {
	var out []string
	for _, l := range reLiteral.FindAllString(v, -1) {
		out = append(out, nameInLiteral(l))
	}
	return out
}
