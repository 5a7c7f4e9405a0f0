package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// secrets is a store of client secrets by profile; err, when set, is its
// answer to everything.
type secrets struct {
	byProfile map[string]string
	err       error
}

func (s secrets) ClientSecretFor(profile, _, _ string) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	v, ok := s.byProfile[profile]
	if !ok {
		return "", keychain.ErrNotFound
	}
	return v, nil
}

// A profile's server is Snowflake's OAuth at its host with its client and
// scopes; a confidential client's secret comes from the environment, else
// the store, and its absence is a NoClientSecretError.
func TestServersFor(t *testing.T) {
	const envSecret, storedSecret = "secret-from-the-environment", "secret-from-the-store"
	public := config.Profile{Name: "pub", Account: "myorg-acct", Role: "analyst"}
	confidential := config.Profile{Name: "conf", Account: "myorg-acct", ClientID: "SFMCP_APP", ClientType: config.ClientConfidential}
	stored := secrets{byProfile: map[string]string{"conf": storedSecret}}
	unavailable := errors.New("the keychain is locked")
	for _, c := range []struct {
		name    string
		servers Servers
		p       config.Profile
		secret  string // the client secret the server must use
		err     func(error) bool
	}{
		{"public", Servers{Secrets: secrets{err: unavailable}, Secret: envSecret}, public, "", nil},
		{"confidential, from the environment", Servers{Secrets: stored, Secret: envSecret}, confidential, envSecret, nil},
		{"confidential, from the store", Servers{Secrets: stored}, confidential, storedSecret, nil},
		{"confidential, none", Servers{Secrets: secrets{}}, confidential, "", func(err error) bool {
			var none *NoClientSecretError
			return errors.As(err, &none) && none.Profile == "conf"
		}},
		{"confidential, store failing", Servers{Secrets: secrets{err: unavailable}}, confidential, "", func(err error) bool { return errors.Is(err, unavailable) }},
		{"no host", Servers{}, config.Profile{Name: "bad"}, "", func(err error) bool { return err != nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			hc := &http.Client{}
			s, err := c.servers.For(context.Background(), c.p, hc)
			if c.err != nil {
				if !c.err(err) || s != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			oc, ok := s.(*oauth.Client)
			if err != nil || !ok {
				t.Fatalf("For: %T, %v", s, err)
			}
			ep, _ := c.p.Endpoint()
			if oc.BaseURL != ep.URL() || oc.ClientID != c.p.EffectiveClientID() || oc.Confidential != c.p.Confidential() || oc.HTTPClient != hc {
				t.Errorf("client %s at %s (confidential %v)", oc.ClientID, oc.BaseURL, oc.Confidential)
			}
			if oc.ClientSecret != c.secret {
				t.Error("the client secret is not the one it should be") // never print it
			}
		})
	}
}

// The stored role is the one Snowflake granted, else the one requested.
func TestGrantedRole(t *testing.T) {
	for _, c := range []struct {
		scope, role, want string
	}{
		{"refresh_token session:role:ANALYST", "mcp_users", "ANALYST"},
		{"session:role-encoded:My%20Role refresh_token", "", "My Role"},
		{"refresh_token", "mcp_users", "MCP_USERS"},
		{"refresh_token", `"Mixed Case"`, "Mixed Case"},
		{"", "", ""},
	} {
		if got := grantedRole(c.scope, config.Profile{Role: c.role}); got != c.want {
			t.Errorf("scope %q, role %q: %q, want %q", c.scope, c.role, got, c.want)
		}
	}
	if _, ok := scopeRoleName("session:role-encoded:%zz"); ok {
		t.Error("a badly encoded role scope was read")
	}
}

// A Flow or Servers printed by mistake does not show the client secret.
func TestPrintingHidesTheSecret(t *testing.T) {
	const secret = "the-client-secret"
	f := Flow{ClientSecret: secret}
	s := Servers{Secret: secret}
	for _, v := range []any{f, &f, s, &s} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			if strings.Contains(fmt.Sprintf(format, v), secret) {
				t.Errorf("%s of a %T shows the client secret", format, v)
			}
		}
	}
}

