package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// fixture is a healthy setup: a stand-in with ALICE signed in (her
// access token in hand), a config with profile prod on the stand-in's
// host, the file store holding her sign-in, a daemon answering on a
// private socket, and an .mcp.json whose one server uses prod.
type fixture struct {
	t       *testing.T
	sf      *snowflaketest.Server
	dir     string
	store   *keychain.Store
	access  string // ALICE's access token
	daemonS string // the daemon's socket
	o       Options
}

// now is the fixture's clock: expiry in days is exact against it.
var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, sf: snowflaketest.New(snowflaketest.Options{AutoApprove: "ALICE", Now: func() time.Time { return now }}), dir: t.TempDir()}
	t.Cleanup(f.sf.Close)
	f.access = signIn(t, f.sf)
	f.writeConfig("[profiles.prod]\naccount = \"myorg-acct\"\nhost = \"" + f.sf.Host() + "\"\n")
	var err error
	if f.store, err = keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(f.dir, "data")}); err != nil {
		t.Fatal(err)
	}
	f.saveCredential(keychain.Credential{Secret: "rt-not-a-secret", Kind: keychain.CredentialOAuth, Host: f.sf.Host(), User: "ALICE"})
	f.daemonS = startDaemon(t, 0o600)
	mcpFile := filepath.Join(f.dir, ".mcp.json")
	writeFile(t, mcpFile, `{"mcpServers":{"snowflake":{"command":"sfmcp-token","args":["mcp-proxy","--profile","prod","--server","DB.PUBLIC.GONG_MCP"]}}}`)
	f.o = Options{
		ConfigPath:    filepath.Join(f.dir, "config.toml"),
		Network:       func(*config.File) (*http.Client, error) { return f.sf.Client(), nil },
		SelectProfile: func(cfg *config.File) (config.Profile, error) { return cfg.Select("", "") },
		OpenStore:     func(*config.File) (*keychain.Store, error) { return f.store, nil },
		FindDaemon:    f.findDaemon(map[string]string{"HOME": f.dir, "SFMCP_SOCKET": f.daemonS}),
		Autostart:     true,
		Token:         func(context.Context, string) error { return nil },
		Bridge:        func(profile, url string) http.RoundTripper { return f.bridge(profile, url, f.access) },
		MCPFile:       mcpFile,
		Now:           func() time.Time { return now },
		LookupHost:    func(context.Context, string) ([]string, error) { return nil, errors.New("no lookup expected") },
	}
	return f
}

// signIn signs ALICE in at sf and returns her access token.
func signIn(t *testing.T, sf *snowflaketest.Server) string {
	t.Helper()
	c := &oauth.Client{BaseURL: sf.URL, ClientID: config.LocalApplication, Scopes: []string{"refresh_token"}, HTTPClient: sf.Client()}
	tok, err := (&oauth.Login{Client: c, Timeout: 10 * time.Second, Open: func(u string) error { _, _, err := sf.Visit(u); return err }}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) writeConfig(content string) {
	writeFile(f.t, filepath.Join(f.dir, "config.toml"), content)
}

func (f *fixture) saveCredential(c keychain.Credential) {
	f.t.Helper()
	if err := f.store.SaveCredential("prod", c); err != nil {
		f.t.Fatal(err)
	}
}

// findDaemon finds the daemon as the CLI does, in the environment env.
func (f *fixture) findDaemon(env map[string]string) func(context.Context) (*client.Client, error) {
	return func(ctx context.Context) (*client.Client, error) {
		return client.Connect(ctx, client.Options{Getenv: func(k string) string { return env[k] }, Timeout: 3 * time.Second})
	}
}

// bridge is the bridge's transport with a token source that always gives
// token.
func (f *fixture) bridge(profile, url, token string) http.RoundTripper {
	return &mcpproxy.Transport{Base: f.sf.Client().Transport, Tokens: fixedToken(token), Log: slog.New(slog.DiscardHandler),
		Profile: profile, Origin: mcpproxy.Origin(url)}
}

type fixedToken string

func (t fixedToken) Token(context.Context, string) (mcpproxy.Token, error) {
	return mcpproxy.Token{AccessToken: string(t), Type: config.TokenOAuth}, nil
}

// startDaemon serves the daemon's health answer on a socket of mode mode
// in a private directory (short: a socket path is limited to ~100 bytes).
func startDaemon(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sfd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(socket, mode); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/health" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(apitype.Health{OK: true, PID: 4242})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return socket
}

func find(checks []Check, name string) (Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

func names(checks []Check) []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.Name)
	}
	return out
}

