package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
)

const mcpPath = "/api/v2/databases/DB/schemas/S/mcp-servers/M"

// mcpServer is an MCP server that answers an initialize without a token
// with 401 and challenge (none if ""), and serves metadata (built from its
// own URL) at the paths of docs; other paths are 404. It counts the
// initializes.
func mcpServer(t *testing.T, challenge func(base string) string, docs map[string]func(base string) any) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var probes atomic.Int32
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == mcpPath {
			probes.Add(1)
			if r.Header.Get("Authorization") != "" {
				t.Errorf("the probe carried a token")
			}
			if challenge != nil {
				w.Header().Set("WWW-Authenticate", challenge(base))
			}
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch d := doc(base).(type) {
		case int:
			http.Redirect(w, r, "/elsewhere", d)
		case string:
			w.Write([]byte(d))
		default:
			json.NewEncoder(w).Encode(d)
		}
	}))
	t.Cleanup(srv.Close)
	base = srv.URL
	return srv, &probes
}

func prm(resource string, servers []string, scopes ...string) map[string]any {
	return map[string]any{"resource": resource, "authorization_servers": servers, "scopes_supported": scopes}
}

// The metadata is read where the 401 says, else at the path-inserted
// well-known address, and is used only when it names the server asked
// about and plain https (or loopback) authorization servers.
func TestDiscoverResource(t *testing.T) {
	const wellKnown = "/.well-known/oauth-protected-resource" + mcpPath
	header := func(base string) string {
		return `Bearer resource_metadata="` + base + `/meta", scope="session:role:FROM_CHALLENGE"`
	}
	for _, tc := range []struct {
		name      string
		challenge func(string) string
		docs      map[string]func(string) any
		want      []string // authorization servers
		scopes    []string
		err       string
	}{
		{"the 401 names it", header, map[string]func(string) any{
			"/meta": func(b string) any {
				return prm(b+mcpPath, []string{"https://idp.example/oauth2/a"}, "session:role:MCP_USERS")
			},
		}, []string{"https://idp.example/oauth2/a"}, []string{"session:role:FROM_CHALLENGE"}, ""},
		{"well-known", nil, map[string]func(string) any{
			wellKnown: func(b string) any { return prm(b+mcpPath, []string{b}, "session:role:all") },
		}, []string{"{base}"}, []string{"session:role:all"}, ""},
		{"another resource", header, map[string]func(string) any{
			"/meta": func(b string) any { return prm(b+"/api/v2/databases/DB/schemas/S/mcp-servers/OTHER", []string{b}) },
		}, nil, nil, "RFC 9728 §3.3"},
		{"no trailing-slash tolerance", header, map[string]func(string) any{
			"/meta": func(b string) any { return prm(b+mcpPath+"/", []string{b}) },
		}, nil, nil, "RFC 9728 §3.3"},
		{"plain http issuer", header, map[string]func(string) any{
			"/meta": func(b string) any { return prm(b+mcpPath, []string{"http://idp.example/oauth2/a"}) },
		}, nil, nil, "not https"},
		{"no authorization server", header, map[string]func(string) any{
			"/meta": func(b string) any { return prm(b+mcpPath, nil) },
		}, nil, nil, "names no authorization server"},
		{"a look-alike issuer", header, map[string]func(string) any{
			"/meta": func(b string) any { return prm(b+mcpPath, []string{"https://idp.example\u202e/a"}) },
		}, nil, nil, "is not a URL"},
		{"javascript", header, map[string]func(string) any{
			"/meta": func(b string) any { return prm(b+mcpPath, []string{"javascript:alert(1)"}) },
		}, nil, nil, "is not a URL"},
		{"no metadata", header, nil, nil, nil, "publishes no Protected Resource Metadata"},
		{"a redirect", header, map[string]func(string) any{"/meta": func(string) any { return http.StatusFound }}, nil, nil, "HTTP 302"},
		{"too large", header, map[string]func(string) any{
			"/meta": func(string) any { return `{"resource":"` + strings.Repeat("a", 1<<20) + `"}` },
		}, nil, nil, "larger than 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, probes := mcpServer(t, tc.challenge, tc.docs)
			r, err := DiscoverResource(context.Background(), srv.Client(), srv.URL+mcpPath)
			if probes.Load() != 1 {
				t.Errorf("%d initializes sent; want 1", probes.Load())
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", r, err, tc.err)
				}
				return
			}
			want := slices.Clone(tc.want)
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], "{base}", srv.URL)
			}
			if err != nil || !slices.Equal(r.AuthorizationServers, want) || !slices.Equal(r.Scopes, tc.scopes) || r.URL != srv.URL+mcpPath {
				t.Fatalf("got %+v, %v; want servers %q, scopes %q", r, err, want, tc.scopes)
			}
		})
	}
}

// A server URL that is not https (or loopback http) is not asked at all.
func TestDiscoverResourceRefusesPlainHTTP(t *testing.T) {
	_, err := DiscoverResource(context.Background(), nil, "http://myorg-acct.snowflakecomputing.com"+mcpPath)
	if err == nil || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("got %v", err)
	}
}

