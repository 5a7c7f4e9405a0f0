package snowflaketest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// External OAuth security integrations (CREATE SECURITY INTEGRATION … TYPE =
// EXTERNAL_OAUTH), after Snowflake's reference for the statement and its
// guides for Okta, Microsoft Entra ID and custom authorization servers.
// Once created and enabled, an integration's tokens authenticate anywhere
// in the account (SQL API, MCP servers); OAUTH_AUTHORIZATION_SERVER then
// makes some MCP servers take nothing else (see oauthparams.go).

// ExternalOAuth is an External OAuth security integration.
type ExternalOAuth struct {
	Name string
	// Type is EXTERNAL_OAUTH_TYPE: OKTA, AZURE, PING_FEDERATE or CUSTOM
	// (default CUSTOM). The stand-in treats all alike.
	Type string
	// Disabled is ENABLED = FALSE: its tokens are refused.
	Disabled bool
	// Issuer is EXTERNAL_OAUTH_ISSUER, compared with the token's iss
	// exactly (a trailing slash matters).
	Issuer string
	// JWKSURL is EXTERNAL_OAUTH_JWS_KEYS_URL, fetched over HTTP when a
	// token names a key the stand-in has not seen.
	JWKSURL string
	// AudienceList is EXTERNAL_OAUTH_AUDIENCE_LIST; a token passes when any
	// of its audiences is in it. Empty: the account URL ([UNVERIFIED]
	// default; the notes say Snowflake then expects the account URL).
	AudienceList []string
	// UserClaim is EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM (default sub),
	// UserAttribute EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE:
	// LOGIN_NAME (default) or EMAIL_ADDRESS.
	UserClaim, UserAttribute string
	// AnyRoleMode is EXTERNAL_OAUTH_ANY_ROLE_MODE = ENABLE: session:role-any
	// takes the user's default role.
	AnyRoleMode bool
	// ScopeClaim is EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE, scp or scope;
	// empty reads scp, else scope ([UNVERIFIED] default).
	ScopeClaim string
	// ScopeDelimiter is EXTERNAL_OAUTH_SCOPE_DELIMITER for a scope string;
	// empty splits on commas (documented) and spaces (what Entra's scp and
	// RFC 9068's scope hold; [UNVERIFIED] for Snowflake).
	ScopeDelimiter string
	// AllowedRoles and BlockedRoles are EXTERNAL_OAUTH_ALLOWED_ROLES_LIST
	// and EXTERNAL_OAUTH_BLOCKED_ROLES_LIST. ACCOUNTADMIN, ORGADMIN,
	// GLOBALORGADMIN and SECURITYADMIN are always blocked, as by default.
	AllowedRoles, BlockedRoles []string
}

// externalIntegration is an integration and the keys fetched for it.
type externalIntegration struct {
	cfg  ExternalOAuth
	keys *jwksCache
}

// External OAuth integration types and user mapping attributes Snowflake accepts.
var (
	externalTypes  = []string{"OKTA", "AZURE", "PING_FEDERATE", "CUSTOM"}
	userAttributes = []string{"LOGIN_NAME", "EMAIL_ADDRESS"}
)

// errDuplicateIssuer: one issuer feeds at most one integration (Microsoft's
// guide for a second Entra integration changes the issuer for this reason).
var errDuplicateIssuer = errors.New("another External OAuth integration has this issuer")

// AddExternalOAuth creates (or replaces) an External OAuth integration, as
// CREATE OR REPLACE SECURITY INTEGRATION … TYPE = EXTERNAL_OAUTH would.
func (s *Server) AddExternalOAuth(e ExternalOAuth) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addExternalOAuthLocked(e)
}

// ExternalOAuthIntegration returns the integration named name.
func (s *Server) ExternalOAuthIntegration(name string) (ExternalOAuth, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.externalOAuth[strings.ToUpper(name)]
	if !ok {
		return ExternalOAuth{}, false
	}
	return x.cfg, true
}

func (s *Server) addExternalOAuthLocked(e ExternalOAuth) error {
	e.Name, e.Type = strings.ToUpper(e.Name), strings.ToUpper(e.Type)
	e.UserAttribute = strings.ToUpper(e.UserAttribute)
	if e.Type == "" {
		e.Type = "CUSTOM"
	}
	if e.UserClaim == "" {
		e.UserClaim = "sub"
	}
	if e.UserAttribute == "" {
		e.UserAttribute = "LOGIN_NAME"
	}
	switch {
	case e.Name == "":
		return errors.New("an integration needs a name")
	case !slices.Contains(externalTypes, e.Type):
		return fmt.Errorf("EXTERNAL_OAUTH_TYPE %q is not one of %s", e.Type, strings.Join(externalTypes, ", "))
	case e.Issuer == "" || e.JWKSURL == "":
		return errors.New("EXTERNAL_OAUTH_ISSUER and EXTERNAL_OAUTH_JWS_KEYS_URL are required")
	case !slices.Contains(userAttributes, e.UserAttribute):
		return fmt.Errorf("EXTERNAL_OAUTH_SNOWFLAKE_USER_MAPPING_ATTRIBUTE %q is not LOGIN_NAME or EMAIL_ADDRESS", e.UserAttribute)
	case e.ScopeClaim != "" && e.ScopeClaim != "scp" && e.ScopeClaim != "scope":
		return fmt.Errorf("EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE %q is not scp or scope", e.ScopeClaim)
	case s.integrationNames[e.Name] != "":
		return fmt.Errorf("integration %s exists and is not an External OAuth integration", e.Name)
	}
	for name, x := range s.externalOAuth {
		if name != e.Name && x.cfg.Issuer == e.Issuer {
			return errDuplicateIssuer
		}
	}
	e.AudienceList = slices.Clone(e.AudienceList)
	e.AllowedRoles, e.BlockedRoles = slices.Clone(e.AllowedRoles), slices.Clone(e.BlockedRoles)
	s.externalOAuth[e.Name] = &externalIntegration{cfg: e, keys: &jwksCache{url: e.JWKSURL}}
	return nil
}

// externalFor finds the integration whose issuer is the iss of raw, if raw
// is a JWT; the claims are not trusted yet, they only pick the keys. Issuers
// are unique, so at most one matches.
func (s *Server) externalFor(raw string) (externalIntegration, bool) {
	iss, ok := unverifiedIssuer(raw)
	if !ok {
		return externalIntegration{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.externalOAuth {
		if x.cfg.Issuer == iss {
			return *x, true
		}
	}
	return externalIntegration{}, false
}

// blocked reports whether an External OAuth token may not take role.
func (e ExternalOAuth) blocked(role string) bool {
	return slices.Contains(blockedRoles, role) || slices.Contains(e.BlockedRoles, role) ||
		(len(e.AllowedRoles) > 0 && !slices.Contains(e.AllowedRoles, role))
}

// audiences is what the token's aud must include one of.
func (e ExternalOAuth) audiences(accountURL string) []string {
	if len(e.AudienceList) == 0 {
		return []string{accountURL}
	}
	return e.AudienceList
}