// want is what one check must have found.
type want struct {
	ok             bool
	detail, advice string // substrings ("" means empty for a passing check)
	code           string
}

func (w want) assert(t *testing.T, checks []Check, name string) {
	t.Helper()
	c, found := find(checks, name)
	if !found {
		t.Errorf("no check %q among %q", name, names(checks))
		return
	}
	if c.OK != w.ok || !strings.Contains(c.Detail, w.detail) || !strings.Contains(c.Advice, w.advice) || c.Code != w.code {
		t.Errorf("check %q = %+v; want ok %v, detail with %q, advice with %q, code %q", name, c, w.ok, w.detail, w.advice, w.code)
	}
	if c.OK && (c.Advice != "" || c.Code != "") {
		t.Errorf("passing check %q carries advice %q, code %q", name, c.Advice, c.Code)
	}
}

// A healthy setup passes every check, in doctor's order.
func TestHealthy(t *testing.T) {
	f := newFixture(t)
	checks := Run(context.Background(), f.o)
	wantNames := []string{"config readable", "profile selected", "account host", "credential store reachable", "daemon running", "socket permissions",
		"TLS certificate verifies", "clock in sync with Snowflake", "access token (refresh works)",
		"MCP server snowflake answers initialize + tools/list", "refresh token valid for 7+ days"}
	if got := names(checks); strings.Join(got, "|") != strings.Join(wantNames, "|") {
		t.Fatalf("checks %q\nwant   %q", got, wantNames)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("check failed: %+v", c)
		}
	}
	want{ok: true, detail: "pid 4242, socket " + f.daemonS}.assert(t, checks, "daemon running")
	want{ok: true, detail: "directory 0700, socket 0600"}.assert(t, checks, "socket permissions")
	want{ok: true, detail: "skew 0s"}.assert(t, checks, "clock in sync with Snowflake")
	want{ok: true, detail: "2 tools"}.assert(t, checks, "MCP server snowflake answers initialize + tools/list")
	if n := f.sf.Counters().MCPUnauthorized; n != 0 {
		t.Errorf("the stand-in refused %d MCP requests", n)
	}
}

