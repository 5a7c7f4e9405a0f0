package idptest_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/sfmcp/sfmcp/test/idptest"
)

const role = "session:role:MCP_USERS"

func getJSON(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

func TestDiscovery(t *testing.T) {
	tests := []struct {
		name     string
		opts     idptest.Options
		quirks   bool // Entra's: no PKCE methods, no RFC 9207, no RFC 8414, no revocation
		pathOnly bool // a path issuer: nothing at the path-insert addresses
	}{
		{name: "okta at the root", opts: idptest.Options{}},
		{name: "okta custom authorization server", opts: idptest.Options{IssuerPath: "/oauth2/aus123"}, pathOnly: true},
		{name: "entra", opts: idptest.Options{IssuerPath: "/tenant/v2.0", EntraQuirks: true}, quirks: true, pathOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := idptest.Start(t, tt.opts)
			status, doc := getJSON(t, p.Issuer+"/.well-known/openid-configuration")
			if status != http.StatusOK {
				t.Fatalf("openid-configuration: status %d", status)
			}
			want := map[string]string{"issuer": p.Issuer, "authorization_endpoint": p.AuthURL,
				"token_endpoint": p.TokenURL, "jwks_uri": p.JWKSURL, "device_authorization_endpoint": p.DeviceAuthURL}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("%s = %v, want %s", k, doc[k], v)
				}
			}
			if !strings.HasSuffix(p.Issuer, tt.opts.IssuerPath) || !strings.HasPrefix(p.Issuer, "http://127.0.0.1:") {
				t.Errorf("issuer %s", p.Issuer)
			}
			pkce, _ := doc["code_challenge_methods_supported"].([]any)
			if tt.quirks != (pkce == nil) || (pkce != nil && !slices.Equal(pkce, []any{"S256"})) {
				t.Errorf("code_challenge_methods_supported = %v", doc["code_challenge_methods_supported"])
			}
			for _, k := range []string{"authorization_response_iss_parameter_supported", "revocation_endpoint"} {
				if _, ok := doc[k]; ok == tt.quirks {
					t.Errorf("%s present: %v", k, ok)
				}
			}
			if grants, _ := doc["grant_types_supported"].([]any); !slices.Contains(grants, any("urn:ietf:params:oauth:grant-type:device_code")) ||
				!slices.Contains(grants, any("refresh_token")) {
				t.Errorf("grant_types_supported = %v", grants)
			}
			if status, _ := getJSON(t, p.Issuer+"/.well-known/oauth-authorization-server"); (status == http.StatusOK) == tt.quirks {
				t.Errorf("RFC 8414 path-append document: status %d", status)
			}
			if tt.pathOnly {
				u, _ := url.Parse(p.Issuer)
				insert := u.Scheme + "://" + u.Host + "/.well-known/openid-configuration" + u.Path
				if status, _ := getJSON(t, insert); status != http.StatusNotFound {
					t.Errorf("path-insert discovery %s: status %d, want 404", insert, status)
				}
			}
		})
	}
}

