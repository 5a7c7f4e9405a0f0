package snowflaketest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Bearer tokens: which kind a request carries, whether it is valid, and,
// on an MCP server, whether that server takes it.

// Token kinds, as X-Snowflake-Authorization-Token-Type names them, except
// that the header says OAUTH for External OAuth tokens too.
const (
	KindOAuth         = "OAUTH"          // issued by Snowflake OAuth (this stand-in)
	KindExternalOAuth = "EXTERNAL_OAUTH" // a JWT from an External OAuth integration's issuer
	KindPAT           = "PROGRAMMATIC_ACCESS_TOKEN"
	KindKeyPair       = "KEYPAIR_JWT"
)

// Why a bearer token was refused, as Counters.Refusals counts it.
const (
	RefusedNoToken       = "no_token"       // no Authorization: Bearer header
	RefusedInvalid       = "invalid"        // unknown, revoked or expired Snowflake token or key-pair JWT
	RefusedNetworkPolicy = "network_policy" // a service user's PAT without a network policy
	RefusedTokenType     = "token_type"     // X-Snowflake-Authorization-Token-Type names another kind
	RefusedIssuer        = "issuer"         // a JWT whose iss is no External OAuth integration's issuer
	RefusedDisabled      = "disabled"       // the integration has ENABLED = FALSE
	RefusedSignature     = "signature"      // bad signature, unknown kid, JWKS unavailable, not RS256, malformed
	RefusedAudience      = "audience"       // no aud in EXTERNAL_OAUTH_AUDIENCE_LIST
	RefusedExpired       = "expired"        // exp in the past (beyond the allowed skew)
	RefusedIssuedAt      = "issued_at"      // iat missing or in the future
	RefusedNotBefore     = "not_before"     // nbf in the future
	RefusedClaims        = "claims"         // another required claim (exp, aud) missing or malformed
	RefusedUser          = "user"           // the user claim maps to no user (or to several)
	RefusedRole          = "role"           // no usable role: none in the token, not granted, blocked or not allowed
	RefusedAnyRole       = "any_role"       // session:role-any without EXTERNAL_OAUTH_ANY_ROLE_MODE = ENABLE
	RefusedNotBound      = "not_bound"      // an MCP server bound to another authorization server
	RefusedUsage         = "usage"          // the role has no USAGE on the MCP server (403)
)

// refusal is a token's rejection: the answer Snowflake gives and why.
type refusal struct {
	status        int
	code, message string
	reason        string
	kind          string // the token's kind, when known
}

const invalidTokenMessage = "Invalid OAuth access token. Please use a new access token and try again."

// invalidToken is Snowflake's 390303, which it answers for every token it
// cannot use; the message does not say why ([UNVERIFIED] for External
// OAuth failures and for tokens refused by a bound MCP server: the real
// message is not documented, so clients must learn why from the Protected
// Resource Metadata, never from this text).
func invalidToken(reason, kind string) *refusal {
	return &refusal{status: http.StatusUnauthorized, code: "390303", message: invalidTokenMessage, reason: reason, kind: kind}
}

// roleRefusal is Snowflake's 390186, what an External OAuth token gets when
// it names no role the user may take.
func roleRefusal(reason, role string) *refusal {
	return &refusal{status: http.StatusUnauthorized, code: "390186", reason: reason, kind: KindExternalOAuth,
		message: fmt.Sprintf("The role requested in the connection or the default role if none was requested in the connection ('%s') is not listed in the Access Token or was filtered. Please specify another role, or contact your OAuth Authorization server administrator.", role)}
}

// authenticateBearer checks the Authorization header of a SQL API request;
// on failure it writes Snowflake's 401 with a WWW-Authenticate challenge.
func (s *Server) authenticateBearer(w http.ResponseWriter, r *http.Request) (accessToken, bool) {
	t, ref := s.resolveBearer(r)
	if ref != nil {
		s.refuse(w, r, ref)
		return accessToken{}, false
	}
	return t, true
}

