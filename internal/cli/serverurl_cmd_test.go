//go:build unix

package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// profileJSON is `profile show NAME --json`.
func profileJSON(t *testing.T, h *harness, name string) (v struct {
	Account, Host, Role, Issuer string
	ClientID                    string   `json:"client_id"`
	MCPServers                  []string `json:"mcp_servers"`
	Scopes                      []string `json:"requested_scopes"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(h.mustRun("profile", "show", name, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// An MCP server that takes Snowflake's own tokens makes a Snowflake OAuth
// profile on its host, for it; a role the user gives, or a scope, beats
// the one its scopes name; and the profile signs in as any other.
func TestProfileAddFromURLSnowflake(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	url := h.sf.MCPURL(snowflaketest.DefaultMCPServer())
	out := h.mustRun("profile", "add", "prod", "--url", url)
	if want := "Profile prod saved (" + h.sf.Host() + ", client SNOWFLAKE$LOCAL_APPLICATION; MCP server DB.PUBLIC.GONG_MCP)."; !strings.Contains(out, want) {
		t.Fatalf("profile add said %q; want %q", out, want)
	}
	// session:role:all, Snowflake's default, names no role.
	if p := profileJSON(t, h, "prod"); p.Host != h.sf.Host() || p.Issuer != "" || p.Role != "" || !slices.Equal(p.MCPServers, []string{"DB.PUBLIC.GONG_MCP"}) {
		t.Fatalf("profile prod: %+v", p)
	}
	if n := h.sf.Counters().PRMRequests; n != 1 {
		t.Errorf("%d metadata requests; want 1", n)
	}
	h.mustRun("login", "prod")
	if err := h.sf.SetParameter(snowflaketest.Level{Database: "DB"}, snowflaketest.ParamScopesSupported, "session:role:MCP_USERS,refresh_token"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		role   string
		scopes []string
	}{
		{nil, "MCP_USERS", []string{"refresh_token", "session:role:MCP_USERS"}},
		{[]string{"--role", "ANALYST"}, "ANALYST", []string{"refresh_token", "session:role:ANALYST"}},
		{[]string{"--scope", "session:role-encoded:MY%20ROLE"}, "", []string{"refresh_token", "session:role-encoded:MY%20ROLE"}},
	} {
		h.mustRun(append([]string{"profile", "add", "p", "--force", "--url", url}, tc.args...)...)
		if p := profileJSON(t, h, "p"); p.Role != tc.role || !slices.Equal(p.Scopes, tc.scopes) {
			t.Errorf("%v: role %q, scopes %q; want %q, %q", tc.args, p.Role, p.Scopes, tc.role, tc.scopes)
		}
		h.mustRun("profile", "remove", "p")
	}
	// A role the profile has beats the server's on --force, too.
	h.mustRun("profile", "add", "prod", "--force", "--role", "ANALYST")
	h.mustRun("profile", "add", "prod", "--force", "--url", url)
	if p := profileJSON(t, h, "prod"); p.Role != "ANALYST" || p.Host != h.sf.Host() {
		t.Errorf("after --force --url: %+v", p)
	}
}

// Metadata that is not the server's, a URL of another account than the
// one given, and an issuer named that the server does not use are
// refused, and nothing is saved.
func TestProfileAddFromURLRefusals(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	url := h.sf.MCPURL(snowflaketest.DefaultMCPServer())
	// A server whose metadata names another resource (RFC 9728 §3.3).
	var other *httptest.Server
	other = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+other.URL+`/meta"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"resource":"`+url+`","authorization_servers":["https://idp.example"]}`)
	}))
	t.Cleanup(other.Close)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--url", other.URL + "/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP"}, "RFC 9728 §3.3"},
		{[]string{"--url", url, "--account", "myorg-other"}, "is not profile p's host myorg-other.snowflakecomputing.com"},
		{[]string{"--url", url, "--issuer", "https://idp.example"}, "takes tokens from Snowflake's own OAuth"},
		{[]string{"--url", h.sf.URL + "/api/v2/databases/DB/schemas/PUBLIC/agents/X"}, "is not an MCP server URL"},
		// A look-alike host in a URL from anywhere: refused without a
		// terminal, before anything is sent there.
		{[]string{"--url", "https://acme.snowflakecomputing.com.phish.example/api/v2/databases/DB/schemas/S/mcp-servers/X"}, "acme.snowflakecomputing.com.phish.example is not a Snowflake host"},
		{[]string{"--url", h.sf.MCPURL(snowflaketest.MCPServer{Database: "DB", Schema: "PUBLIC", Name: "NONE"})}, "publishes no Protected Resource Metadata"},
	} {
		code, _, errOut := h.run("", append([]string{"profile", "add", "p"}, tc.args...)...)
		if code != exitcode.Usage || !strings.Contains(errOut, tc.says) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, errOut)
		}
	}
	if out := h.mustRun("profile", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("a refused profile was saved: %s", out)
	}
}