// tokenRequest posts form to the token endpoint and returns the status
// and the JSON answer.
func tokenRequest(t *testing.T, p *idptest.IdP, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(p.TokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// signIn runs an authorization-code + PKCE sign-in with golang.org/x/oauth2
// and returns the config and the redirect the provider sent.
func signIn(t *testing.T, p *idptest.IdP, redirect string, scopes []string, extra ...oauth2.AuthCodeOption) (*oauth2.Config, *url.URL, string) {
	t.Helper()
	cfg := &oauth2.Config{ClientID: p.ClientID, Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: scopes}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-1", append(extra, oauth2.S256ChallengeOption(verifier))...)
	return cfg, p.SignIn(t, authURL, "alice"), verifier
}

// exchange signs in and exchanges the code; it checks the redirect first.
func exchange(t *testing.T, p *idptest.IdP, scopes ...string) (*oauth2.Config, *oauth2.Token) {
	t.Helper()
	cfg, got, verifier := signIn(t, p, "http://127.0.0.1:49152/callback", scopes)
	q := got.Query()
	if got.Host != "127.0.0.1:49152" || got.Path != "/callback" || q.Get("state") != "state-1" || q.Get("code") == "" {
		t.Fatalf("redirect to %s%s with state %q, code set %v, error %q", got.Host, got.Path, q.Get("state"), q.Get("code") != "", q.Get("error"))
	}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return cfg, tok
}

// jwks fetches the provider's signing keys.
func jwks(t *testing.T, p *idptest.IdP) map[string]*rsa.PublicKey {
	t.Helper()
	resp, err := http.Get(p.JWKSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, Kty, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if k.Kty != "RSA" || err1 != nil || err2 != nil {
			t.Fatalf("key %s: kty %s", k.Kid, k.Kty)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys
}

// verify checks an access token's RS256 signature against the JWKS and
// its iss, aud and times, and returns its header and claims.
func verify(t *testing.T, p *idptest.IdP, token string) (map[string]any, jwt.MapClaims) {
	t.Helper()
	keys := jwks(t, p)
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(p.Issuer), jwt.WithAudience(p.Audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	return parsed.Header, claims
}

func TestAccessTokenClaims(t *testing.T) {
	for _, ttl := range []time.Duration{5 * time.Second, 300 * time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			p := idptest.Start(t, idptest.Options{AccessTTL: ttl, Scopes: []string{role, "session:role:OTHER"}})
			_, tok := exchange(t, p, role, "offline_access")
			if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
				t.Fatalf("token type %q, refresh token set %v", tok.TokenType, tok.RefreshToken != "")
			}
			header, claims := verify(t, p, tok.AccessToken)
			if header["typ"] != "at+jwt" {
				t.Errorf("typ %v", header["typ"])
			}
			var names []string
			for k := range claims {
				names = append(names, k)
			}
			slices.Sort(names)
			if want := []string{"aud", "client_id", "exp", "iat", "iss", "jti", "scope", "scp", "sub"}; !slices.Equal(names, want) {
				t.Errorf("claims %v, want %v", names, want)
			}
			iat, _ := claims["iat"].(float64)
			exp, _ := claims["exp"].(float64)
			if claims["sub"] != "alice" || claims["aud"] != idptest.DefaultAudience || claims["client_id"] != "sfmcp" ||
				claims["scope"] != role || exp-iat != ttl.Seconds() {
				t.Errorf("claims sub %v aud %v client_id %v scope %v lifetime %v", claims["sub"], claims["aud"],
					claims["client_id"], claims["scope"], exp-iat)
			}
			// Only what was asked for and granted; offline_access is not Snowflake's.
			if scp, _ := claims["scp"].([]any); !slices.Equal(scp, []any{role}) {
				t.Errorf("scp %v", claims["scp"])
			}
			if s := p.Stats(t); s.CodesExchanged != 1 {
				t.Errorf("codes exchanged %d", s.CodesExchanged)
			}
		})
	}
}

func TestRefreshRotatesAndReuseRevokesTheGrant(t *testing.T) {
	p := idptest.Start(t, idptest.Options{})
	cfg, first := exchange(t, p, role, "offline_access")
	ctx := context.Background()
	refresh := func(rt string) (*oauth2.Token, error) {
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	second, err := refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("the refresh token did not rotate")
	}
	if _, claims := verify(t, p, second.AccessToken); claims["sub"] != "alice" {
		t.Errorf("refreshed token for %v", claims["sub"])
	}
	if s := p.Stats(t); s.Refreshes != 1 || s.RefreshReuses != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("after one refresh: %+v", s)
	}
	// The consumed token again: refused, and the whole grant goes.
	for _, rt := range []string{first.RefreshToken, second.RefreshToken} {
		_, err := refresh(rt)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh after reuse: %v", err)
		}
	}
	if s := p.Stats(t); s.Refreshes != 1 || s.RefreshReuses != 1 || s.GrantsRevoked != 1 || s.RefreshErrors != 2 {
		t.Fatalf("after the reuse: %+v", s)
	}
}

func TestRefreshTokenNeedsOfflineAccessOnly(t *testing.T) {
	p := idptest.Start(t, idptest.Options{})
	tests := []struct {
		name   string
		scopes []string
		extra  []oauth2.AuthCodeOption
		want   bool
	}{
		{"offline_access without openid", []string{role, "offline_access"}, nil, true},
		{"no offline_access", []string{role}, nil, false},
		{"openid and offline_access", []string{"openid", role, "offline_access"}, nil, true},
		{"prompt=login", []string{role, "offline_access"}, []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")}, true},
		{"prompt=consent", []string{role, "offline_access"}, []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "consent")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, got, verifier := signIn(t, p, "http://127.0.0.1:49152/callback", tt.scopes, tt.extra...)
			tok, err := cfg.Exchange(context.Background(), got.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if (tok.RefreshToken != "") != tt.want {
				t.Errorf("refresh token issued: %v, want %v", tok.RefreshToken != "", tt.want)
			}
		})
	}
}

