package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// An identity provider's authorization response is checked for its
// issuer (RFC 9207): one naming another issuer is refused, as is one
// without iss when the server's metadata says it sends it. A Snowflake
// sign-in (no issuer expected) ignores iss.
func TestCallbackChecksTheIssuer(t *testing.T) {
	const issuer = "https://idp.example/oauth2/aus1"
	for _, tc := range []struct {
		expect   string
		required bool
		query    string
		wantErr  error
	}{
		{issuer, false, "code=abc&state=the-state&iss=" + url.QueryEscape(issuer), nil},
		{issuer, false, "code=abc&state=the-state", nil},
		{issuer, true, "code=abc&state=the-state", ErrIssuerMismatch},
		{issuer, false, "code=abc&state=the-state&iss=https%3A%2F%2Fevil.example", ErrIssuerMismatch},
		{issuer, false, "error=access_denied&state=the-state&iss=https%3A%2F%2Fevil.example", ErrIssuerMismatch},
		{"", false, "code=abc&state=the-state&iss=https%3A%2F%2Fanything.example", nil},
	} {
		c := newTestCallback()
		c.issuer, c.issRequired = tc.expect, tc.required
		w := get(c, "127.0.0.1:4321", "/cb?"+tc.query)
		res := <-c.result
		if !errors.Is(res.err, tc.wantErr) || tc.wantErr == nil && (res.code != "abc" || w.Code != 200) {
			t.Errorf("%s (expecting %q, required %v): %d %+v; want %v", tc.query, tc.expect, tc.required, w.Code, res, tc.wantErr)
		}
	}
}

// An identity provider's client uses its endpoints, sends the resource
// when it has one, and takes the user from the JWT access token.
func TestIdentityProviderClient(t *testing.T) {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://idp.example","sub":"00u1","preferred_username":"alice@example.com","aud":"https://acct.example","scp":["session:role:MCP_USERS"],"exp":2000000000}`))
	jwt := "eyJhbGciOiJSUzI1NiJ9." + claims + ".c2ln"
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/token" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		form = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"` + jwt + `","token_type":"Bearer","expires_in":300,"refresh_token":"rt1"}`))
	}))
	defer srv.Close()
	c := &Client{AuthURL: srv.URL + "/v1/authorize", TokenURL: srv.URL + "/v1/token", ClientID: "sfmcp", Resource: "https://acct.example",
		Scopes: []string{"session:role:MCP_USERS", "offline_access"}, HTTPClient: srv.Client(), Name: "idp.example"}
	auth, _ := url.Parse(c.AuthCodeURL("http://127.0.0.1:8000/callback", "st", "verifier-0123456789-0123456789-0123456789"))
	q := auth.Query()
	if auth.Path != "/v1/authorize" || q.Get("resource") != "https://acct.example" || q.Get("code_challenge_method") != "S256" || q.Get("scope") != "session:role:MCP_USERS offline_access" {
		t.Fatalf("authorization URL %s", auth)
	}
	tok, err := c.Exchange(context.Background(), "code1", "verifier-0123456789-0123456789-0123456789", "http://127.0.0.1:8000/callback")
	if err != nil || tok.Username != "alice@example.com" || tok.RefreshToken != "rt1" {
		t.Fatalf("exchange: %+v %v", tok, err)
	}
	if form.Get("resource") != "https://acct.example" || form.Get("client_id") != "sfmcp" || form.Get("code_verifier") == "" {
		t.Fatalf("token request form %v", form)
	}
	// A refresh at the provider sends the scopes and the resource again
	// (Entra wants the scope), keeps the refresh token when none comes
	// back, and reads a refusal as one.
	refreshed, err := c.Refresh(context.Background(), "rt1")
	if err != nil || refreshed.RefreshToken != "rt1" && refreshed.RefreshToken != "rt2" || form.Get("grant_type") != "refresh_token" ||
		form.Get("scope") != "session:role:MCP_USERS offline_access" || form.Get("resource") != "https://acct.example" || form.Get("client_id") != "sfmcp" {
		t.Fatalf("refresh: %+v %v; form %v", refreshed, err, form)
	}
	cl, ok := AccessClaims(jwt)
	if !ok || cl.Issuer != "https://idp.example" || !slices.Equal(cl.Audience, []string{"https://acct.example"}) || !slices.Equal(cl.Scopes, []string{"session:role:MCP_USERS"}) || cl.Expiry.Unix() != 2000000000 {
		t.Fatalf("claims %+v %v", cl, ok)
	}
	for _, notJWT := range []string{"opaque-token", "a.b.c", "a.!!!.c", strings.Repeat("a.", 40000) + "a"} {
		if _, ok := AccessClaims(notJWT); ok {
			t.Errorf("%.20q decoded as a JWT", notJWT)
		}
	}
	if s := c.ServerName(); s != "idp.example" {
		t.Errorf("server name %q", s)
	}
}

// A provider's refusal of a refresh token needs a new sign-in, and its
// answer never shows the refresh token.
func TestIdentityProviderRefreshRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant","error_description":"grant request is invalid: rt-secret-1 was used"}`))
	}))
	defer srv.Close()
	c := &Client{TokenURL: srv.URL + "/token", ClientID: "sfmcp", HTTPClient: srv.Client()}
	_, err := c.Refresh(context.Background(), "rt-secret-1")
	if !errors.Is(err, ErrLoginRequired) || strings.Contains(err.Error(), "rt-secret-1") {
		t.Fatalf("err = %v; want a login-required error without the token", err)
	}
}

// A token endpoint that redirects does not get the code, the verifier or
// a refresh token posted on to where it points.
func TestTokenEndpointRedirectIsNotFollowed(t *testing.T) {
	var elsewhere int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere++ }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c := &Client{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token", ClientID: "sfmcp", HTTPClient: srv.Client()}
	if _, err := c.Exchange(context.Background(), "code1", "verifier-0123456789-0123456789-0123456789", "http://127.0.0.1:8000/callback"); err == nil {
		t.Error("an exchange answered by a redirect succeeded")
	}
	if _, err := c.Refresh(context.Background(), "rt1"); err == nil {
		t.Error("a refresh answered by a redirect succeeded")
	}
	if elsewhere != 0 {
		t.Fatalf("the redirect's target got %d requests", elsewhere)
	}
}