// hostileIssuer binds the stand-in's MCP servers to an issuer nobody
// named: a URL from a cloned repository can lead there.
const hostileIssuer = "https://login.example-sso.test/oauth2/default"

func bindTo(t *testing.T, sf *snowflaketest.Server, issuer, jwks string) {
	t.Helper()
	if err := sf.AddExternalOAuth(snowflaketest.ExternalOAuth{Name: "EXT", Issuer: issuer, JWKSURL: jwks,
		AudienceList: []string{idptest.DefaultAudience}, UserClaim: "sub"}); err != nil {
		t.Fatal(err)
	}
	if err := sf.BindAuthorizationServer(snowflaketest.Level{}, "EXT"); err != nil {
		t.Fatal(err)
	}
}

// An identity provider that only the server's metadata names is refused
// without a terminal, by profile add and setup alike (setup's --yes does
// not say yes to it); the system file's allowed_issuers allows it without
// asking, and refuses any other outright.
func TestHostileIssuerRefused(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	bindTo(t, h.sf, hostileIssuer, hostileIssuer+"/v1/keys")
	url := h.sf.MCPURL(snowflaketest.DefaultMCPServer())
	for _, args := range [][]string{
		{"profile", "add", "corp", "--url", url, "--client-id", "0oa1"},
		{"setup", "--url", url, "--client-id", "0oa1", "--yes"},
	} {
		code, out, errOut := h.run("", args...)
		if code != exitcode.Usage || !strings.Contains(errOut, "sends the sign-in to login.example-sso.test ("+hostileIssuer+"), which you did not name; nothing was changed") ||
			!strings.Contains(errOut, "name it yourself: --issuer "+hostileIssuer) || !strings.Contains(errOut, "allowed_issuers") {
			t.Errorf("%s: exit %d\n%s%s", args[0], code, out, errOut)
		}
	}
	if out := h.mustRun("profile", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("a profile was saved: %s", out)
	}
	system := h.writeFile("system.toml", "[managed]\nallowed_issuers = [\"https://sso.example.com/oauth2/default\"]\n")
	h.env["SFMCP_SYSTEM_CONFIG"] = system
	code, _, errOut := h.run("", "profile", "add", "corp", "--url", url, "--client-id", "0oa1", "--issuer", hostileIssuer)
	if code != exitcode.Usage || !strings.Contains(errOut, "allows signing in only at https://sso.example.com/oauth2/default, not at "+hostileIssuer) ||
		!strings.Contains(errOut, "ask your administrator") {
		t.Errorf("an issuer the system file does not list, named: exit %d\n%s", code, errOut)
	}
	h.writeFile("system.toml", "[managed]\nallowed_issuers = [\""+hostileIssuer+"\"]\n")
	out := h.mustRun("profile", "add", "corp", "--url", url, "--client-id", "0oa1")
	if p := profileJSON(t, h, "corp"); p.Issuer != hostileIssuer || p.ClientID != "0oa1" || !strings.Contains(out, "signs in at "+hostileIssuer) {
		t.Fatalf("allowed by the system file: %+v\n%s", p, out)
	}
}

// A server bound to an identity provider (the stand-in bound to a real
// OpenID provider) makes an IdP profile, whose sign-in works and whose
// token the server takes; setup --url does it all in one go when the
// system file allows the provider.
func TestProfileAddFromURLBoundToIdP(t *testing.T) {
	idp := idptest.Start(t, idptest.Options{IssuerPath: "/oauth2/aus123"})
	h := newHarness(t, snowflaketest.Options{})
	bindTo(t, h.sf, idp.Issuer, idp.JWKSURL)
	if err := h.sf.SetParameter(snowflaketest.Level{}, snowflaketest.ParamScopesSupported, "session:role:MCP_USERS"); err != nil {
		t.Fatal(err)
	}
	h.sf.AddUser(snowflaketest.User{Name: "ALICE_CORP", LoginName: "alice@example.com", Roles: []string{"MCP_USERS"}, DefaultRole: "MCP_USERS"})
	h.open = idpBrowser(t, idp, "alice@example.com")
	h.env["SFMCP_NO_AUTO_LOGIN"] = "1"
	url := h.sf.MCPURL(snowflaketest.DefaultMCPServer())
	redirect := "http://127.0.0.1:" + freePort(t) + "/callback"
	h.mustRun("profile", "add", "corp", "--url", url, "--client-id", idp.ClientID, "--redirect-uri", redirect, "--issuer", idp.Issuer)
	if p := profileJSON(t, h, "corp"); p.Issuer != idp.Issuer || p.Role != "MCP_USERS" || p.Host != h.sf.Host() {
		t.Fatalf("profile corp: %+v", p)
	}
	if out := h.mustRun("login", "corp"); !strings.Contains(out, "Logged in at "+idp.Issuer+" as alice@example.com") {
		t.Fatalf("login: %s", out)
	}
	if cred, err := h.store().Credential("corp"); err != nil || !slices.Equal(cred.Scopes, []string{"session:role:MCP_USERS", "offline_access"}) {
		t.Fatalf("the sign-in asked for %q (%v)", cred.Scopes, err)
	}
	h.startDaemon()
	if code := mcpInitialize(t, h, daemonAccessToken(t, h, "corp")); code != http.StatusOK {
		t.Fatalf("the bound server answered the provider's token with HTTP %d", code)
	}
	h.writeFile("system.toml", "[managed]\nallowed_issuers = [\""+idp.Issuer+"\"]\n")
	h.env["SFMCP_SYSTEM_CONFIG"] = h.dir + "/system.toml"
	code, out, errOut := h.run("", "setup", "--profile", "team", "--url", url, "--client-id", idp.ClientID, "--redirect-uri", redirect, "--yes")
	if code != 0 || !strings.Contains(out, "✓ profile team: added ("+h.sf.Host()+", client "+idp.ClientID+" (public), signs in at "+idp.Issuer+")") ||
		!strings.Contains(out, "doctor: all ") {
		t.Fatalf("setup --url: exit %d\n%s%s", code, out, errOut)
	}
	if entry := claudeEntry(t, h, "snowflake"); strings.Join(entry.Args, " ") != "mcp-proxy --profile team --server DB.PUBLIC.GONG_MCP" {
		t.Errorf("Claude Code's entry: %+v", entry)
	}
	if s := idp.Stats(t); s.CodesExchanged != 2 || s.RefreshReuses != 0 {
		t.Errorf("the provider saw %+v", s)
	}
}

