package snowflaketest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authRequest is a validated /oauth/authorize request.
type authRequest struct {
	integration *Integration
	redirectURI string
	state       string
	role        string // "" = the user's default role
	wantRefresh bool
	scope       string
	challenge   string
}

type authCode struct {
	req     *authRequest
	user    string
	role    string
	expires time.Time
	used    bool
	issued  []string // access tokens issued from this code (revoked on reuse)
	family  string
}

type refreshToken struct {
	clientID  string
	user      string
	role      string
	scope     string
	expires   time.Time
	family    string
	singleUse bool
	used      bool
	revoked   bool
}

type accessToken struct {
	kind        string // KindOAuth, KindExternalOAuth, KindPAT or KindKeyPair
	integration string // the External OAuth integration that issued it
	user        string
	role        string
	expires     time.Time
	family      string
	revoked     bool
}

// Snowflake's numeric OAuth error codes (OAUTH-OVERVIEW).
const (
	codeBadResponseType = "390304"
	codeStateTooLong    = "390305"
	codeBadClient       = "390306"
	codeBadRedirect     = "390307"
	codeBadScope        = "390308"
	codeBadChallenge    = "390311"
)

var blockedRoles = []string{"ACCOUNTADMIN", "ORGADMIN", "GLOBALORGADMIN", "SECURITYADMIN"}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counters.Authorize++
	s.mu.Unlock()
	req, code, msg := s.validateAuthorize(r.URL.Query())
	if code != "" {
		errorPage(w, http.StatusBadRequest, code, msg)
		return
	}
	if s.opts.AutoApprove != "" {
		s.approve(w, r, req, strings.ToUpper(s.opts.AutoApprove))
		return
	}
	id := newSecret("req-")
	s.mu.Lock()
	s.pending[id] = req
	s.mu.Unlock()
	loginForm(w, http.StatusOK, id, req.integration.ClientID, "")
}

// handleAuthorizeForm takes the sign-in form: user, password, and the
// consent button (allow or deny).
func (s *Server) handleAuthorizeForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "", "Malformed sign-in form.")
		return
	}
	id := r.PostForm.Get("request_id")
	s.mu.Lock()
	req, ok := s.pending[id]
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusBadRequest, "", "This sign-in request has expired. Start again from your application.")
		return
	}
	if r.PostForm.Get("action") == "deny" {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		redirectWith(w, r, req.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request."}}, req.state)
		return
	}
	user := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("user")))
	s.mu.Lock()
	u, known := s.users[user]
	s.mu.Unlock()
	if !known || subtle.ConstantTimeCompare([]byte(u.Password), []byte(r.PostForm.Get("password"))) != 1 {
		loginForm(w, http.StatusUnauthorized, id, req.integration.ClientID, "Incorrect username or password was specified.")
		return
	}
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
	s.approve(w, r, req, user)
}

func (s *Server) validateAuthorize(q url.Values) (*authRequest, string, string) {
	if q.Get("response_type") != "code" {
		return nil, codeBadResponseType, "Invalid response_type: only 'code' is supported."
	}
	s.mu.Lock()
	in, ok := s.integrations[q.Get("client_id")]
	s.mu.Unlock()
	if !ok {
		return nil, codeBadClient, "Invalid client_id."
	}
	redirect := q.Get("redirect_uri")
	if !redirectAllowed(in, redirect) {
		return nil, codeBadRedirect, "Invalid redirect_uri: it does not match the integration's redirect URI."
	}
	state := q.Get("state")
	if len(state) > 2048 {
		return nil, codeStateTooLong, "The state parameter exceeds 2048 characters."
	}
	req := &authRequest{integration: in, redirectURI: redirect, state: state, scope: q.Get("scope")}
	for _, sc := range strings.Fields(q.Get("scope")) {
		switch {
		case sc == "refresh_token":
			req.wantRefresh = true
		case strings.HasPrefix(sc, "session:role:") || strings.HasPrefix(sc, "session:role-encoded:"):
			if req.role != "" {
				return nil, codeBadScope, "Only one role scope may be requested."
			}
			role, err := scopeRole(sc)
			if err != nil || role == "" {
				return nil, codeBadScope, "Invalid role scope."
			}
			req.role = role
		default:
			return nil, codeBadScope, "Invalid scope: unsupported scope requested."
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method == "":
		if in.EnforcePKCE {
			return nil, codeBadChallenge, "PKCE is required: code_challenge and code_challenge_method=S256."
		}
	case method != "S256" || len(challenge) != 43:
		return nil, codeBadChallenge, "Invalid code_challenge or code_challenge_method (only S256 is supported)."
	}
	req.challenge = challenge
	return req, "", ""
}

func scopeRole(sc string) (string, error) {
	if v, ok := strings.CutPrefix(sc, "session:role-encoded:"); ok {
		return url.PathUnescape(v)
	}
	return strings.TrimPrefix(sc, "session:role:"), nil
}

// redirectAllowed applies Snowflake's matching: exact match against the
// registered URIs with the query excluded, TLS unless non-TLS is allowed;
// LOCAL_APPLICATION takes any http://127.0.0.1[:port][/path].
func redirectAllowed(in *Integration, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return false
	}
	if in.local {
		return u.Scheme == "http" && u.Hostname() == "127.0.0.1" && u.User == nil
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && in.AllowNonTLSRedirect) {
		return false
	}
	base := *u
	base.RawQuery, base.ForceQuery = "", false
	return slices.Contains(in.RedirectURIs, base.String())
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, req *authRequest, user string) {
	s.mu.Lock()
	u, ok := s.users[user]
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusForbidden, "", "User "+user+" does not exist or is disabled.")
		return
	}
	role := req.role
	if role == "" {
		role = u.DefaultRole
	}
	if !slices.Contains(u.Roles, role) || slices.Contains(blockedRoles, role) ||
		(len(req.integration.AllowedRoles) > 0 && !slices.Contains(req.integration.AllowedRoles, role)) {
		redirectWith(w, r, req.redirectURI, url.Values{"error": {"invalid_scope"}, "error_description": {"Role " + role + " is not granted to this user or not allowed by the integration."}}, req.state)
		return
	}
	code := newSecret("code-")
	s.mu.Lock()
	s.codes[code] = &authCode{req: req, user: user, role: role, expires: s.now().Add(10 * time.Minute)}
	s.mu.Unlock()
	redirectWith(w, r, req.redirectURI, url.Values{"code": {code}, "scope": {req.scope}}, req.state)
}

