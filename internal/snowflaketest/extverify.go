package snowflaketest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
)

// How an External OAuth access token is checked, after Snowflake's "what
// the access token must contain" for custom authorization servers: a JWS
// (RS256) that verifies against the integration's keys, iss equal to its
// issuer, aud in its audience list, exp in the future, iat present, the
// user claim naming a user and a scope naming a role.

// clockSkew is how far exp, iat and nbf may be off ([UNVERIFIED]: Snowflake
// documents no value; a minute is what most resource servers allow).
const clockSkew = time.Minute

// Role scopes of an External OAuth token.
const (
	scopeRolePrefix  = "session:role:"
	scopeEntraPrefix = "session:scope:" // Entra delegated scopes ([UNVERIFIED] mapping)
	scopeRoleAny     = "session:role-any"
)

// unverifiedIssuer is the iss of raw if raw reads as a JWT.
func unverifiedIssuer(raw string) (string, bool) {
	if strings.Count(raw, ".") != 2 {
		return "", false
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return "", false
	}
	iss, err := claims.GetIssuer()
	return iss, err == nil && iss != ""
}

// jwtIssuerReason says why a JWT that is neither a valid key-pair JWT nor
// an integration's token was refused: a key-pair issuer
// (ACCOUNT.USER.SHA256:…) means an invalid key-pair JWT; any other issuer
// is one no integration trusts.
func jwtIssuerReason(raw string) string {
	iss, ok := unverifiedIssuer(raw)
	if !ok || strings.Contains(iss, ".SHA256:") {
		return RefusedInvalid
	}
	return RefusedIssuer
}

// verifyExternal checks raw, a JWT whose iss is x's issuer. The JWKS is
// fetched, if needed, without holding s.mu.
func (s *Server) verifyExternal(ctx context.Context, x externalIntegration, raw string) (accessToken, *refusal) {
	if x.cfg.Disabled {
		return accessToken{}, invalidToken(RefusedDisabled, KindExternalOAuth)
	}
	client, fetched := s.jwksClient(), false
	keyfunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, f, err := x.keys.key(ctx, client, kid)
		fetched = fetched || f
		return k, err
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, keyfunc, jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(s.now), jwt.WithLeeway(clockSkew), jwt.WithIssuer(x.cfg.Issuer),
		jwt.WithAudience(x.cfg.audiences(s.URL)...), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	s.mu.Lock()
	defer s.mu.Unlock()
	if fetched {
		s.counters.JWKSFetches++
	}
	if err != nil {
		return accessToken{}, invalidToken(jwtErrorReason(err), KindExternalOAuth)
	}
	if _, ok := claims["iat"]; !ok {
		return accessToken{}, invalidToken(RefusedIssuedAt, KindExternalOAuth)
	}
	u, ok := s.externalUserLocked(x.cfg, claims)
	if !ok {
		// [UNVERIFIED] code: Snowflake documents none for an unmapped user.
		return accessToken{}, invalidToken(RefusedUser, KindExternalOAuth)
	}
	role, ref := externalRole(x.cfg, claims, u)
	if ref != nil {
		return accessToken{}, ref
	}
	exp, _ := claims.GetExpirationTime()
	return accessToken{kind: KindExternalOAuth, integration: x.cfg.Name, user: u.Name, role: role, expires: exp.Time}, nil
}

// jwtErrorReason maps a verification error to a refusal reason; the
// signature is checked before the claims.
func jwtErrorReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return RefusedSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return RefusedExpired
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return RefusedAudience
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return RefusedIssuedAt
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return RefusedNotBefore
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return RefusedIssuer
	}
	return RefusedClaims
}

// externalUserLocked maps the token's user claim to exactly one user, by
// login name (case-insensitive, as Snowflake's login names are) or by email
// address (case-insensitive: [UNVERIFIED]).
func (s *Server) externalUserLocked(e ExternalOAuth, claims jwt.MapClaims) (*User, bool) {
	v, _ := claims[e.UserClaim].(string)
	if v == "" {
		return nil, false
	}
	var found *User
	for _, u := range s.users {
		match := strings.EqualFold(u.loginName(), v)
		if e.UserAttribute == "EMAIL_ADDRESS" {
			match = u.Email != "" && strings.EqualFold(u.Email, v)
		}
		if match && found != nil {
			return nil, false
		}
		if match {
			found = u
		}
	}
	return found, found != nil
}

// externalRole is the role the token's scopes give u. session:role:<ROLE>
// names it, case-sensitively (the first such scope wins: [UNVERIFIED] for
// a token with several); session:role-any takes the default role, only in
// any-role mode. The role must be granted to u and not blocked.
func externalRole(e ExternalOAuth, claims jwt.MapClaims, u *User) (string, *refusal) {
	role, anyRole := "", false
	for _, sc := range e.scopes(claims) {
		switch {
		case sc == scopeRoleAny:
			anyRole = true
		case role != "":
		case strings.HasPrefix(sc, scopeRolePrefix):
			role = strings.TrimPrefix(sc, scopeRolePrefix)
		case strings.HasPrefix(sc, scopeEntraPrefix):
			role = strings.TrimPrefix(sc, scopeEntraPrefix)
		}
	}
	switch {
	case role == "" && !anyRole:
		return "", roleRefusal(RefusedRole, u.DefaultRole)
	case role == "" && !e.AnyRoleMode:
		return "", roleRefusal(RefusedAnyRole, u.DefaultRole)
	case role == "":
		role = u.DefaultRole
	}
	if role == "" || !slices.Contains(u.Roles, role) || e.blocked(role) {
		return "", roleRefusal(RefusedRole, role)
	}
	return role, nil
}

// scopes reads the scope claim: scp or scope, a JSON array or a delimited
// string; other scopes (offline_access, openid) are ignored.
func (e ExternalOAuth) scopes(claims jwt.MapClaims) []string {
	names := []string{"scp", "scope"}
	if e.ScopeClaim != "" {
		names = []string{e.ScopeClaim}
	}
	for _, n := range names {
		switch v := claims[n].(type) {
		case []any:
			var out []string
			for _, x := range v {
				if sc, ok := x.(string); ok {
					out = append(out, sc)
				}
			}
			return out
		case string:
			if e.ScopeDelimiter != "" {
				return strings.Split(v, e.ScopeDelimiter)
			}
			return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		}
	}
	return nil
}