func TestRedirectsAndPKCE(t *testing.T) {
	p := idptest.Start(t, idptest.Options{RedirectURIs: []string{"http://127.0.0.1/callback", "http://localhost:8000/cb"}})
	tests := []struct {
		name     string
		redirect string
		noPKCE   bool
		want     string // "" a code; else the error the client gets, or "page" when the provider keeps it
	}{
		{"registered without a port, any port", "http://127.0.0.1:49152/callback", false, ""},
		{"another port", "http://127.0.0.1:61000/callback", false, ""},
		{"no port", "http://127.0.0.1/callback", false, ""},
		{"localhost registered with a port, another port", "http://localhost:18000/cb", false, ""},
		{"another path", "http://127.0.0.1:49152/other", false, "page"},
		{"another loopback host", "http://localhost:49152/callback", false, "page"},
		{"not loopback", "http://example.com:49152/callback", false, "page"},
		{"no PKCE", "http://127.0.0.1:49152/callback", true, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &oauth2.Config{ClientID: p.ClientID, Endpoint: p.Endpoint(), RedirectURL: tt.redirect, Scopes: []string{role}}
			var opts []oauth2.AuthCodeOption
			if !tt.noPKCE {
				opts = append(opts, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
			}
			authURL := cfg.AuthCodeURL("state-1", opts...)
			if tt.want == "page" {
				resp, err := http.Get(authURL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("status %d, want 400 and no redirect", resp.StatusCode)
				}
				return
			}
			got := p.SignIn(t, authURL, "alice")
			want, _ := url.Parse(tt.redirect)
			if got.Host != want.Host || got.Path != want.Path || got.Query().Get("error") != tt.want {
				t.Errorf("redirect to %s%s, error %q", got.Host, got.Path, got.Query().Get("error"))
			}
			if tt.want == "" && got.Query().Get("iss") != p.Issuer {
				t.Errorf("iss %q", got.Query().Get("iss"))
			}
		})
	}
}

func TestResourceIndicators(t *testing.T) {
	mcp := idptest.DefaultAudience + "/api/v2/databases/DB/schemas/S/mcp-servers/M"
	p := idptest.Start(t, idptest.Options{Resources: []string{mcp}})
	tests := []struct {
		name     string
		resource string
		want     string // the error at the client, or "" for a token
	}{
		{"none: the default audience", "", ""},
		{"the audience", idptest.DefaultAudience, ""},
		{"an added resource", mcp, ""},
		{"another", "https://other.snowflakecomputing.com", "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []oauth2.AuthCodeOption
			if tt.resource != "" {
				extra = append(extra, oauth2.SetAuthURLParam("resource", tt.resource))
			}
			cfg, got, verifier := signIn(t, p, "http://127.0.0.1:49152/callback", []string{role}, extra...)
			if got.Query().Get("error") != tt.want {
				t.Fatalf("error %q, want %q", got.Query().Get("error"), tt.want)
			}
			if tt.want != "" {
				return
			}
			tok, err := cfg.Exchange(context.Background(), got.Query().Get("code"), append(extra, oauth2.VerifierOption(verifier))...)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if _, claims := verify(t, p, tok.AccessToken); claims["aud"] != idptest.DefaultAudience {
				t.Errorf("aud %v", claims["aud"])
			}
		})
	}
}

func TestEntraRefusesResource(t *testing.T) {
	// Entra's scopes name the app's ID URI, which is also the audience.
	entraScope := "api://sfmcp-app/session:scope:MCP_USERS"
	p := idptest.Start(t, idptest.Options{EntraQuirks: true, Audience: "api://sfmcp-app", Scopes: []string{entraScope}})
	resource := oauth2.SetAuthURLParam("resource", p.Audience)
	scopes := []string{entraScope, "offline_access"}

	_, got, _ := signIn(t, p, "http://127.0.0.1:49152/callback", scopes, resource)
	if q := got.Query(); got.Host != "127.0.0.1:49152" || q.Get("error") != "invalid_target" ||
		!strings.HasPrefix(q.Get("error_description"), "AADSTS9010010:") || q.Get("state") != "state-1" {
		t.Fatalf("authorize with resource: redirect to %s with %v", got.Host, q)
	}

	cfg, got, verifier := signIn(t, p, "http://127.0.0.1:49152/callback", scopes)
	if got.Query().Has("iss") {
		t.Error("an Entra authorization response carries iss")
	}
	code := got.Query().Get("code")
	refused := func(err error) bool {
		var re *oauth2.RetrieveError
		return errors.As(err, &re) && re.ErrorCode == "invalid_target" && strings.Contains(re.ErrorDescription, "AADSTS9010010")
	}
	if _, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier), resource); !refused(err) {
		t.Fatalf("token request with resource: %v", err)
	}
	// The refused request never reached the provider: the code still works.
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange without resource: %v", err)
	}
	if _, claims := verify(t, p, tok.AccessToken); !slices.Equal(claims["scp"].([]any), []any{"session:scope:MCP_USERS"}) {
		t.Errorf("scp %v", claims["scp"])
	}
	status, body := tokenRequest(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {p.ClientID}, "resource": {p.Audience}})
	if status != http.StatusBadRequest || body["error"] != "invalid_target" {
		t.Fatalf("refresh with resource: status %d, error %v", status, body["error"])
	}
	if s := p.Stats(t); s.ResourceRefused != 3 || s.CodesExchanged != 1 || s.Refreshes != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestDeviceFlow(t *testing.T) {
	p := idptest.Start(t, idptest.Options{})
	cfg := &oauth2.Config{ClientID: p.ClientID, Endpoint: p.Endpoint(), Scopes: []string{role, "offline_access"}}
	da, err := cfg.DeviceAuth(context.Background())
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if !strings.HasPrefix(da.VerificationURI, p.Issuer+"/") || da.UserCode == "" {
		t.Fatalf("verification URI %s, user code set %v", da.VerificationURI, da.UserCode != "")
	}
	// Polled by hand, not with DeviceAccessToken, which waits the interval
	// before each poll.
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode}, "client_id": {p.ClientID}}
	if status, body := tokenRequest(t, p, poll); status != http.StatusBadRequest || body["error"] != "authorization_pending" {
		t.Fatalf("before approval: status %d, error %v", status, body["error"])
	}
	p.DeviceApprove(t, da.VerificationURI, da.UserCode, "bob")
	status, body := tokenRequest(t, p, poll)
	at, _ := body["access_token"].(string)
	if status != http.StatusOK || at == "" || body["refresh_token"] == nil {
		t.Fatalf("after approval: status %d, error %v", status, body["error"])
	}
	if _, claims := verify(t, p, at); claims["sub"] != "bob" {
		t.Errorf("sub %v", claims["sub"])
	}
	if s := p.Stats(t); s.DeviceCodesCompleted != 1 {
		t.Errorf("device codes completed %d", s.DeviceCodesCompleted)
	}
}