func redirectWith(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values, state string) {
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// handleToken is /oauth/token-request.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	grant := ""
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			grant = r.PostForm.Get("grant_type")
		}
	}
	s.mu.Lock()
	s.counters.TokenRequests++
	hooks := slices.Clone(s.hooks)
	s.mu.Unlock()
	for _, h := range hooks {
		h(grant)
	}
	if f, ok := s.nextFault(); ok && f.apply(w, r) {
		return
	}
	if r.Method != http.MethodPost {
		s.tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint only accepts POST.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
		return
	}
	in, ok := s.authenticateClient(r)
	if !ok {
		s.tokenError(w, http.StatusBadRequest, "invalid_client", "This is an invalid client.")
		return
	}
	switch grant {
	case "authorization_code":
		s.exchangeCode(w, r, in)
	case "refresh_token":
		s.refreshGrant(w, r, in)
	default:
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported.")
	}
}

// authenticateClient applies Snowflake's client authentication: HTTP Basic
// with url-encoded id and secret (client_secret_basic), or id and secret in
// the body (client_secret_post); public clients send only client_id in the
// body; LOCAL_APPLICATION may also use Basic LOCAL_APPLICATION:LOCAL_APPLICATION.
func (s *Server) authenticateClient(r *http.Request) (*Integration, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || r.PostForm.Get("client_secret") != "" {
			return nil, false
		}
		if bodyID := r.PostForm.Get("client_id"); bodyID != "" && bodyID != id {
			return nil, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	in, ok := s.integrations[id]
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, false
	case in.local:
		return in, (basic && secret == "LOCAL_APPLICATION") || (!basic && secret == "")
	case in.Public:
		return in, secret == ""
	default:
		return in, secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(in.ClientSecret)) == 1
	}
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, in *Integration) {
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[f.Get("code")]
	switch {
	case !ok || c.req.integration != in:
		s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or has expired.")
		return
	case c.used:
		// A replayed code revokes what it produced (RFC 6749 §4.1.2).
		for _, at := range c.issued {
			s.access[at].revoked = true
		}
		s.revokeFamilyLocked(c.family)
		s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or has expired.")
		return
	case s.now().After(c.expires):
		s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or has expired.")
		return
	case f.Get("redirect_uri") != c.req.redirectURI:
		s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the authorization request.")
		return
	}
	if c.req.challenge != "" {
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if f.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != c.req.challenge {
			s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge.")
			return
		}
	}
	c.used = true
	s.counters.CodeExchanges++
	c.family = newSecret("fam-")
	access := s.issueAccessLocked(in, c.user, c.role, c.family)
	c.issued = append(c.issued, access)
	resp := map[string]any{
		"access_token": access,
		"expires_in":   int(in.accessValidity().Seconds()),
		"token_type":   "Bearer",
		"username":     c.user,
	}
	if c.req.wantRefresh && !in.DoNotIssueRefresh {
		singleUse := in.SingleUseRefreshTokens || f.Get("enable_single_use_refresh_tokens") == "true"
		resp["refresh_token"] = s.issueRefreshLocked(in, c.user, c.role, c.req.scope, c.family, singleUse)
		if s.opts.ExtraTokenFields {
			resp["refresh_token_expires_in"] = int(in.refreshValidity().Seconds())
		}
	}
	if s.opts.ExtraTokenFields {
		resp["scope"] = c.req.scope
		resp["idpInitiated"] = false
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, in *Integration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[r.PostForm.Get("refresh_token")]
	switch {
	case !ok || rt.revoked || rt.clientID != in.ClientID || s.now().After(rt.expires):
		s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or has expired.")
		return
	case rt.singleUse && rt.used:
		// Reuse of a single-use refresh token: Snowflake assumes theft and
		// invalidates the whole family.
		s.revokeFamilyLocked(rt.family)
		s.counters.FamiliesRevoked++
		s.tokenErrorLocked(w, http.StatusBadRequest, "invalid_grant", "The refresh token has already been used.")
		return
	}
	s.counters.Refreshes++
	resp := map[string]any{"token_type": "Bearer"}
	if rt.singleUse {
		rt.used = true
		// "After you get a new refresh token, all previous refresh tokens
		// and access tokens become invalid."
		for _, at := range s.access {
			if at.family == rt.family {
				at.revoked = true
			}
		}
		resp["refresh_token"] = s.issueRefreshLocked(in, rt.user, rt.role, rt.scope, rt.family, true)
		s.counters.RefreshRotations++
		if s.opts.ExtraTokenFields {
			resp["refresh_token_expires_in"] = int(in.refreshValidity().Seconds())
		}
	}
	resp["access_token"] = s.issueAccessLocked(in, rt.user, rt.role, rt.family)
	resp["expires_in"] = int(in.accessValidity().Seconds())
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) issueAccessLocked(in *Integration, user, role, family string) string {
	t := newSecret("at-")
	s.access[t] = &accessToken{kind: "OAUTH", user: user, role: role, expires: s.now().Add(in.accessValidity()), family: family}
	return t
}

func (s *Server) issueRefreshLocked(in *Integration, user, role, scope, family string, singleUse bool) string {
	t := newSecret("rt-")
	s.refresh[t] = &refreshToken{clientID: in.ClientID, user: user, role: role, scope: scope,
		expires: s.now().Add(in.refreshValidity()), family: family, singleUse: singleUse}
	return t
}

func (s *Server) revokeFamilyLocked(family string) {
	if family == "" {
		return
	}
	for _, rt := range s.refresh {
		if rt.family == family {
			rt.revoked = true
		}
	}
	for _, at := range s.access {
		if at.family == family {
			at.revoked = true
		}
	}
}

// RevokeUser revokes every refresh and access token of a user, as an
// administrator revoking consent would.
func (s *Server) RevokeUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	user = strings.ToUpper(user)
	for _, rt := range s.refresh {
		if rt.user == user {
			rt.revoked = true
		}
	}
	for _, at := range s.access {
		if at.user == user {
			at.revoked = true
		}
	}
}

