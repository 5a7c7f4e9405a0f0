//go:build linux

package e2e

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// `sfmcp-token-full login corp` opens the browser (xdg-open) on its
// loopback start page; a real headless chromium goes on to the provider,
// signs in on the provider's own login and consent pages, and lands on
// sfmcp's callback. The sign-in is stored with the issuer and its token
// endpoint, and the bound MCP server takes the token the daemon serves.
func TestIdPRealBrowserLogin(t *testing.T) {
	ctx := browser(t)
	ip := newIdPProc(t, idpCase{})
	desktop := newFakeDesktop(t)
	full := filepath.Join(filepath.Dir(binary), "sfmcp-token-full")
	// A desktop: a display and its opener (with no display, login would
	// print the URL to paste instead).
	login := ip.cmd(desktop.env("DISPLAY=:0"), "login", corpProfile, "--timeout", "60s")
	login.Path, login.Args[0] = full, full
	s := startSignIn(t, login)
	start := desktop.expect(t, "open", 30*time.Second, func() string { return s.errOut.String() })
	if !strings.HasPrefix(start, "http://127.0.0.1:") {
		t.Fatalf("login opened %q, not its loopback start page", start)
	}

	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(tctx,
		chromedp.Navigate(start),
		chromedp.WaitVisible(`input[name="login"]`),
		chromedp.SendKeys(`input[name="login"]`, corpUser),
		chromedp.SendKeys(`input[name="password"]`, "any"),
		chromedp.Submit(`input[name="login"]`),
		chromedp.WaitReady(`input[name="prompt"][value="consent"]`),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#message`),
	)
	if err != nil {
		loc, _ := chromedp.Run(tctx, chromedp.Location())
		t.Fatalf("browser: %v (at %s)", err, loc)
	}
	message, err := chromedp.Run(tctx, chromedp.Text(`#message`))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	at, _ := chromedp.Run(tctx, chromedp.Location())
	leaks.Record(t.Name()+": the page after the sign-in", message)
	issuerHost := strings.TrimPrefix(ip.idp.Issuer, "http://")
	if !strings.Contains(message, "You are signed in to "+issuerHost) {
		t.Fatalf("sfmcp's callback page says %q", message)
	}
	// The browser came back to the profile's redirect URI, with no code
	// left in the address it shows.
	if back, _ := url.Parse(at); back == nil || "http://"+back.Host+back.Path != ip.redirect {
		t.Errorf("the browser came back to %s, not to %s", at, ip.redirect)
	}
	code, out, errOut := s.wait()
	if code != 0 || !strings.Contains(out, "Logged in at "+ip.idp.Issuer+" as "+corpUser+" (profile corp, for "+ip.sf.Host()+")") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	cred := ip.credential(t)
	if cred.Issuer != ip.idp.Issuer || cred.TokenURL != ip.idp.TokenURL || cred.User != corpUser {
		t.Errorf("the sign-in is stored for issuer %q, token URL %q, user %q", cred.Issuer, cred.TokenURL, cred.User)
	}
	ip.storedRefreshToken(t)
	if s := ip.idp.Stats(t); s.CodesExchanged != 1 {
		t.Errorf("the provider exchanged %d codes, want 1", s.CodesExchanged)
	}

	h := ip.headers(t)
	ip.claims(t, bearer(h))
	if st := ip.callMCP(t, h); st != http.StatusOK {
		t.Fatalf("the bound MCP server answered the provider's token with HTTP %d", st)
	}
	if c := ip.sf.Counters(); c.MCPAccepted[snowflaketest.KindExternalOAuth] != 1 || c.MCPRefused[snowflaketest.KindExternalOAuth] != 0 {
		t.Errorf("the stand-in accepted %v and refused %v", c.MCPAccepted, c.MCPRefused)
	}
}

// deviceCodeLine is how login --device says where to enter which code.
var deviceCodeLine = regexp.MustCompile(`open (\S+) on any device and enter the code (\S+)`)

