//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// Issue #22, discovery from the MCP server's URL, with the installed
// binaries: the server's Protected Resource Metadata (RFC 9728) names the
// identity provider it is bound to; sfmcp signs in there only when the
// user named it (--issuer), and refuses without a terminal otherwise,
// before anything changes or is sent there.

// urlCase is an account whose MCP servers are bound to a real provider
// under an Okta-like issuer path, their scopes naming the role, and the
// URL of its MCP server DB.PUBLIC.GONG_MCP.
func urlCase(t *testing.T) (*idpProc, string) {
	t.Helper()
	ip := newIdPAccount(t, idpCase{idp: idptest.Options{IssuerPath: "/oauth2/aus123"}})
	if err := ip.sf.SetParameter(snowflaketest.Level{}, snowflaketest.ParamScopesSupported, "session:role:MCP_USERS"); err != nil {
		t.Fatal(err)
	}
	return ip, ip.sf.MCPURL(snowflaketest.DefaultMCPServer())
}

// issuerHost is the host a person checks in an issuer.
func issuerHost(t *testing.T, issuer string) string {
	t.Helper()
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		t.Fatalf("issuer %q has no host", issuer)
	}
	return u.Host
}

// readConfig is the config file's content now.
func (p *proc) readConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(p.configFile())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// refusedUnnamedIssuer runs args without a terminal and fails unless they
// are refused (exit 2) because the metadata alone named issuer, with the
// config left as it was.
func (p *proc) refusedUnnamedIssuer(t *testing.T, issuer string, env []string, args ...string) {
	t.Helper()
	before := p.readConfig(t)
	code, out, errOut := p.run(env, args...)
	if code != 2 || !strings.Contains(errOut, "sends the sign-in to "+issuerHost(t, issuer)+" ("+issuer+"), which you did not name; nothing was changed") ||
		!strings.Contains(errOut, "--issuer "+issuer) {
		t.Errorf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	if after := p.readConfig(t); after != before {
		t.Errorf("%s changed the config although refused:\n%s", strings.Join(args, " "), after)
	}
}

// acceptedAt checks that `headers --profile corp`, asked for the server at
// serverURL as Claude Code asks, prints the provider's token, and that the
// bound server takes it.
func (ip *idpProc) acceptedAt(t *testing.T, serverURL string) {
	t.Helper()
	h := ip.headers(t, "CLAUDE_CODE_MCP_SERVER_URL="+serverURL)
	ip.claims(t, bearer(h))
	before := ip.sf.Counters()
	if st := ip.callMCP(t, h); st != http.StatusOK {
		t.Fatalf("the bound MCP server answered the provider's token with HTTP %d", st)
	}
	after := ip.sf.Counters()
	if n := after.MCPAccepted[snowflaketest.KindExternalOAuth] - before.MCPAccepted[snowflaketest.KindExternalOAuth]; n != 1 ||
		after.MCPRefused[snowflaketest.KindExternalOAuth] != before.MCPRefused[snowflaketest.KindExternalOAuth] {
		t.Errorf("the stand-in accepted %d of the provider's tokens (want 1) and refused %v", n, after.MCPRefused)
	}
}

// profileView is `profile show NAME --json`.
type profileView struct {
	Host, Role, Issuer string
	ClientID           string   `json:"client_id"`
	MCPServers         []string `json:"mcp_servers"`
}

func (p *proc) showProfile(t *testing.T, name string) profileView {
	t.Helper()
	var v profileView
	if err := json.Unmarshal([]byte(p.mustRun("profile", "show", name, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// `profile add --url`: without --issuer the provider the metadata names is
// refused without a terminal; named, it makes an IdP profile on the
// server's host for that server, which signs in at the provider, and
// whose token `headers` serves to the bound server.
func TestIdPProfileAddFromURL(t *testing.T) {
	ip, mcpURL := urlCase(t)
	add := []string{"profile", "add", corpProfile, "--url", mcpURL, "--client-id", ip.idp.ClientID, "--redirect-uri", ip.redirect}
	ip.refusedUnnamedIssuer(t, ip.idp.Issuer, nil, add...)

	code, out, errOut := ip.run(nil, append(add, "--issuer", ip.idp.Issuer)...)
	if code != 0 || !strings.Contains(out, "signs in at "+ip.idp.Issuer+"; MCP server DB.PUBLIC.GONG_MCP") {
		t.Fatalf("profile add --url --issuer: exit %d\n%s%s", code, out, errOut)
	}
	want := profileView{Host: ip.sf.Host(), Role: "MCP_USERS", Issuer: ip.idp.Issuer, ClientID: ip.idp.ClientID, MCPServers: []string{"DB.PUBLIC.GONG_MCP"}}
	if got := ip.showProfile(t, corpProfile); !profileEqual(got, want) {
		t.Fatalf("profile show corp: %+v; want %+v", got, want)
	}
	if ip.sf.Counters().PRMRequests < 2 {
		t.Error("profile add --url made the profile without reading the server's metadata")
	}
	ip.login(t)
	ip.acceptedAt(t, mcpURL)
	if s := ip.idp.Stats(t); s.CodesExchanged != 1 || s.RefreshReuses != 0 {
		t.Errorf("the provider saw %+v; want one code exchanged, no refresh token reused", s)
	}
}

func profileEqual(a, b profileView) bool {
	return a.Host == b.Host && a.Role == b.Role && a.Issuer == b.Issuer && a.ClientID == b.ClientID && slices.Equal(a.MCPServers, b.MCPServers)
}

// `setup --url` does the whole onboarding from the URL: refused without
// --issuer, it adds the IdP profile with --issuer, signs in at the
// provider, adds the Claude Code entry for the server and runs doctor.
func TestIdPSetupFromURL(t *testing.T) {
	ip, mcpURL := urlCase(t)
	setup := []string{"setup", "--profile", corpProfile, "--url", mcpURL, "--client-id", ip.idp.ClientID, "--redirect-uri", ip.redirect, "--no-browser"}
	// A short timeout: were it not refused, it would wait for a browser.
	ip.refusedUnnamedIssuer(t, ip.idp.Issuer, nil, append(setup, "--timeout", "5s")...)
	claudeFile := filepath.Join(ip.dir, ".claude.json")
	if _, err := os.Stat(claudeFile); err == nil {
		t.Fatal("a refused setup wrote ~/.claude.json")
	}

	s := startSignIn(t, ip.cmd(nil, append(setup, "--issuer", ip.idp.Issuer, "--timeout", "60s")...))
	start, ok := s.nextStartURL()
	var err error
	if ok {
		_, err = ip.signInAt(t, start)
	}
	if !ok || err != nil {
		t.Errorf("browser: start page printed %v, %v", ok, err)
		s.c.Process.Kill()
	}
	code, out, errOut := s.wait()
	if code != 0 {
		t.Fatalf("setup --url --issuer: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"✓ profile corp: added (" + ip.sf.Host() + ", client " + ip.idp.ClientID + " (public), signs in at " + ip.idp.Issuer + ")",
		"Logged in at " + ip.idp.Issuer + " as " + corpUser,
		"✓ MCP server snowflake: added to " + claudeFile,
		"doctor: all ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("setup's output lacks %q:\n%s", want, out)
		}
	}
	ip.storedRefreshToken(t)
	var claude struct {
		MCPServers map[string]struct{ Args []string } `json:"mcpServers"`
	}
	data, err := os.ReadFile(claudeFile)
	if err != nil || json.Unmarshal(data, &claude) != nil {
		t.Fatalf("~/.claude.json: %v\n%s", err, data)
	}
	if args := strings.Join(claude.MCPServers["snowflake"].Args, " "); args != "mcp-proxy --profile corp --server DB.PUBLIC.GONG_MCP" {
		t.Errorf("Claude Code's entry runs %q", args)
	}
	want := profileView{Host: ip.sf.Host(), Role: "MCP_USERS", Issuer: ip.idp.Issuer, ClientID: ip.idp.ClientID, MCPServers: []string{"DB.PUBLIC.GONG_MCP"}}
	if got := ip.showProfile(t, corpProfile); !profileEqual(got, want) {
		t.Errorf("profile show corp: %+v; want %+v", got, want)
	}
	ip.acceptedAt(t, mcpURL)
	if s := ip.idp.Stats(t); s.CodesExchanged != 1 || s.RefreshReuses != 0 {
		t.Errorf("the provider saw %+v; want one code exchanged, no refresh token reused", s)
	}
}

// proxyLog is an HTTPS proxy that refuses everything and notes where each
// request was going: with HTTPS_PROXY naming it, every connection sfmcp
// opens to a host off this machine shows here (loopback, the stand-in's,
// never goes through a proxy).
type proxyLog struct {
	url   string
	mu    sync.Mutex
	hosts []string
}

func newProxyLog(t *testing.T) *proxyLog {
	pl := &proxyLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pl.mu.Lock()
		pl.hosts = append(pl.hosts, r.Host)
		pl.mu.Unlock()
		http.Error(w, "refused by the test's proxy", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	pl.url = srv.URL
	return pl
}

func (pl *proxyLog) seen() []string {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return slices.Clone(pl.hosts)
}

// hostileIssuer is an issuer nobody named, which nothing serves: a URL
// from a cloned repository can lead to a server bound to it.
const hostileIssuer = "https://login.example-sso.test/oauth2/default"

// A server whose metadata names an issuer the user did not name is
// refused without a terminal by `profile add --url` and `setup --url`
// (its --yes says no yes to an issuer): exit 2, the issuer's host shown,
// nothing written, and nothing sent to the issuer.
func TestIdPHostileMetadataRefused(t *testing.T) {
	p := newProcWith(t, snowflaketest.Options{})
	p.useFileStore()
	t.Cleanup(p.stopDaemon)
	if err := p.sf.AddExternalOAuth(snowflaketest.ExternalOAuth{Name: "EXT", Issuer: hostileIssuer, JWKSURL: hostileIssuer + "/v1/keys",
		AudienceList: []string{idptest.DefaultAudience}, UserClaim: "sub"}); err != nil {
		t.Fatal(err)
	}
	if err := p.sf.BindAuthorizationServer(snowflaketest.Level{}, "EXT"); err != nil {
		t.Fatal(err)
	}
	proxy := newProxyLog(t)
	env := []string{"HTTPS_PROXY=" + proxy.url}
	// The proxy sees what goes off this machine: discovery at a Snowflake
	// host reaches it (and fails there, changing nothing).
	snowflakeURL := "https://myorg-other.snowflakecomputing.com" + snowflaketest.DefaultMCPServer().MCPPath()
	before := p.readConfig(t)
	if code, _, _ := p.run(env, "profile", "add", "probe", "--url", snowflakeURL); code == 0 ||
		!slices.Contains(proxy.seen(), "myorg-other.snowflakecomputing.com:443") || p.readConfig(t) != before {
		t.Fatalf("a discovery off this machine did not go through the test's proxy (exit %d, proxy saw %q)", code, proxy.seen())
	}
	control := len(proxy.seen())

	mcpURL := p.sf.MCPURL(snowflaketest.DefaultMCPServer())
	for _, args := range [][]string{
		{"profile", "add", corpProfile, "--url", mcpURL, "--client-id", "0oa1"},
		{"setup", "--profile", corpProfile, "--url", mcpURL, "--client-id", "0oa1", "--no-browser", "--timeout", "5s"},
		{"setup", "--profile", corpProfile, "--url", mcpURL, "--client-id", "0oa1", "--yes", "--timeout", "5s"},
	} {
		metadata := p.sf.Counters().PRMRequests
		p.refusedUnnamedIssuer(t, hostileIssuer, env, args...)
		if p.sf.Counters().PRMRequests == metadata {
			t.Errorf("%v was refused without reading the server's metadata", args)
		}
	}
	if seen := proxy.seen(); len(seen) != control {
		t.Errorf("requests went off this machine after the metadata named %s: %q", hostileIssuer, seen[control:])
	}
	if _, err := os.Stat(filepath.Join(p.dir, ".claude.json")); err == nil {
		t.Error("a refused setup wrote ~/.claude.json")
	}
	if _, err := os.Stat(p.credentialsFile()); err == nil {
		t.Error("a refused command wrote the credential store")
	}
}