// RevokeAccessTokens revokes every access token issued so far but keeps
// refresh tokens, as if they had all expired early.
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.access {
		at.revoked = true
	}
}

func (in *Integration) accessValidity() time.Duration {
	if in.AccessTokenValidity > 0 {
		return in.AccessTokenValidity
	}
	return 600 * time.Second
}

func (in *Integration) refreshValidity() time.Duration {
	if in.RefreshTokenValidity > 0 {
		return in.RefreshTokenValidity
	}
	return 90 * 24 * time.Hour
}

func (s *Server) tokenError(w http.ResponseWriter, status int, code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenErrorLocked(w, status, code, msg)
}

func (s *Server) tokenErrorLocked(w http.ResponseWriter, status int, code, msg string) {
	s.counters.TokenRequestErrors[code]++
	writeTokenError(w, status, code, msg)
}

// writeTokenError writes Snowflake's documented error body.
func writeTokenError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"data": nil, "message": msg, "code": nil, "success": false, "error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var formTemplate = template.Must(template.New("form").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to Snowflake</title></head><body>
<h1>Sign in to Snowflake</h1>
<p>The application <b>{{.Client}}</b> wants to access your Snowflake account.</p>
{{if .Message}}<p id="error" role="alert">{{.Message}}</p>{{end}}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="request_id" value="{{.ID}}">
<label>Username <input id="user" name="user" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="allow" type="submit" name="action" value="allow">Allow</button>
<button id="deny" type="submit" name="action" value="deny">Deny</button>
</form></body></html>
`))

func loginForm(w http.ResponseWriter, status int, id, client, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = formTemplate.Execute(w, struct{ ID, Client, Message string }{id, client, msg})
}

var errorTemplate = template.Must(template.New("err").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Snowflake OAuth error</title></head><body>
<h1>OAuth error</h1><p id="error">{{if .Code}}{{.Code}}: {{end}}{{.Message}}</p></body></html>
`))

func errorPage(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorTemplate.Execute(w, struct{ Code, Message string }{code, msg})
}