// authenticateMCP checks the bearer token of a request to srv: valid, taken
// by srv's authorization server, and of a role with USAGE on srv. On failure
// it writes the 401 or 403.
func (s *Server) authenticateMCP(w http.ResponseWriter, r *http.Request, srv *MCPServer) (accessToken, bool) {
	t, ref := s.resolveBearer(r)
	if ref == nil {
		ref = s.mcpRefusal(srv, t)
	}
	s.mu.Lock()
	if ref == nil {
		s.counters.MCPAccepted[t.kind]++
	} else {
		s.counters.MCPRefused[ref.kind]++
	}
	s.mu.Unlock()
	if ref != nil {
		s.refuse(w, r, ref)
		return accessToken{}, false
	}
	return t, true
}

// mcpRefusal applies what an MCP server adds to a valid token. Once its
// effective OAUTH_AUTHORIZATION_SERVER is set, Snowflake "rejects OAuth
// tokens that weren't issued by that authorization server" and
// "enforcement applies only to OAuth calls against MCP server endpoints":
// Snowflake OAuth tokens and other integrations' tokens get 401. PATs and
// key-pair JWTs are not OAuth tokens and still pass ([UNVERIFIED]: the
// release note speaks of OAuth tokens only).
func (s *Server) mcpRefusal(srv *MCPServer, t accessToken) *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	bound := s.effectiveParamLocked(srv.Database, srv.Schema, ParamAuthorizationServer)
	oauth := t.kind == KindOAuth || t.kind == KindExternalOAuth
	if bound != "" && oauth && t.integration != bound {
		return invalidToken(RefusedNotBound, t.kind)
	}
	if len(srv.UsageRoles) > 0 && !slices.Contains(srv.UsageRoles, t.role) {
		return &refusal{status: http.StatusForbidden, code: "003001", reason: RefusedUsage, kind: t.kind,
			message: "SQL access control error: Insufficient privileges to operate on MCP server '" + srv.Name + "'."}
	}
	return nil
}

// refuse counts and writes a refusal. A 401 carries the challenge that
// names the MCP server's Protected Resource Metadata (RFC 9728), as
// Snowflake sends it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	s.mu.Lock()
	s.counters.Refusals[ref.reason]++
	if ref.status == http.StatusUnauthorized {
		s.counters.MCPUnauthorized++
	}
	s.mu.Unlock()
	if ref.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata="%s%s%s"`, s.URL, prmPrefix, r.URL.Path))
	}
	writeJSON(w, ref.status, map[string]any{"code": ref.code, "message": ref.message})
}

// resolveBearer finds the token a request carries and checks it: an
// External OAuth JWT against its integration, anything else as Snowflake's
// own (OAuth access token, PAT, key-pair JWT).
func (s *Server) resolveBearer(r *http.Request) (accessToken, *refusal) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return accessToken{}, invalidToken(RefusedNoToken, "")
	}
	var t accessToken
	var ref *refusal
	if x, ok := s.externalFor(raw); ok {
		t, ref = s.verifyExternal(r.Context(), x, raw)
	} else {
		t, ref = s.snowflakeToken(raw)
	}
	if ref != nil {
		return accessToken{}, ref
	}
	if tt := r.Header.Get("X-Snowflake-Authorization-Token-Type"); tt != "" && tt != t.headerKind() {
		return accessToken{}, invalidToken(RefusedTokenType, t.kind)
	}
	return t, nil
}

// headerKind is the token type a client names for t.
func (t accessToken) headerKind() string {
	if t.kind == KindExternalOAuth {
		return KindOAuth
	}
	return t.kind
}

// snowflakeToken checks a token the stand-in issued (or a key-pair JWT).
func (s *Server) snowflakeToken(raw string) (accessToken, *refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t accessToken
	if tok, found := s.access[raw]; found {
		t = *tok
	} else if strings.Count(raw, ".") == 2 {
		if t, found = s.keyPairTokenLocked(raw); !found {
			return accessToken{}, invalidToken(jwtIssuerReason(raw), "")
		}
	} else {
		return accessToken{}, invalidToken(RefusedInvalid, "")
	}
	if t.revoked || !s.now().Before(t.expires) {
		return accessToken{}, invalidToken(RefusedInvalid, t.kind)
	}
	if !s.patUsableLocked(&t) {
		return accessToken{}, &refusal{status: http.StatusUnauthorized, code: "390432", message: "Network policy is required.",
			reason: RefusedNetworkPolicy, kind: t.kind}
	}
	return t, nil
}
