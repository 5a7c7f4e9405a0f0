package snowflaketest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// getPRM fetches the metadata the way an MCP client does: from the 401's
// resource_metadata, checking that resource is the URL asked about
// (RFC 9728 §3.3), and returns it with its raw fields.
func getPRM(t *testing.T, s *Server, mcpURL string) (*oauthex.ProtectedResourceMetadata, map[string]any) {
	t.Helper()
	resp, err := s.Client().Post(mcpURL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if resp.StatusCode != 401 || err != nil || len(challenges) != 1 || challenges[0].Scheme != "bearer" {
		t.Fatalf("unauthenticated request: %d %q %v", resp.StatusCode, resp.Header.Values("WWW-Authenticate"), err)
	}
	metaURL := challenges[0].Params["resource_metadata"]
	meta, err := oauthex.GetProtectedResourceMetadata(context.Background(), metaURL, mcpURL, s.Client())
	if err != nil {
		t.Fatal(err)
	}
	raw := getJSON(t, s, metaURL, 200)
	return meta, raw
}

func getJSON(t *testing.T, s *Server, url string, status int) map[string]any {
	t.Helper()
	resp, err := s.Client().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if resp.StatusCode != status || (status == 200 && json.Unmarshal(body, &m) != nil) {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, body, status)
	}
	return m
}

// Every MCP server serves its Protected Resource Metadata at the
// path-inserted well-known URL its 401 names: Snowflake OAuth while
// unbound, the IdP's issuer and OAUTH_SCOPES_SUPPORTED once bound.
func TestProtectedResourceMetadata(t *testing.T) {
	idp := newTestIdP(t)
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	if err := s.AddExternalOAuth(ExternalOAuth{Name: "OKTA_EXT", Issuer: idp.issuer(), JWKSURL: idp.jwksURL()}); err != nil {
		t.Fatal(err)
	}
	gong := s.MCPURL(DefaultMCPServer())
	check := func(stage string, authServers, scopes []string) {
		t.Helper()
		meta, raw := getPRM(t, s, gong)
		if meta.Resource != gong || !slices.Equal(meta.AuthorizationServers, authServers) || !slices.Equal(meta.ScopesSupported, scopes) ||
			!slices.Equal(meta.BearerMethodsSupported, []string{"header"}) {
			t.Errorf("%s: %+v", stage, meta)
		}
		if _, ok := raw["scopes_supported"]; ok != (scopes != nil) {
			t.Errorf("%s: scopes_supported in %v", stage, raw)
		}
	}
	check("unbound", []string{s.URL}, []string{"session:role:all"})
	must(t, s.SetParameter(Level{}, ParamScopesSupported, "session:role:MCP_USERS, refresh_token"))
	check("unbound with scopes", []string{s.URL}, []string{"session:role:MCP_USERS", "refresh_token"})
	must(t, s.UnsetParameter(Level{}, ParamScopesSupported))
	must(t, s.BindAuthorizationServer(Level{Database: "DB", Schema: "PUBLIC"}, "okta_ext"))
	check("bound", []string{idp.issuer()}, nil)
	must(t, s.SetParameter(Level{Database: "DB"}, ParamScopesSupported, "session:role:MCP_USERS,offline_access"))
	check("bound with scopes", []string{idp.issuer()}, []string{"session:role:MCP_USERS", "offline_access"})

	// The resource is the URL as the client wrote it.
	lower := s.URL + "/api/v2/databases/db/schemas/public/mcp-servers/gong_mcp"
	if meta, _ := getPRM(t, s, lower); meta.Resource != lower {
		t.Errorf("resource %q for %q", meta.Resource, lower)
	}
	if n := s.Counters().PRMRequests; n != 5*2 {
		t.Errorf("PRM requests: %d", n)
	}
	// No metadata for unknown servers, and none for Snowflake OAuth itself.
	getJSON(t, s, s.URL+prmPrefix+"/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/NOPE", http.StatusNotFound)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", prmPrefix} {
		getJSON(t, s, s.URL+path, http.StatusNotFound)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