// outWith waits until the command writes want on stdout.
func (b *background) outWith(want string) string {
	b.h.t.Helper()
	limit := time.After(30 * time.Second) // a bound on a hang, not a synchronisation
	for !strings.Contains(b.out.String(), want) {
		select {
		case <-b.out.written:
		case <-b.done:
			if strings.Contains(b.out.String(), want) {
				break
			}
			b.h.t.Fatalf("sfmcp-token %s exited %d without printing %q:\n%s%s", strings.Join(b.args, " "), b.code, want, b.out.String(), b.errOut.String())
		case <-limit:
			b.h.t.Fatalf("sfmcp-token %s: no %q after 30 s:\n%s%s", strings.Join(b.args, " "), want, b.out.String(), b.errOut.String())
		}
	}
	return b.out.String()
}

// When the server a Snowflake OAuth profile serves is bound to an
// identity provider, doctor, status and the bridge say so, from the
// server's metadata, and how to set up again; the metadata is read only
// after a 401.
func TestBindingChangedIsExplained(t *testing.T) {
	h := newHarness(t, signInOpts)
	file := doctorReady(h)
	url := h.sf.MCPURL(snowflaketest.DefaultMCPServer())
	h.mustRun("profile", "add", "prod", "--force", "--url", url) // remembers the server
	if code, out, errOut := h.run("", "doctor", "--mcp-file", file); code != 0 {
		t.Fatalf("doctor before: exit %d\n%s%s", code, out, errOut)
	}
	bridge := h.start("mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP")
	io.WriteString(bridge.stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n")
	bridge.outWith(`"id":1,"result"`)
	before := h.sf.Counters().PRMRequests
	if before != 1 { // profile add's
		t.Errorf("%d metadata requests without a refusal; want only profile add's", before)
	}
	const issuer = "https://example.okta.com/oauth2/aus1"
	bindTo(t, h.sf, issuer, issuer+"/v1/keys")
	want := "this MCP server now takes tokens from " + issuer + "; run: sfmcp-token setup --url " + url

	io.WriteString(bridge.stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
	if out := bridge.outWith(`"id":2`); !strings.Contains(out, "Snowflake refused profile prod's token: "+want) || !strings.Contains(out, "-32001") {
		t.Errorf("the bridge answered:\n%s", out)
	}
	bridge.stdin.Close()
	if code, _, _ := bridge.wait(); code != 0 {
		t.Errorf("the bridge exited %d", code)
	}
	code, out, _ := h.run("", "doctor", "--mcp-file", file)
	if code != exitcode.ChecksFailed {
		t.Errorf("doctor: exit %d", code)
	}
	findCheck(t, out, reportLine{"✗ MCP server snowflake answers initialize + tools/list", want})
	if out := h.mustRun("status"); !strings.Contains(out, "profile prod, MCP server DB.PUBLIC.GONG_MCP: "+want+"\n") {
		t.Errorf("status:\n%s", out)
	}
	var view statusView
	if err := json.Unmarshal([]byte(h.mustRun("status", "--json")), &view); err != nil || len(view.Moved) != 1 ||
		view.Moved[0].AuthorizationServer != issuer || view.Moved[0].URL != url {
		t.Errorf("status --json: %+v %v", view.Moved, err)
	}
	if c := h.sf.Counters(); c.PRMRequests <= before || c.PRMRequests > before+c.MCPUnauthorized {
		t.Errorf("%d metadata requests for %d refusals", c.PRMRequests-before, c.MCPUnauthorized)
	}
}
