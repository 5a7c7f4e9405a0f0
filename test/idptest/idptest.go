// Package idptest runs a real OpenID provider for tests: panva's
// oidc-provider from npm (test/idp, installed with `npm ci`), configured
// like an Okta custom authorization server, or with Entra ID's quirks. It
// owns starting and stopping that provider, reading its test counters, and
// acting as the user on its own login, consent and device pages.
//
// Only tests import it. It never writes the provider's tokens, codes or
// pages to a log or a test's output: what it reports is statuses and error
// codes. IssuedSecrets hands them to a leak check, and to nothing else.
package idptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// DefaultAudience is the audience of access tokens when Options has none:
// the Snowflake account URL an External OAuth integration expects.
const DefaultAudience = "https://myorg-myaccount.snowflakecomputing.com"

// Options configure the provider. The zero value is an Okta-like custom
// authorization server at the issuer's root, with the defaults below.
type Options struct {
	// Audience is every access token's aud, and the resource indicator a
	// request without one gets. Default DefaultAudience.
	Audience string
	// Resources are more resource indicators accepted (each gives a token
	// for Audience), e.g. an MCP server's URL; any other is invalid_target.
	Resources []string
	// ClientID is the public client's id (PKCE, no secret). Default "sfmcp".
	ClientID string
	// RedirectURIs are the client's registered redirect URIs. A loopback
	// http URI matches on any port. Default http://127.0.0.1/callback.
	RedirectURIs []string
	// Scopes are what the audience's resource server grants, e.g.
	// session:role:MCP_USERS (the default). offline_access is always
	// there, and gives a refresh token.
	Scopes []string
	// AccessTTL is an access token's lifetime, in whole seconds. Default 300s.
	AccessTTL time.Duration
	// RefreshTTL is a refresh token's (and its grant's) lifetime. Default 24h.
	RefreshTTL time.Duration
	// IssuerPath puts the issuer below a path, as Okta's custom
	// authorization servers (/oauth2/aus123) and Entra (/TENANT/v2.0) do:
	// discovery is then only at the path-append addresses.
	IssuerPath string
	// EntraQuirks makes it answer as Entra ID does: discovery without
	// code_challenge_methods_supported (nor RFC 9207's iss support),
	// authorization responses without iss, no RFC 8414 document, no
	// revocation endpoint, and any authorize, token or device request with
	// a resource parameter refused (invalid_target, AADSTS9010010).
	EntraQuirks bool
}

// IdP is a running provider. Its fields are its public addresses.
type IdP struct {
	Issuer        string
	AuthURL       string
	TokenURL      string
	DeviceAuthURL string
	JWKSURL       string
	Audience      string
	ClientID      string
	origin        string // scheme://host:port, where /_test/stats is
}

// Stats are the provider's counters, from its own events.
type Stats struct {
	CodesExchanged       int `json:"codes_exchanged"`
	Refreshes            int `json:"refreshes"`      // refresh grants served
	RefreshErrors        int `json:"refresh_errors"` // refresh grants refused, for any reason
	RefreshReuses        int `json:"refresh_reuses"` // consumed refresh tokens presented (grant revoked)
	GrantsRevoked        int `json:"grants_revoked"`
	DeviceCodesCompleted int `json:"device_codes_completed"` // device codes exchanged for tokens
	ResourceRefused      int `json:"resource_refused"`       // requests refused for resource (EntraQuirks)
	RefreshesHeld        int `json:"refreshes_held"`         // refresh grants held by HoldRefreshes
	RefreshesAbandoned   int `json:"refreshes_abandoned"`    // held ones whose client went away: dropped unseen
}

// Endpoint is the provider's endpoints for golang.org/x/oauth2; a public
// client sends client_id in the body.
func (p *IdP) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL, DeviceAuthURL: p.DeviceAuthURL,
		AuthStyle: oauth2.AuthStyleInParams}
}

// Start runs the provider for the rest of the test. It skips the test when
// Node.js or test/idp's packages are missing, unless SFMCP_TEST_IDP is
// "require"; then it fails. SFMCP_TEST_NODE names the node binary (else
// node on PATH).
func Start(t testing.TB, o Options) *IdP {
	t.Helper()
	node, dir := requirements(t)
	o = o.withDefaults()
	cmd := exec.Command(node, append([]string{"server.mjs"}, o.args()...)...)
	cmd.Dir = dir
	ownGroup(cmd)
	// The provider exits when its stdin closes, so it ends with the test
	// binary even when no cleanup runs.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OpenID provider: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		killGroup(cmd)
		_ = cmd.Wait()
	})
	issuer, err := readIssuer(stdout)
	if err != nil {
		t.Fatalf("the OpenID provider did not start: %v\n%s", err, stderr)
	}
	return newIdP(issuer, o)
}

