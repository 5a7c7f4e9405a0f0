//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// Issue #22 end to end: a profile that signs in at the organisation's
// identity provider, with the installed binaries, against a real OpenID
// provider (test/idptest: oidc-provider from npm) and a Snowflake stand-in
// whose MCP servers are bound to it (OAUTH_AUTHORIZATION_SERVER), so they
// take the provider's tokens and refuse Snowflake's own.

const (
	corpProfile     = "corp"
	corpUser        = "alice@example.com" // who signs in at the provider: the token's sub
	corpUserName    = "ALICE_CORP"        // the Snowflake user whose LOGIN_NAME that is
	corpIntegration = "CORP_IDP"          // the stand-in's External OAuth integration
	corpToolResult  = "gong_search ran as " + corpUserName + " with role MCP_USERS"
)

// strictClock is the stand-in's clock: 59 seconds ahead, where it lets an
// External OAuth token's exp be a minute off, so it refuses a token one
// second after the token's exp (exp counts whole seconds, so a client that
// goes by expires_in may see a token's end up to a second late). A token
// sfmcp hands out past its expiry then shows as a refusal ("expired")
// instead of passing unnoticed.
func strictClock() time.Time { return time.Now().Add(59 * time.Second) }

// idpCase is a provider and the stand-in's integration for it.
type idpCase struct {
	idp idptest.Options
	// ext is the integration; its name, issuer and keys are the
	// provider's, its audience list the provider's audience unless set.
	ext snowflaketest.ExternalOAuth
	// flags are more `profile add` flags (--idp entra --audience …).
	flags []string
}

// idpProc is a user of sfmcp with profile corp, made with `profile add
// --issuer`, whose account's MCP servers are bound to the provider.
type idpProc struct {
	*proc
	idp      *idptest.IdP
	socket   string
	redirect string   // the profile's loopback redirect URI
	stored   []string // refresh tokens read from the file store
}

func newIdPProc(t *testing.T, c idpCase) *idpProc {
	t.Helper()
	ip := newIdPAccount(t, c)
	args := append([]string{"profile", "add", corpProfile, "--issuer", ip.idp.Issuer, "--client-id", ip.idp.ClientID,
		"--account", "myorg-myaccount", "--host", ip.sf.Host(), "--role", "MCP_USERS", "--redirect-uri", ip.redirect}, c.flags...)
	if code, out, errOut := ip.run(nil, args...); code != 0 || !strings.Contains(out, "signs in at "+ip.idp.Issuer) {
		t.Fatalf("profile add: exit %d\n%s%s", code, out, errOut)
	}
	return ip
}

// newIdPAccount is a user of sfmcp with no profile yet, whose account's
// MCP servers are bound to the provider (c.flags are not used).
func newIdPAccount(t *testing.T, c idpCase) *idpProc {
	t.Helper()
	idp := idptest.Start(t, c.idp)
	ip := &idpProc{idp: idp}
	// Before the provider stops (cleanups run last in, first out), after
	// every file of the test was recorded: each code and token it issued
	// is a secret the leak check looks for in everything sfmcp wrote.
	t.Cleanup(func() { ip.checkLeaks(t) })
	p := newProcWith(t, snowflaketest.Options{Now: strictClock})
	ip.proc = p
	run := filepath.Join(p.dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	ip.socket = filepath.Join(run, "sfmcp.sock")
	p.useFileStore()
	p.env = append(p.env, "SFMCP_SOCKET="+ip.socket, "XDG_STATE_HOME="+filepath.Join(p.dir, "state"))

	p.sf.AddUser(snowflaketest.User{Name: corpUserName, LoginName: corpUser, Roles: []string{"MCP_USERS", "PUBLIC"}, DefaultRole: "MCP_USERS"})
	ext := c.ext
	ext.Name, ext.Issuer, ext.JWKSURL = corpIntegration, idp.Issuer, idp.JWKSURL
	if len(ext.AudienceList) == 0 {
		ext.AudienceList = []string{idp.Audience}
	}
	if err := p.sf.AddExternalOAuth(ext); err != nil {
		t.Fatal(err)
	}
	if err := p.sf.BindAuthorizationServer(snowflaketest.Level{}, corpIntegration); err != nil {
		t.Fatal(err)
	}

	ip.redirect = "http://127.0.0.1:" + freePort(t) + "/callback"
	t.Cleanup(p.stopDaemon)
	return ip
}

// checkLeaks adds every secret the provider issued to the leak check and
// runs it: no code, access token or refresh token of the provider is in
// anything sfmcp wrote, in this test or before. The refresh tokens the
// file store held must be among them, or the list would be missing some.
func (ip *idpProc) checkLeaks(t *testing.T) {
	issued := ip.idp.IssuedSecrets(t)
	for _, s := range issued {
		leaks.Secret(s)
	}
	for _, s := range ip.stored {
		if !slices.Contains(issued, s) {
			t.Error("a refresh token in the file store is not among the secrets the provider says it issued")
		}
	}
	if _, _, err := leaks.Check(); err != nil {
		t.Error(err)
	}
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// login signs corp in with `login --no-browser`, the test acting as the
// browser on the provider's pages (plain HTTP, idptest.SignIn). It
// returns the authorization request the start page sent the browser to.
func (ip *idpProc) login(t *testing.T) *url.URL {
	t.Helper()
	s := startSignIn(t, ip.cmd(nil, "login", corpProfile, "--no-browser", "--timeout", "60s"))
	// Only the first loopback URL is the start page: the provider's own
	// authorization URL, printed next for a browser elsewhere, is on a
	// loopback address too.
	start, ok := s.nextStartURL()
	var authorize *url.URL
	var err error
	if ok {
		authorize, err = ip.signInAt(t, start)
	}
	if err != nil {
		t.Errorf("browser: %v", err)
		s.c.Process.Kill()
	}
	code, out, errOut := s.wait()
	if code != 0 || !strings.Contains(out, "Logged in at "+ip.idp.Issuer+" as "+corpUser+" (profile corp, for "+ip.sf.Host()+")") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	ip.storedRefreshToken(t)
	return authorize
}

// signInAt is the browser at sfmcp's loopback start page: sent on to the
// provider, it signs in there and is sent back to sfmcp's callback, which
// must say it worked.
func (ip *idpProc) signInAt(t *testing.T, start string) (*url.URL, error) {
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(start)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	authorize, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authorize.String(), ip.idp.AuthURL+"?") {
		return nil, fmt.Errorf("the start page sent the browser to %s, not to the provider's authorization endpoint %s", resp.Header.Get("Location"), ip.idp.AuthURL)
	}
	back := ip.idp.SignIn(t, authorize.String(), corpUser)
	status, page, err := get(back.String())
	if err != nil || status != http.StatusOK || !strings.Contains(page, "You are signed in to") {
		return nil, errors.New("sfmcp's callback did not say the sign-in worked")
	}
	leaks.Record("sfmcp's callback page", page)
	return authorize, nil
}

// get fetches u and returns its status and body.
func get(u string) (int, string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}

// credential reads corp's sign-in from the file store.
func (ip *idpProc) credential(t *testing.T) keychain.Credential {
	t.Helper()
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Dir(ip.credentialsFile())})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := store.Credential(corpProfile)
	if err != nil {
		t.Fatalf("the stored sign-in: %v", err)
	}
	return cred
}

