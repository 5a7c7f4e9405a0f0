package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	for _, tc := range []struct {
		kind, issuer, role, audience string
		extra                        []string
		want                         []string
		resource                     string
		assumeS256                   bool
	}{
		{"", "https://example.okta.com/oauth2/aus123", "MCP_USERS", "https://myorg-acct.snowflakecomputing.com", nil,
			[]string{"session:role:MCP_USERS", "offline_access"}, "https://myorg-acct.snowflakecomputing.com", false},
		{"", "https://login.microsoftonline.com/tid/v2.0", "MCP_USERS", "api://abc/", []string{"openid"},
			[]string{"api://abc/session:scope:MCP_USERS", "offline_access", "openid"}, "", true},
		{"entra", "https://idp.example/tenant", "", "api://abc", nil, []string{"api://abc/session:role-any", "offline_access"}, "", true},
		{"", "https://idp.example.com", "", "", []string{"offline_access"}, []string{"session:role-any", "offline_access"}, "", false},
		{"", "https://auth.pingone.eu/env", "ANALYST", "aud", nil, []string{"session:role:ANALYST", "offline_access"}, "aud", false},
	} {
		p, err := PresetOf(tc.kind, tc.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Scopes(tc.role, tc.audience, tc.extra); !slices.Equal(got, tc.want) {
			t.Errorf("%s: scopes %q; want %q", tc.issuer, got, tc.want)
		}
		if got := p.Resource(tc.audience); got != tc.resource || p.AssumeS256 != tc.assumeS256 {
			t.Errorf("%s: resource %q, S256 assumed %v", tc.issuer, got, p.AssumeS256)
		}
	}
	if _, err := PresetOf("keycloak", "https://x"); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

// issuerServer serves metadata at the paths given, for an issuer with a
// path (/oauth2/aus1), as Okta's custom authorization servers do.
func issuerServer(t *testing.T, docs map[string]func(issuer string) map[string]any) (*httptest.Server, string) {
	t.Helper()
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(doc(issuer))
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL + "/oauth2/aus1"
	return srv, issuer
}

func doc(extra map[string]any) func(string) map[string]any {
	return func(issuer string) map[string]any {
		m := map[string]any{"issuer": issuer, "authorization_endpoint": issuer + "/v1/authorize", "token_endpoint": issuer + "/v1/token",
			"code_challenge_methods_supported": []string{"S256"}}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
}

func TestDiscover(t *testing.T) {
	custom, _ := PresetOf(Custom, "")
	entra, _ := PresetOf(Entra, "")
	for _, tc := range []struct {
		name   string
		path   string
		extra  map[string]any
		preset Preset
		want   string // "" = found; else a substring of the error
	}{
		{"RFC 8414 with path insertion", "/.well-known/oauth-authorization-server/oauth2/aus1", nil, custom, ""},
		{"OIDC with path appending", "/oauth2/aus1/.well-known/openid-configuration", nil, custom, ""},
		{"Okta's RFC 8414 appended", "/oauth2/aus1/.well-known/oauth-authorization-server", nil, custom, ""},
		{"another issuer", "/oauth2/aus1/.well-known/openid-configuration", map[string]any{"issuer": "https://evil.example/oauth2/aus1"}, custom, "names issuer"},
		{"no PKCE listed", "/oauth2/aus1/.well-known/openid-configuration", map[string]any{"code_challenge_methods_supported": nil}, custom, "PKCE"},
		{"no PKCE listed, Entra", "/oauth2/aus1/.well-known/openid-configuration", map[string]any{"code_challenge_methods_supported": nil}, entra, ""},
		{"plain only", "/oauth2/aus1/.well-known/openid-configuration", map[string]any{"code_challenge_methods_supported": []string{"plain"}}, entra, "PKCE"},
		{"token endpoint not https", "/oauth2/aus1/.well-known/openid-configuration", map[string]any{"token_endpoint": "http://evil.example/token"}, custom, "token_endpoint"},
		{"nothing served", "/elsewhere", nil, custom, "no authorization server metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, issuer := issuerServer(t, map[string]func(string) map[string]any{tc.path: doc(tc.extra)})
			m, err := Discover(context.Background(), srv.Client(), issuer, tc.preset)
			if tc.want == "" {
				if err != nil || m.TokenEndpoint != issuer+"/v1/token" {
					t.Fatalf("metadata %+v, %v", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := Discover(context.Background(), http.DefaultClient, "http://idp.example/x", custom); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("a plain-http issuer off loopback: %v", err)
	}
	var me *MetadataError
	srv, issuer := issuerServer(t, map[string]func(string) map[string]any{"/oauth2/aus1/.well-known/openid-configuration": doc(map[string]any{"issuer": "x"})})
	if _, err := Discover(context.Background(), srv.Client(), issuer, custom); !errors.As(err, &me) {
		t.Errorf("err = %v; want a MetadataError", err)
	}
}

// Metadata behind a redirect is not read: the redirect could hand the
// choice of token endpoint to another host. An unusable answer at one
// address does not stop the search at the next.
func TestDiscoverFollowsNoRedirect(t *testing.T) {
	custom, _ := PresetOf(Custom, "")
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server/oauth2/aus1":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/.well-known/openid-configuration/oauth2/aus1":
			w.Write([]byte("<html>not metadata</html>"))
		case "/elsewhere":
			json.NewEncoder(w).Encode(doc(map[string]any{"token_endpoint": issuer + "/stolen"})(issuer))
		case "/oauth2/aus1/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(doc(nil)(issuer))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	issuer = srv.URL + "/oauth2/aus1"
	m, err := Discover(context.Background(), srv.Client(), issuer, custom)
	if err != nil || m.TokenEndpoint != issuer+"/v1/token" {
		t.Fatalf("metadata %+v, %v", m, err)
	}
}
