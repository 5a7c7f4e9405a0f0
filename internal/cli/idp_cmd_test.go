//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/oauth"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// idpBrowser is a browser that signs in as user at the identity provider:
// it opens sfmcp's start page, signs in on the provider's pages and is
// sent back to sfmcp's loopback callback.
func idpBrowser(t *testing.T, idp *idptest.IdP, user string) func(string) error {
	return func(start string) error {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(start)
		if err != nil {
			return err
		}
		resp.Body.Close()
		auth := resp.Header.Get("Location")
		if auth == "" {
			return errors.New("the start page sent the browser nowhere")
		}
		back := idp.SignIn(t, auth, user)
		resp, err = http.Get(back.String())
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
}

// A profile bound to an identity provider signs in there (Okta's issuer
// form, discovered by the appended well-known path), stores the issuer and
// its token endpoint with the sign-in, and the daemon serves the
// provider's JWT and refreshes it there, rotating the refresh token
// without ever sending one twice.
func TestIdPProfileSignsInAtItsIssuer(t *testing.T) {
	idp := idptest.Start(t, idptest.Options{IssuerPath: "/oauth2/aus123", AccessTTL: 60})
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.open = idpBrowser(t, idp, "alice@example.com")
	h.env["SFMCP_NO_AUTO_LOGIN"] = "1"
	redirect := "http://127.0.0.1:" + freePort(t) + "/callback"
	out := h.mustRun("profile", "add", "corp", "--issuer", idp.Issuer, "--idp", "okta", "--client-id", idp.ClientID,
		"--account", "myorg-myaccount", "--host", h.sf.Host(), "--role", "MCP_USERS", "--redirect-uri", redirect)
	if !strings.Contains(out, "signs in at "+idp.Issuer) {
		t.Fatalf("profile add: %s", out)
	}
	var shown struct {
		Issuer string   `json:"issuer"`
		Scopes []string `json:"requested_scopes"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("profile", "show", "corp", "--json")), &shown); err != nil || shown.Issuer != idp.Issuer ||
		!slices.Equal(shown.Scopes, []string{"session:role:MCP_USERS", "offline_access"}) {
		t.Fatalf("profile show: %+v %v", shown, err)
	}
	code, out, errOut := h.run("", "login", "corp")
	if code != 0 || !strings.Contains(out, "Logged in at "+idp.Issuer+" as alice@example.com (profile corp") ||
		!strings.Contains(errOut, "sign in at 127.0.0.1") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	cred, err := h.store().Credential("corp")
	if err != nil || cred.Issuer != idp.Issuer || cred.TokenURL != idp.TokenURL || cred.User != "alice@example.com" ||
		!slices.Equal(cred.Scopes, []string{"session:role:MCP_USERS", "offline_access"}) {
		t.Fatalf("stored sign-in %v: issuer %q, token URL %q, scopes %q (%v)", cred, cred.Issuer, cred.TokenURL, cred.Scopes, err)
	}
	h.leaks.Secret(cred.Secret) // the provider's refresh token is in no output or log
	h.startDaemon()
	tok := daemonAccessToken(t, h, "corp")
	claims, ok := oauth.AccessClaims(tok)
	if !ok || claims.Issuer != idp.Issuer || claims.User != "alice@example.com" || !slices.Equal(claims.Scopes, []string{"session:role:MCP_USERS"}) ||
		!slices.Equal(claims.Audience, []string{idp.Audience}) {
		t.Fatalf("the daemon served %+v", claims)
	}
	// The account takes its MCP tokens from the provider now: the
	// provider's token calls the server; Snowflake's own would not.
	h.sf.AddUser(snowflaketest.User{Name: "ALICE_CORP", LoginName: "alice@example.com", Roles: []string{"MCP_USERS"}, DefaultRole: "MCP_USERS"})
	if err := h.sf.AddExternalOAuth(snowflaketest.ExternalOAuth{Name: "OKTA_EXT", Type: "OKTA", Issuer: idp.Issuer, JWKSURL: idp.JWKSURL,
		AudienceList: []string{idp.Audience}, UserClaim: "sub", UserAttribute: "LOGIN_NAME"}); err != nil {
		t.Fatal(err)
	}
	if err := h.sf.BindAuthorizationServer(snowflaketest.Level{}, "OKTA_EXT"); err != nil {
		t.Fatal(err)
	}
	if code := mcpInitialize(t, h, tok); code != http.StatusOK {
		t.Fatalf("the bound MCP server answered the provider's token with HTTP %d", code)
	}
	h.open = nil // Snowflake's own sign-in
	h.mustRun("profile", "add", "sf", "--account", "myorg-myaccount", "--host", h.sf.Host())
	h.mustRun("login", "sf")
	if code := mcpInitialize(t, h, daemonAccessToken(t, h, "sf")); code != http.StatusUnauthorized {
		t.Fatalf("the bound MCP server answered a Snowflake OAuth token with HTTP %d", code)
	}
	if _, out, _ := h.run("", "doctor", "--profile", "corp"); !strings.Contains(out, "✓ profile selected: corp, signs in at "+idp.Issuer) ||
		!strings.Contains(out, "✓ access token (refresh works)") {
		t.Errorf("doctor:\n%s", out)
	}
	status := h.mustRun("status")
	if !strings.Contains(status, "profile corp signs in at "+idp.Issuer+"; its token's scopes: session:role:MCP_USERS; audience: "+idp.Audience) {
		t.Errorf("status:\n%s", status)
	}
	if s := idp.Stats(t); s.CodesExchanged != 1 || s.Refreshes != 1 || s.RefreshReuses != 0 {
		t.Errorf("the provider saw %+v; want one code, one refresh, no reuse", s)
	}
	u, _ := url.Parse(idp.TokenURL)
	if !strings.HasPrefix(u.Path, "/oauth2/aus123/") {
		t.Errorf("token endpoint %s is not under the issuer", idp.TokenURL)
	}
}

// mcpInitialize sends MCP's initialize with token to the stand-in's MCP
// server and returns the HTTP status.
func mcpInitialize(t *testing.T, h *harness, token string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, h.sf.MCPURL(snowflaketest.DefaultMCPServer()), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := h.sf.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// daemonAccessToken asks the harness's daemon for profile's access token,
// as a client does (not through a command, whose output the leak check
// reads).
func daemonAccessToken(t *testing.T, h *harness, profile string) string {
	t.Helper()
	c, err := client.Connect(context.Background(), client.Options{Getenv: func(k string) string { return h.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(context.Background(), client.Request{Profile: profile})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}