func newIdP(issuer string, o Options) *IdP {
	u, _ := url.Parse(issuer)
	return &IdP{
		Issuer:        issuer,
		AuthURL:       issuer + "/auth",
		TokenURL:      issuer + "/token",
		DeviceAuthURL: issuer + "/device/auth",
		JWKSURL:       issuer + "/jwks",
		Audience:      o.Audience,
		ClientID:      o.ClientID,
		origin:        u.Scheme + "://" + u.Host,
	}
}

// readIssuer waits for the provider's one line, {"issuer": …}, which it
// prints once it listens, or for its end.
func readIssuer(stdout io.Reader) (string, error) {
	type result struct {
		issuer string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadBytes('\n')
		if err != nil {
			done <- result{err: fmt.Errorf("its output ended: %w", err)}
			return
		}
		var hello struct{ Issuer string }
		if err := json.Unmarshal(line, &hello); err != nil || hello.Issuer == "" {
			done <- result{err: fmt.Errorf("its first line is not {\"issuer\": …}: %q", line)}
			return
		}
		done <- result{issuer: hello.Issuer}
	}()
	// A bound, not a wait: the line comes as soon as it listens.
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.issuer, r.err
	case <-timer.C:
		return "", errors.New("no issuer line within 60s")
	}
}

// Stats reads the provider's counters.
func (p *IdP) Stats(t testing.TB) Stats {
	t.Helper()
	resp, err := http.Get(p.origin + "/_test/stats")
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stats: status %d, %v", resp.StatusCode, err)
	}
	return s
}

// HoldRefreshes makes every refresh grant from now on wait, before the
// provider sees it, until ReleaseRefreshes: a refresh in flight for as long
// as a test needs (Stats.RefreshesHeld counts them). One whose client goes
// away while held is dropped unseen (Stats.RefreshesAbandoned), so its
// refresh token stays unused, as when the request was lost on its way.
func (p *IdP) HoldRefreshes(t testing.TB) {
	t.Helper()
	p.post(t, "/_test/hold-refresh")
}

// ReleaseRefreshes lets the held refresh grants through and stops holding.
func (p *IdP) ReleaseRefreshes(t testing.TB) {
	t.Helper()
	p.post(t, "/_test/release-refresh")
}

func (p *IdP) post(t testing.TB, path string) {
	t.Helper()
	resp, err := http.Post(p.origin+path, "application/json", nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", path, resp.StatusCode)
	}
}

// IssuedSecrets are every authorization code, device code, access token,
// refresh token and ID token the provider issued so far: for a leak check
// to look for, never to print.
func (p *IdP) IssuedSecrets(t testing.TB) []string {
	t.Helper()
	resp, err := http.Get(p.origin + "/_test/secrets")
	if err != nil {
		t.Fatalf("secrets: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Secrets []string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("secrets: status %d, %v", resp.StatusCode, err)
	}
	return body.Secrets
}

func (o Options) withDefaults() Options {
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}
	if o.ClientID == "" {
		o.ClientID = "sfmcp"
	}
	if len(o.RedirectURIs) == 0 {
		o.RedirectURIs = []string{"http://127.0.0.1/callback"}
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"session:role:MCP_USERS"}
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = 300 * time.Second
	}
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = 24 * time.Hour
	}
	return o
}

// args are server.mjs's flags for o.
func (o Options) args() []string {
	seconds := func(d time.Duration) string { return strconv.Itoa(max(1, int(d/time.Second))) }
	a := []string{"--port", "0", "--audience", o.Audience, "--client-id", o.ClientID,
		"--access-ttl", seconds(o.AccessTTL), "--refresh-ttl", seconds(o.RefreshTTL),
		"--issuer-path", o.IssuerPath}
	for _, r := range o.RedirectURIs {
		a = append(a, "--redirect-uri", r)
	}
	for _, s := range o.Scopes {
		a = append(a, "--scope", s)
	}
	for _, r := range o.Resources {
		a = append(a, "--resource", r)
	}
	if o.EntraQuirks {
		a = append(a, "--entra")
	}
	return a
}

// requirements finds node and test/idp with its packages installed, or
// skips (fails when SFMCP_TEST_IDP=require).
func requirements(t testing.TB) (node, dir string) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("SFMCP_TEST_IDP") == "require" {
			t.Fatal("SFMCP_TEST_IDP=require but " + why)
		}
		t.Skip(why + " (set SFMCP_TEST_IDP=require to fail instead)")
	}
	node = os.Getenv("SFMCP_TEST_NODE")
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			missing("no node on PATH: install Node.js to run the OpenID provider tests")
		}
	}
	dir = providerDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing("oidc-provider is not installed: run `npm ci` in " + dir)
	}
	return node, dir
}

// providerDir is test/idp beside this package's source.
func providerDir() string {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		dir := filepath.Join(filepath.Dir(file), "..", "idp")
		if _, err := os.Stat(filepath.Join(dir, "server.mjs")); err == nil {
			return dir
		}
	}
	// A -trimpath build has no source path: look up from here.
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test", "idp")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "test", "idp")
		}
	}
}

// syncBuffer is the provider's stderr, written by exec's copier and read
// when it failed to start.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