func TestResourceSnowflakeOAuthAndRole(t *testing.T) {
	const srv = "https://myorg-acct.snowflakecomputing.com" + mcpPath
	for _, tc := range []struct {
		as        string
		scopes    []string
		snowflake bool
		role      string
	}{
		{"https://myorg-acct.snowflakecomputing.com", []string{"session:role:all"}, true, ""},
		{"https://MYORG-ACCT.snowflakecomputing.com:443/oauth/", []string{"session:role:MCP_USERS", "refresh_token"}, true, "MCP_USERS"},
		{"https://myorg-acct.snowflakecomputing.com/oauth2/x", nil, false, ""},
		{"https://other-acct.snowflakecomputing.com", []string{"session:role:A", "session:role:B"}, false, ""},
		{"https://example.okta.com/oauth2/aus1", []string{"session:role:A", "session:role:all", "offline_access"}, false, "A"},
		{"https://example.okta.com/oauth2/aus1", []string{"session:role:A B"}, false, ""},
	} {
		r := Resource{URL: srv, AuthorizationServers: []string{tc.as}, Scopes: tc.scopes}
		if r.SnowflakeOAuth() != tc.snowflake || r.Role() != tc.role {
			t.Errorf("%s %q: Snowflake %v, role %q; want %v, %q", tc.as, tc.scopes, r.SnowflakeOAuth(), r.Role(), tc.snowflake, tc.role)
		}
	}
}

// A configured role or scope beats the discovered one; an issuer the user
// gave must be the server's.
func TestResourceApply(t *testing.T) {
	const srv = "https://myorg-acct.snowflakecomputing.com" + mcpPath
	const okta = "https://example.okta.com/oauth2/aus1"
	bound := Resource{URL: srv, AuthorizationServers: []string{okta}, Scopes: []string{"session:role:MCP_USERS"}}
	unbound := Resource{URL: srv, AuthorizationServers: []string{"https://myorg-acct.snowflakecomputing.com"}, Scopes: []string{"session:role:MCP_USERS"}}
	for _, tc := range []struct {
		r            Resource
		in           config.Profile
		issuer, role string
		err          string
	}{
		{bound, config.Profile{}, okta, "MCP_USERS", ""},
		{bound, config.Profile{Role: "ANALYST"}, okta, "ANALYST", ""},
		{bound, config.Profile{Scopes: []string{"session:role-any"}}, okta, "", ""},
		{bound, config.Profile{Issuer: okta + "/"}, okta, "MCP_USERS", ""},
		{bound, config.Profile{Issuer: "https://evil.example"}, "", "", "takes tokens from " + okta},
		{unbound, config.Profile{}, "", "MCP_USERS", ""},
		{unbound, config.Profile{Issuer: okta}, "", "", "Snowflake's own OAuth"},
	} {
		p, err := tc.r.Apply(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: %v; want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p.Issuer != tc.issuer || p.Role != tc.role {
			t.Errorf("%+v: issuer %q, role %q, %v; want %q, %q", tc.in, p.Issuer, p.Role, err, tc.issuer, tc.role)
		}
	}
}

// A profile learns that its server's authorization server changed only
// from the server's metadata; the hint sets it up again from the URL,
// quoted for the shell.
func TestCheckBinding(t *testing.T) {
	var as string
	srv, probes := mcpServer(t, func(b string) string { return `Bearer resource_metadata="` + b + `/meta"` }, map[string]func(string) any{
		"/meta": func(b string) any { return prm(b+mcpPath, []string{as}) },
	})
	url := srv.URL + mcpPath
	snowflake := config.Profile{Name: "sf", Host: srv.URL}
	okta := config.Profile{Name: "corp", Host: srv.URL, Issuer: "https://example.okta.com/oauth2/aus1", ClientID: "c"}
	for _, tc := range []struct {
		as      string
		p       config.Profile
		changed string
	}{
		{srv.URL, snowflake, ""},
		{"https://example.okta.com/oauth2/aus1", snowflake, "this MCP server now takes tokens from https://example.okta.com/oauth2/aus1"},
		{"https://example.okta.com/oauth2/aus1/", okta, ""},
		{"https://example.okta.com/oauth2/aus2", okta, "this MCP server now takes tokens from https://example.okta.com/oauth2/aus2"},
		{srv.URL + "/oauth", okta, "this MCP server now takes tokens from Snowflake's own OAuth (" + srv.URL + "/oauth)"},
	} {
		as = tc.as
		err := CheckBinding(context.Background(), srv.Client(), tc.p, url, nil)
		var changed *BindingChangedError
		switch {
		case tc.changed == "" && err != nil:
			t.Errorf("%s for %s: %v", tc.as, tc.p.Name, err)
		case tc.changed != "" && (!errors.As(err, &changed) || changed.Error() != tc.changed):
			t.Errorf("%s for %s: %v; want %q", tc.as, tc.p.Name, err, tc.changed)
		case changed != nil && changed.Hint() != "run: sfmcp-token setup --url "+url:
			t.Errorf("hint %q", changed.Hint())
		}
	}
	// What a 401 said is used as it is: the server is not asked again.
	as = "https://example.okta.com/oauth2/aus1"
	before := probes.Load()
	err := CheckBinding(context.Background(), srv.Client(), snowflake, url, []string{`Bearer error="invalid_token", resource_metadata="` + srv.URL + `/meta"`})
	if !errors.As(err, new(*BindingChangedError)) || probes.Load() != before {
		t.Errorf("after a 401: %v, %d more initializes", err, probes.Load()-before)
	}
	if hint := (&BindingChangedError{ServerURL: "https://h/x/mcp-servers/A$B"}).Hint(); hint != "run: sfmcp-token setup --url 'https://h/x/mcp-servers/A$B'" {
		t.Errorf("hint %q", hint)
	}
}