// storedRefreshToken is the refresh token in the file store now,
// registered as a secret for the leak check.
func (ip *idpProc) storedRefreshToken(t *testing.T) string {
	t.Helper()
	rt := ip.credential(t).Secret
	if rt == "" {
		t.Fatal("the file store holds no refresh token for corp")
	}
	leaks.Secret(rt)
	ip.stored = append(ip.stored, rt)
	return rt
}

// headers runs `headers --profile corp` (env added) and returns the
// headers it printed.
func (ip *idpProc) headers(t *testing.T, env ...string) map[string]string {
	t.Helper()
	code, out, errOut := ip.run(env, "headers", "--profile", corpProfile)
	var h map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &h) != nil || !strings.HasPrefix(h["Authorization"], "Bearer ") {
		t.Fatalf("headers: exit %d, %d bytes of stdout\n%s", code, len(out), errOut)
	}
	return h
}

// bearer is the access token in headers.
func bearer(h map[string]string) string { return strings.TrimPrefix(h["Authorization"], "Bearer ") }

// claims decodes an access token the provider issued, and fails unless it
// is the provider's, for the corp user.
func (ip *idpProc) claims(t *testing.T, token string) oauth.Claims {
	t.Helper()
	c, ok := oauth.AccessClaims(token)
	if !ok || c.Issuer != ip.idp.Issuer || c.User != corpUser || !slices.Equal(c.Audience, []string{ip.idp.Audience}) {
		t.Fatalf("the access token is not the provider's for %s: %+v", corpUser, c)
	}
	return c
}

// profileStatus is corp's state as the running daemon reports it.
func (ip *idpProc) profileStatus(t *testing.T) apitype.ProfileStatus {
	t.Helper()
	code, out, errOut := ip.run([]string{"SFMCP_NO_AUTOSTART=1"}, "status", "--json")
	var st struct {
		Daemon   *apitype.Status
		Profiles []apitype.ProfileStatus
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Daemon == nil {
		t.Fatalf("status --json: exit %d\n%s%s", code, out, errOut)
	}
	for _, p := range st.Profiles {
		if p.Name == corpProfile {
			return p
		}
	}
	t.Fatalf("status --json names no profile corp:\n%s", out)
	return apitype.ProfileStatus{}
}

// within polls cond until it holds, failing after d: how the tests wait
// for an event they can only observe (a counter, a state), never a sleep
// standing in for one.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExpired waits until the stand-in refuses the access token in h as
// expired: the token's lifetime is over, as Snowflake sees it.
func (ip *idpProc) waitExpired(t *testing.T, h map[string]string, d time.Duration) {
	t.Helper()
	before := ip.sf.Counters().Refusals[snowflaketest.RefusedExpired]
	within(t, d, "the access token expires at Snowflake", func() bool {
		switch st := ip.callMCP(t, h); st {
		case http.StatusOK:
			return false
		case http.StatusUnauthorized:
			return true
		default:
			t.Fatalf("the MCP server answered the token with HTTP %d", st)
		}
		return false
	})
	if n := ip.sf.Counters().Refusals[snowflaketest.RefusedExpired] - before; n != 1 {
		t.Fatalf("the token was refused, but %d refusals were for expiry", n)
	}
}