// Each check, failing (or passing another way): what it found, its code
// and its advice, and which later checks it keeps from running.
func TestChecks(t *testing.T) {
	loginHint := exitcode.LoginHint("prod")
	cases := []struct {
		name   string
		setup  func(f *fixture)
		want   map[string]want // {sys}, {host}, {mcp}, {dir}, {sockdir}: the fixture's
		absent []string        // checks that must not run
	}{
		{"config unreadable", func(f *fixture) { f.writeConfig("garbage = = =") },
			map[string]want{"config readable": {detail: "config.toml", advice: "fix the file or move it aside: config "}},
			[]string{"profile selected"}},
		{"network setting refused", func(f *fixture) {
			f.o.Network = func(*config.File) (*http.Client, error) { return nil, errors.New("ca_file: no certificates") }
		}, map[string]want{"config readable": {advice: "move it aside: ca_file: no certificates"}}, []string{"profile selected"}},
		{"system file", func(f *fixture) {
			f.o.SystemConfigPath = filepath.Join(f.dir, "system.toml")
			writeFile(t, f.o.SystemConfigPath, "[managed]\nkeyring = \"file\"\n")
		}, map[string]want{"config readable": {ok: true, detail: "system {sys}, user {dir}/config.toml; locked by the system file: keyring"}}, nil},
		{"no profile", func(f *fixture) { f.writeConfig("") },
			map[string]want{"profile selected": {code: apitype.CodeUnknownProfile, advice: "run: sfmcp-token profile list (or sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME)"}},
			[]string{"account host", "credential store reachable"}},
		{"store unavailable", func(f *fixture) {
			f.o.OpenStore = func(*config.File) (*keychain.Store, error) { return nil, keychain.ErrUnavailable }
		}, map[string]want{"credential store reachable": {code: apitype.CodeKeychainUnavailable, advice: exitcode.KeychainAdvice()}},
			[]string{"refresh token valid for 7+ days", "signed in"}},
		{"no home", func(f *fixture) {
			// What client.Connect answers when it cannot tell where the
			// socket is.
			f.o.FindDaemon = func(context.Context) (*client.Client, error) {
				return nil, errors.New("cannot find your home directory: set HOME to an absolute path")
			}
		},
			map[string]want{"daemon running": {advice: "set HOME to your home directory"}}, []string{"socket permissions"}},
		{"daemon starts on demand", func(f *fixture) {
			f.o.FindDaemon = f.findDaemon(map[string]string{"HOME": f.dir, "SFMCP_SOCKET": filepath.Join(filepath.Dir(f.daemonS), "none.sock")})
		}, map[string]want{"daemon": {ok: true, detail: "not running yet; it starts on demand"},
			"socket permissions": {ok: true, detail: "directory 0700, no socket yet"}}, []string{"daemon running"}},
		{"daemon starts on demand, no socket directory yet", func(f *fixture) {
			f.o.FindDaemon = f.findDaemon(map[string]string{"HOME": f.dir, "SFMCP_SOCKET": filepath.Join(f.dir, "run", "none.sock")})
		}, map[string]want{"socket permissions": {ok: true, detail: "not made yet"}}, nil},
		{"daemon not running, no autostart", func(f *fixture) {
			f.o.FindDaemon = f.findDaemon(map[string]string{"HOME": f.dir, "SFMCP_SOCKET": filepath.Join(filepath.Dir(f.daemonS), "none.sock")})
			f.o.Autostart = false
		}, map[string]want{"daemon running": {detail: "none.sock", code: apitype.CodeNoDaemon, advice: "start it: sfmcp-token daemon, or install the service: sfmcp-token service install"},
			"socket permissions": {ok: true, detail: "directory 0700, no socket yet"}},
			[]string{"daemon"}},
		{"socket others may use", func(f *fixture) {
			f.o.FindDaemon = f.findDaemon(map[string]string{"HOME": f.dir, "SFMCP_SOCKET": startDaemon(t, 0o666)})
		}, map[string]want{"socket permissions": {detail: "directory 0700, socket 0666", advice: "run: chmod 700 "}}, nil},
		{"socket directory not 0700", func(f *fixture) {
			// Still private (the client refuses a directory open to
			// others), but not the mode the daemon makes.
			dir := filepath.Dir(f.daemonS)
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
		}, map[string]want{"socket permissions": {detail: "directory 0500, socket 0600", advice: "run: chmod 700 {sockdir} (the daemon refuses"}}, nil},
		{"host does not resolve", func(f *fixture) {
			f.writeConfig("[profiles.prod]\naccount = \"myorg-acct\"\nhost = \"myorg-acct.example.invalid\"\n")
			f.o.LookupHost = func(_ context.Context, host string) ([]string, error) {
				return nil, &net.DNSError{Err: "no such host", Name: host}
			}
			// The later checks find no network either, without asking DNS.
			f.o.Network = func(*config.File) (*http.Client, error) {
				return &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
					return nil, errors.New("no network in this test")
				}}}, nil
			}
			f.o.MCPFile = ""
		}, map[string]want{
			"host resolves":                {detail: "myorg-acct.example.invalid: the host does not resolve", advice: "your DNS/VPN"},
			"clock in sync with Snowflake": {detail: "skipped: the host does not resolve"},
			"TLS certificate verifies":     {detail: "skipped: the host does not resolve"},
		}, nil},
		{"a host name that resolves", func(f *fixture) {
			port := f.sf.Host()[strings.LastIndex(f.sf.Host(), ":")+1:]
			f.writeConfig("[profiles.prod]\naccount = \"myorg-acct\"\nhost = \"localhost:" + port + "\"\n")
			f.o.LookupHost = func(_ context.Context, host string) ([]string, error) {
				if host != "localhost" {
					return nil, errors.New("looked up " + host)
				}
				return []string{"127.0.0.1"}, nil
			}
			f.o.MCPFile = ""
		}, map[string]want{"host resolves": {ok: true, detail: "localhost"}}, nil},
		{"TLS intercepted", func(f *fixture) {
			f.o.Network = func(*config.File) (*http.Client, error) { return http.DefaultClient, nil }
		}, map[string]want{
			"TLS certificate verifies":     {detail: "{host}", advice: "a proxy may be intercepting TLS: set ca_file"},
			"clock in sync with Snowflake": {detail: "certificate", advice: "check the network"},
		}, nil},
		{"plain http on loopback, no Date header", func(f *fixture) {
			plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header()["Date"] = nil }))
			t.Cleanup(plain.Close)
			f.writeConfig("[profiles.prod]\naccount = \"myorg-acct\"\nhost = \"" + plain.URL + "\"\n")
			f.o.MCPFile = ""
		}, map[string]want{
			"TLS":                          {ok: true, detail: "plain http to a loopback address"},
			"clock in sync with Snowflake": {detail: "no Date header"},
		}, []string{"TLS certificate verifies", "host resolves"}},
		{"clock skewed", func(f *fixture) { f.o.Now = func() time.Time { return now.Add(10 * time.Minute) } },
			map[string]want{"clock in sync with Snowflake": {detail: "skew 10m0s", advice: "sync the clock"}}, nil},
		{"sign-in required", func(f *fixture) {
			f.o.Token = func(context.Context, string) error {
				return &client.Error{Code: apitype.CodeLoginRequired, Message: "profile prod: a new sign-in is required; " + loginHint, Profile: "prod"}
			}
		}, map[string]want{"access token (refresh works)": {detail: "a new sign-in is required", code: apitype.CodeLoginRequired, advice: loginHint}},
			[]string{"MCP server snowflake answers initialize + tools/list"}},
		{"daemon unreachable for the token", func(f *fixture) {
			f.o.Token = func(context.Context, string) error { return errors.New("read the sfmcp daemon's answer: EOF") }
		}, map[string]want{"access token (refresh works)": {detail: "EOF", code: apitype.CodeDaemonFailed, advice: "check the daemon: sfmcp-token status"}}, nil},
		{"MCP file broken", func(f *fixture) { writeFile(t, f.o.MCPFile, "{not json") },
			map[string]want{"MCP configuration": {detail: "not JSON", advice: "fix {mcp}"}}, nil},
		{"no MCP server of this profile", func(f *fixture) { writeFile(t, f.o.MCPFile, `{"mcpServers":{"other":{"command":"foo"}}}`) },
			map[string]want{"MCP servers configured": {ok: true, detail: "none in {mcp} use profile prod"}}, nil},
		{"no MCP file to check", func(f *fixture) { f.o.MCPFile = "" }, nil,
			[]string{"MCP servers configured", "MCP server snowflake answers initialize + tools/list"}},
		{"no USAGE on the MCP server", func(f *fixture) {
			srv := snowflaketest.DefaultMCPServer()
			srv.UsageRoles = []string{"SOMEONE_ELSE"}
			f.sf.AddMCPServer(srv)
		}, map[string]want{"MCP server snowflake answers initialize + tools/list": {detail: "0 tools; ", advice: "GRANT USAGE ON MCP SERVER"}}, nil},
		{"MCP server refuses the token", func(f *fixture) {
			f.o.Bridge = func(profile, url string) http.RoundTripper { return f.bridge(profile, url, "not-a-token") }
		}, map[string]want{"MCP server snowflake answers initialize + tools/list": {detail: "0 tools; ", code: apitype.CodeLoginRequired,
			advice: "sign in again: sfmcp-token login --profile prod"}}, nil},
		{"not signed in", func(f *fixture) {
			if err := f.store.DeleteCredential("prod"); err != nil {
				t.Fatal(err)
			}
		}, map[string]want{"signed in": {detail: "no stored sign-in", code: apitype.CodeLoginRequired, advice: loginHint}},
			[]string{"refresh token valid for 7+ days"}},
		{"refresh token lasts", func(f *fixture) {
			f.saveCredential(keychain.Credential{Secret: "rt-not-a-secret", Kind: keychain.CredentialOAuth, Host: f.sf.Host(), SecretExpiresAt: now.Add(30 * 24 * time.Hour)})
		}, map[string]want{"refresh token valid for 7+ days": {ok: true, detail: "30 days left"}}, nil},
		{"refresh token about to expire", func(f *fixture) {
			f.saveCredential(keychain.Credential{Secret: "rt-not-a-secret", Kind: keychain.CredentialOAuth, Host: f.sf.Host(), SecretExpiresAt: now.Add(3*24*time.Hour + time.Hour)})
		}, map[string]want{"refresh token valid for 7+ days": {detail: "3 days left", advice: "sign in again before it expires: sfmcp-token login --profile prod"}}, nil},
		{"PAT about to expire", func(f *fixture) {
			f.saveCredential(keychain.Credential{Secret: "pat-not-a-secret", Kind: keychain.CredentialPAT, Host: f.sf.Host(), User: "SVC_MCP", SecretExpiresAt: now.Add(24 * time.Hour)})
		}, map[string]want{"programmatic access token valid for 7+ days": {detail: "24 hours left", advice: "rotate it: sfmcp-token pat rotate --user SVC_MCP"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f)
			checks := Run(context.Background(), f.o)
			for name, w := range tc.want {
				fill := strings.NewReplacer("{sys}", f.o.SystemConfigPath, "{host}", f.sf.Host(), "{mcp}", f.o.MCPFile, "{dir}", f.dir, "{sockdir}", filepath.Dir(f.daemonS))
				w.detail, w.advice = fill.Replace(w.detail), fill.Replace(w.advice)
				w.assert(t, checks, name)
			}
			for _, name := range tc.absent {
				if _, found := find(checks, name); found {
					t.Errorf("check %q ran: %q", name, names(checks))
				}
			}
		})
	}
}

