package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
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
		ClientSecretFor(profile, boundTo, legacy string) (string, error)
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

// For returns p's authorization server for a sign-in, reached through
// hc: Snowflake's OAuth at the profile's host, or the identity provider
// the profile names, its endpoints discovered from its issuer; with the
// profile's client and scopes.
func (s Servers) For(ctx context.Context, p config.Profile, hc *http.Client) (Server, error) {
	c, err := s.client(ctx, p, hc)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Stored returns the server that refreshes cred, p's stored sign-in: an
// identity provider's token endpoint as it was when the user signed in
// there, never one discovered since, so a refresh token goes only to the
// issuer it came from.
func (s Servers) Stored(p config.Profile, cred keychain.Credential, hc *http.Client) (Server, error) {
	if !p.IsIdP() && cred.Issuer == "" {
		return s.For(context.Background(), p, hc)
	}
	if cred.Issuer != p.Issuer || cred.TokenURL == "" {
		return nil, &oauth.LoginRequiredError{Reason: IssuerChanged(p, cred)}
	}
	// The refresh token belongs to the client it was issued to, and is
	// sent again with the scopes it was granted for (and the audience, where
	// the provider takes it as resource).
	clientID := cred.ClientID
	if clientID == "" {
		clientID = p.ClientID
	}
	resource := ""
	if preset, err := idp.PresetOf(p.IdP, p.Issuer); err == nil {
		resource = preset.Resource(p.Audience)
	}
	c, err := s.withSecret(p, &oauth.Client{TokenURL: cred.TokenURL, ClientID: clientID, Confidential: p.Confidential(),
		Scopes: cred.Scopes, Resource: resource, HTTPClient: hc, Issuer: cred.Issuer, Name: issuerHost(cred.Issuer)})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// IssuerChanged says why a stored sign-in does not serve p when it was
// made at another authorization server ("" when it was made at p's).
func IssuerChanged(p config.Profile, cred keychain.Credential) string {
	if cred.Issuer == p.Issuer && (cred.Issuer == "" || cred.TokenURL != "") {
		return ""
	}
	return fmt.Sprintf("the stored sign-in was made at %s, but the profile now signs in at %s; sign in again if that change is yours",
		serverLabel(cred.Issuer), serverLabel(p.Issuer))
}

func serverLabel(issuer string) string {
	if issuer == "" {
		return "Snowflake"
	}
	return issuer
}

// issuerHost names an identity provider as the sign-in pages show it.
func issuerHost(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return issuer
}

// Scopes are the scopes p's sign-in asks for: Snowflake's (refresh_token,
// the role scope, extras), or its identity provider's form of them. The
// error says what the identity provider's kind needs that p lacks.
func Scopes(p config.Profile) ([]string, error) {
	if !p.IsIdP() {
		return p.OAuthScopes(), nil
	}
	preset, err := idp.ProfilePreset(p)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return preset.Scopes(p.Role, p.Audience, p.Scopes), nil
}

// client is p's OAuth client for a sign-in.
func (s Servers) client(ctx context.Context, p config.Profile, hc *http.Client) (*oauth.Client, error) {
	if p.IsIdP() {
		return s.idpClient(ctx, p, hc)
	}
	ep, err := p.Endpoint()
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return s.withSecret(p, &oauth.Client{
		BaseURL:      ep.URL(),
		ClientID:     p.EffectiveClientID(),
		Confidential: p.Confidential(),
		Scopes:       p.OAuthScopes(),
		HTTPClient:   hc,
	})
}

// idpClient is the client of p's identity provider, its endpoints found
// in the issuer's metadata.
func (s Servers) idpClient(ctx context.Context, p config.Profile, hc *http.Client) (*oauth.Client, error) {
	preset, err := idp.ProfilePreset(p)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := idp.Discover(ctx, hc, p.Issuer, preset)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return s.withSecret(p, &oauth.Client{
		AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint, DeviceAuthURL: m.DeviceAuthorizationEndpoint,
		ClientID: p.ClientID, Confidential: p.Confidential(),
		Scopes:   preset.Scopes(p.Role, p.Audience, p.Scopes),
		Resource: preset.Resource(p.Audience), HTTPClient: hc,
		Issuer: p.Issuer, IssRequired: m.IssInResponse, Name: issuerHost(p.Issuer),
	})
}

// withSecret gives a confidential client its secret.
func (s Servers) withSecret(p config.Profile, c *oauth.Client) (*oauth.Client, error) {
	if !c.Confidential {
		return c, nil
	}
	// $SFMCP_CLIENT_SECRET is a Snowflake integration's: it never goes to
	// an identity provider.
	if s.Secret != "" && !p.IsIdP() {
		c.ClientSecret = s.Secret
		return c, nil
	}
	// A secret stored before secrets were bound was a Snowflake
	// integration's, given for this profile.
	legacy := ""
	if !p.IsIdP() {
		legacy = p.SecretBinding()
	}
	secret, err := s.Secrets.ClientSecretFor(p.Name, p.SecretBinding(), legacy)
	if errors.Is(err, keychain.ErrNotFound) || errors.Is(err, keychain.ErrSecretElsewhere) {
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
	return s.Stored(p, cred, hc)
}