// waitStats polls the provider's counters until ok holds, within a bound.
func waitStats(t *testing.T, p *idptest.IdP, what string, ok func(idptest.Stats) bool) idptest.Stats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := p.Stats(t)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; stats %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A held refresh waits before the provider sees it: released, it goes
// through; abandoned by its client, it is dropped and its refresh token
// stays unused.
func TestHeldRefreshes(t *testing.T) {
	p := idptest.Start(t, idptest.Options{})
	cfg, first := exchange(t, p, role, "offline_access")
	refresh := func(ctx context.Context, rt string) (*oauth2.Token, error) {
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	p.HoldRefreshes(t)
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { _, err := refresh(ctx, first.RefreshToken); gone <- err }()
	waitStats(t, p, "the refresh is held", func(s idptest.Stats) bool { return s.RefreshesHeld == 1 })
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the abandoned refresh ended with %v", err)
	}
	waitStats(t, p, "the held refresh is dropped", func(s idptest.Stats) bool { return s.RefreshesAbandoned == 1 })

	done := make(chan *oauth2.Token, 1)
	go func() {
		tok, err := refresh(context.Background(), first.RefreshToken)
		if err != nil {
			t.Errorf("the released refresh: %v", err)
		}
		done <- tok
	}()
	waitStats(t, p, "the second refresh is held", func(s idptest.Stats) bool { return s.RefreshesHeld == 2 })
	if s := p.Stats(t); s.Refreshes != 0 {
		t.Fatalf("a held refresh reached the provider: %+v", s)
	}
	p.ReleaseRefreshes(t)
	second := <-done
	if second == nil || second.RefreshToken == first.RefreshToken {
		t.Fatal("the released refresh did not rotate the refresh token")
	}
	// Holding is off: the next refresh goes straight through.
	if _, err := refresh(context.Background(), second.RefreshToken); err != nil {
		t.Fatalf("refresh after release: %v", err)
	}
	if s := p.Stats(t); s.Refreshes != 2 || s.RefreshReuses != 0 || s.RefreshesHeld != 2 || s.RefreshesAbandoned != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Every code and token the provider issued is in IssuedSecrets.
func TestIssuedSecrets(t *testing.T) {
	p := idptest.Start(t, idptest.Options{})
	cfg, got, verifier := signIn(t, p, "http://127.0.0.1:49152/callback", []string{"openid", role, "offline_access"})
	code := got.Query().Get("code")
	first, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	second, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	da, err := cfg.DeviceAuth(context.Background())
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	idToken, _ := first.Extra("id_token").(string)
	secrets := p.IssuedSecrets(t)
	for name, s := range map[string]string{"code": code, "access token": first.AccessToken, "refresh token": first.RefreshToken,
		"ID token": idToken, "refreshed access token": second.AccessToken, "rotated refresh token": second.RefreshToken,
		"device code": da.DeviceCode} {
		if s == "" || !slices.Contains(secrets, s) {
			t.Errorf("the %s (set: %v) is not among the %d issued secrets", name, s != "", len(secrets))
		}
	}
}