// A server of the .mcp.json that is not on the profile's host is skipped
// and sent nothing: a cloned project's file is not the user's word.
func TestForeignMCPServerSkipped(t *testing.T) {
	f := newFixture(t)
	var reached atomic.Int32
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	url := other.URL + snowflaketest.DefaultMCPServer().MCPPath()
	writeFile(t, f.o.MCPFile, `{"mcpServers":{
  "stolen": {"type": "http", "url": "`+url+`", "headersHelper": "sfmcp-token headers --profile prod"},
  "bridged": {"command": "sfmcp-token", "args": ["mcp-proxy", "--profile", "prod", "--server", "`+url+`"]}}}`)
	checks := Run(context.Background(), f.o)
	for _, name := range []string{"stolen", "bridged"} {
		want{detail: "no token was sent", code: apitype.CodeHostMismatch,
			advice: "no token goes there; if " + f.o.MCPFile + " came with a project, remove or fix that entry (" + exitcode.HostMismatchHint() + ")"}.
			assert(t, checks, "MCP server "+name+" skipped")
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

// A failure to get a token is advised from its code, as every command
// advises it, with what Snowflake's token endpoint said from the error's
// fields; never from the words of its message.
func TestTokenAdvice(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		code, want string
	}{
		{"login required, the daemon's profile", &client.Error{Code: apitype.CodeLoginRequired, Message: "sign in", Profile: "p3"},
			apitype.CodeLoginRequired, "run: sfmcp-token login --profile p3"},
		{"Snowflake said why", &client.Error{Code: apitype.CodeClientConfig, Message: "refresh failed", OAuthError: "invalid_client", SnowflakeCode: "390307",
			Advice: "the redirect URI does not match the integration's OAUTH_REDIRECT_URI"},
			apitype.CodeClientConfig, "fix the profile (sfmcp-token profile show prod) or ask your Snowflake administrator to check the integration — Snowflake said invalid_client 390307: the redirect URI does not match the integration's OAUTH_REDIRECT_URI."},
		{"a message that names codes", &client.Error{Code: apitype.CodeClientConfig, Message: "invalid_client 390307 390432"},
			apitype.CodeClientConfig, "fix the profile (sfmcp-token profile show prod) or ask your Snowflake administrator to check the integration"},
		{"a message that names a command", errors.New("run: sfmcp-token login --profile prod"),
			apitype.CodeDaemonFailed, "check the daemon: sfmcp-token status"},
		{"a code from a daemon of another version", &client.Error{Code: "from_a_newer_daemon", Message: "x", OAuthError: "invalid_grant", Advice: "sign in again"},
			"from_a_newer_daemon", "see the daemon log for details — Snowflake said invalid_grant: sign in again."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, advice := tokenAdvice(tc.err, "prod"); code != tc.code || advice != tc.want {
				t.Errorf("tokenAdvice = %q, %q\nwant          %q, %q", code, advice, tc.code, tc.want)
			}
		})
	}
}

