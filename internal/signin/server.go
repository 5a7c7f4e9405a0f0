package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Server is an authorization server: where a profile signs in (the
// authorization URL and the code exchange) and its tokens are refreshed.
// Snowflake's own OAuth (*oauth.Client) is the one kind today; another
// kind (an OpenID issuer found by discovery) is another implementation
// that Servers.For returns, not a branch in its callers.
type Server interface {
	oauth.Authorizer
	Refresh(ctx context.Context, refreshToken string) (oauth.Tokens, error)
}

// Servers builds each profile's authorization server.
type Servers struct {
	// Secrets holds confidential clients' secrets, by profile.
	Secrets interface {
		ClientSecret(profile string) (string, error)
	}
	// Secret, when set, is the secret of any confidential client
	// ($SFMCP_CLIENT_SECRET); it wins over Secrets.
	Secret string
}

// String never shows the secret.
func (s Servers) String() string {
	return fmt.Sprintf("servers (client secret given: %v)", s.Secret != "")
}

// GoString keeps %#v from printing the secret too.
func (s Servers) GoString() string { return s.String() }

// NoClientSecretError: the profile is a confidential client and no secret
// is given or stored for it.
type NoClientSecretError struct{ Profile string }

func (e *NoClientSecretError) Error() string {
	return fmt.Sprintf("profile %s is a confidential client but no client secret is stored", e.Profile)
}

// For returns p's authorization server, reached through hc: Snowflake's
// OAuth at the profile's host, with the profile's client and scopes.
func (s Servers) For(p config.Profile, hc *http.Client) (Server, error) {
	ep, err := p.Endpoint()
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	c := &oauth.Client{
		BaseURL:      ep.URL(),
		ClientID:     p.EffectiveClientID(),
		Confidential: p.Confidential(),
		Scopes:       p.OAuthScopes(),
		HTTPClient:   hc,
	}
	if !c.Confidential {
		return c, nil
	}
	if s.Secret != "" {
		c.ClientSecret = s.Secret
		return c, nil
	}
	secret, err := s.Secrets.ClientSecret(p.Name)
	if errors.Is(err, keychain.ErrNotFound) {
		return nil, &NoClientSecretError{Profile: p.Name}
	}
	if err != nil {
		return nil, err
	}
	c.ClientSecret = secret
	return c, nil
}

// Refresher is p's server for refreshing the stored sign-in cred, reached
// over the network recorded with it; the environment's proxy applies where
// that names none (a daemon the user started: an auto-started one has
// none in its allow-listed environment). A ca_file whose certificates
// changed since the sign-in is netconf.ErrCAChanged: only a new sign-in
// trusts them. A sign-in made before sfmcp recorded networks has its
// certificate failures explained with advice (netconf.LegacyError).
func (s Servers) Refresher(p config.Profile, cred keychain.Credential, advice string) (Server, error) {
	hc, err := netconf.Of(cred).Client(netconf.WithEnvProxy)
	if err != nil {
		return nil, err
	}
	if !cred.NetworkRecorded {
		hc.Transport = netconf.Legacy(hc.Transport, advice)
	}
	return s.For(p, hc)
}
