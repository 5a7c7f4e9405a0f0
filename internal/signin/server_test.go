package signin

import (
	"errors"
	"fmt"
	"net/http"
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

func (s secrets) ClientSecret(profile string) (string, error) {
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
			s, err := c.servers.For(c.p, hc)
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