// A stored sign-in at an identity provider is refreshed at the token
// endpoint recorded with it, never at one the config or metadata names
// later; one made at another issuer (or at Snowflake) needs a new sign-in.
func TestStoredIdPSignInGoesOnlyToItsIssuer(t *testing.T) {
	p := config.Profile{Name: "corp", Account: "myorg-acct", Issuer: "https://idp.example/oauth2/aus1", ClientID: "0oa1", Role: "MCP_USERS"}
	cred := keychain.Credential{Kind: keychain.CredentialOAuth, Host: "myorg-acct.snowflakecomputing.com", Issuer: p.Issuer,
		TokenURL: "https://idp.example/oauth2/aus1/v1/token", Scopes: []string{"session:role:MCP_USERS", "offline_access"}}
	hc := &http.Client{}
	s, err := Servers{}.Stored(p, cred, hc)
	oc, ok := s.(*oauth.Client)
	if err != nil || !ok || oc.TokenURL != cred.TokenURL || oc.BaseURL != "" || oc.HTTPClient != hc || !slices.Equal(oc.Scopes, cred.Scopes) {
		t.Fatalf("Stored: %+v %v", s, err)
	}
	for name, c := range map[string]keychain.Credential{
		"another issuer":        {Issuer: "https://evil.example", TokenURL: "https://evil.example/token"},
		"made at Snowflake":     {Host: cred.Host},
		"no token URL recorded": {Issuer: p.Issuer},
	} {
		var lr *oauth.LoginRequiredError
		if s, err := (Servers{}).Stored(p, c, hc); !errors.As(err, &lr) || s != nil {
			t.Errorf("%s: %v %v; want a new sign-in", name, s, err)
		}
	}
	snowflake := config.Profile{Name: "sf", Account: "myorg-acct"}
	if _, err := (Servers{}).Stored(snowflake, cred, hc); err == nil {
		t.Error("an IdP sign-in served a profile that signs in at Snowflake")
	}
}

// An identity provider's profile asks for its preset's scopes; a kind
// that needs what the profile lacks says so.
func TestIdPScopes(t *testing.T) {
	okta := config.Profile{Name: "corp", Issuer: "https://example.okta.com/oauth2/aus1", ClientID: "0oa1", Role: "MCP_USERS"}
	if got, err := Scopes(okta); err != nil || !slices.Equal(got, []string{"session:role:MCP_USERS", "offline_access"}) {
		t.Errorf("okta: %q %v", got, err)
	}
	entra := config.Profile{Name: "corp", Issuer: "https://login.microsoftonline.com/t/v2.0", ClientID: "c", Role: "MCP_USERS"}
	if _, err := Scopes(entra); err == nil || !strings.Contains(err.Error(), "Application ID URI") {
		t.Errorf("entra without an audience: %v", err)
	}
	entra.Audience = "api://app"
	if got, err := Scopes(entra); err != nil || got[0] != "api://app/session:scope:MCP_USERS" {
		t.Errorf("entra: %q %v", got, err)
	}
	if _, err := Scopes(config.Profile{Name: "x", Issuer: "https://i.example", IdP: "keycloak", ClientID: "c"}); err == nil {
		t.Error("an unknown kind of IdP was accepted")
	}
}

// A client secret goes only to the server and client it was stored for:
// a profile changed to sign in at an identity provider does not take the
// Snowflake integration's secret there, nor $SFMCP_CLIENT_SECRET.
func TestClientSecretStaysWithItsServer(t *testing.T) {
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sf := config.Profile{Name: "corp", Account: "myorg-acct", ClientID: "SFCLIENT", ClientType: config.ClientConfidential}
	if err := store.SaveClientSecret("corp", "snowflake-integration-secret", sf.SecretBinding()); err != nil {
		t.Fatal(err)
	}
	if c, err := (Servers{Secrets: store}).withSecret(sf, &oauth.Client{Confidential: true}); err != nil || c.ClientSecret != "snowflake-integration-secret" {
		t.Fatalf("the secret's own profile: %v", err)
	}
	moved := sf
	moved.Issuer = "https://idp.example/oauth2/aus1"
	var none *NoClientSecretError
	for name, s := range map[string]Servers{"stored": {Secrets: store}, "from the environment": {Secrets: store, Secret: "env-secret"}} {
		if c, err := s.withSecret(moved, &oauth.Client{Confidential: true}); !errors.As(err, &none) || c != nil {
			t.Errorf("%s: a secret reached the identity provider's client (%v)", name, err)
		}
	}
}