// `login --device` asks the provider's device endpoint for a code, prints
// where to enter it, and completes once the user approved it elsewhere
// (here, while login polls); no browser and no loopback redirect.
func TestIdPDeviceLogin(t *testing.T) {
	ip := newIdPProc(t, idpCase{})
	s := startSignIn(t, ip.cmd(nil, "login", corpProfile, "--device", "--timeout", "60s"))
	var m []string
	for s.stderr.Scan() {
		line := s.stderr.Text()
		s.errOut.WriteString(line + "\n")
		if m = deviceCodeLine.FindStringSubmatch(line); m != nil {
			break
		}
	}
	if m == nil {
		_, _, errOut := s.wait()
		t.Fatalf("login --device printed no code:\n%s", errOut)
	}
	if !strings.HasPrefix(m[1], ip.idp.Issuer+"/") {
		t.Fatalf("login --device sent the user to %s", m[1])
	}
	ip.idp.DeviceApprove(t, m[1], m[2], corpUser)
	code, out, errOut := s.wait()
	if code != 0 || !strings.Contains(out, "Logged in at "+ip.idp.Issuer+" as "+corpUser+" (profile corp, for "+ip.sf.Host()+")") {
		t.Fatalf("login --device: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(errOut, strings.TrimSuffix(ip.redirect, "/callback")) {
		t.Error("login --device offered the loopback sign-in too")
	}
	ip.storedRefreshToken(t)
	if s := ip.idp.Stats(t); s.DeviceCodesCompleted != 1 || s.CodesExchanged != 0 {
		t.Errorf("the provider completed %d device codes and exchanged %d authorization codes; want 1 and 0", s.DeviceCodesCompleted, s.CodesExchanged)
	}
	h := ip.headers(t)
	ip.claims(t, bearer(h))
	if st := ip.callMCP(t, h); st != http.StatusOK {
		t.Fatalf("the bound MCP server answered the device sign-in's token with HTTP %d", st)
	}
}

// Entra ID's quirks, shown by the provider: its discovery document lists
// no code_challenge_methods_supported (sfmcp assumes S256 for --idp entra),
// it refuses any request with RFC 8707's resource (sfmcp sends none), and
// the issuer is under /TENANT/v2.0. The profile signs in, the daemon
// refreshes there more than once, and the bound server takes the tokens.
func TestIdPEntraQuirks(t *testing.T) {
	const app = "api://sfmcp-snowflake"
	ip := newIdPProc(t, idpCase{
		idp: idptest.Options{EntraQuirks: true, IssuerPath: "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", Audience: app,
			Scopes: []string{app + "/session:scope:MCP_USERS"}, AccessTTL: 3 * time.Second},
		// idptest's Entra mode puts the scope's name after the app's URI
		// in scp, as Entra does: session:scope:MCP_USERS.
		ext:   snowflaketest.ExternalOAuth{Type: "AZURE"},
		flags: []string{"--idp", "entra", "--audience", app},
	})
	authorize := ip.login(t).Query()
	if authorize.Has("resource") || authorize.Get("code_challenge_method") != "S256" || authorize.Get("code_challenge") == "" ||
		authorize.Get("scope") != app+"/session:scope:MCP_USERS offline_access" {
		t.Errorf("authorization request: resource %q, PKCE method %q (challenge set %v), scope %q", authorize.Get("resource"),
			authorize.Get("code_challenge_method"), authorize.Get("code_challenge") != "", authorize.Get("scope"))
	}
	first := ip.headers(t)
	if c := ip.claims(t, bearer(first)); !slices.Equal(c.Scopes, []string{"session:scope:MCP_USERS"}) {
		t.Errorf("the token's scopes are %q", c.Scopes)
	}
	if st := ip.callMCP(t, first); st != http.StatusOK {
		t.Fatalf("the bound MCP server answered the Entra token with HTTP %d", st)
	}
	// The daemon refreshes in the background before each token expires;
	// two refreshes after the first token are two more lifetimes.
	refreshes := ip.idp.Stats(t).Refreshes
	within(t, 20*time.Second, "two more refreshes at the provider", func() bool { return ip.idp.Stats(t).Refreshes >= refreshes+2 })
	h := ip.headers(t)
	if bearer(h) == bearer(first) {
		t.Fatal("the daemon still serves the first token")
	}
	if st := ip.callMCP(t, h); st != http.StatusOK {
		t.Fatalf("the bound MCP server answered the refreshed Entra token with HTTP %d", st)
	}
	if s := ip.idp.Stats(t); s.ResourceRefused != 0 || s.RefreshErrors != 0 || s.RefreshReuses != 0 || s.CodesExchanged != 1 {
		t.Errorf("the provider saw %+v; want no resource refused, no refresh error or reuse, one code", s)
	}
	ip.storedRefreshToken(t)
}