// An MCP server check is advised to sign in again only when the bridge
// says the token was refused, whatever the error's words.
func TestMCPServerAdvice(t *testing.T) {
	unauthorized := fmt.Errorf("calling %q: %w", "initialize", &jsonrpc.Error{Code: mcpproxy.CodeUnauthorized, Message: "no token"})
	if code, advice := mcpServerAdvice(unauthorized, "prod"); code != apitype.CodeLoginRequired || advice != "sign in again: sfmcp-token login --profile prod" {
		t.Errorf("unauthorized: %q, %q", code, advice)
	}
	if code, advice := mcpServerAdvice(errors.New("run: sfmcp-token login --profile prod"), "prod"); code != "" || strings.Contains(advice, "sign in again") {
		t.Errorf("classified by its text: %q, %q", code, advice)
	}
}

// The number of checks does not depend on whether the daemon runs yet:
// setup reports it, and a re-run that changed nothing but started the
// daemon must not report another.
func TestCheckCountDoesNotDependOnTheDaemon(t *testing.T) {
	f := newFixture(t)
	running := names(Run(context.Background(), f.o))
	f.o.FindDaemon = f.findDaemon(map[string]string{"HOME": f.dir, "SFMCP_SOCKET": filepath.Join(filepath.Dir(f.daemonS), "none.sock")})
	notYet := names(Run(context.Background(), f.o))
	if len(running) != len(notYet) {
		t.Errorf("%d checks with the daemon running, %d without:\n%q\n%q", len(running), len(notYet), running, notYet)
	}
}
