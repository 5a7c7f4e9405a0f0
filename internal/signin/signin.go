// Package signin owns signing a profile in: the browser flow (Flow) that
// login, setup and the daemon's self-opened sign-in share, what it stores
// with a sign-in, the authorization server a profile signs in at (Server),
// the daemon's rule for when it may open a sign-in itself (Renewal), the
// desktop notifications that a sign-in needs the user (NotifyExpiring,
// NotifyNeeded), and the words login, setup and the daemon share for the
// way to the sign-in page (Instructions) and for a failed sign-in
// (Advise: its exit code and next step).
//
// It never prints: what the user sees comes through a Flow's hooks or as
// text the caller shows, and its errors are typed. No token, code or
// secret appears in its errors, texts or notifications.
package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Store is where a sign-in is saved, and where a confidential client's
// secret is found.
type Store interface {
	SaveCredential(profile string, c keychain.Credential) error
	ClientSecretFor(profile, boundTo, legacy string) (string, error)
}

// Flow is one browser sign-in: authorization code + PKCE with a loopback
// redirect, at the profile's authorization server (Servers.For). A sign-in
// is stored only when the server named the profile's user (if the profile
// names one) and issued a refresh token.
type Flow struct {
	Store Store
	// ClientSecret, when set, is a confidential client's secret given
	// outside the store ($SFMCP_CLIENT_SECRET); it wins over the store's.
	ClientSecret string
	// Network is the network the sign-in is made over, recorded with it:
	// its tokens are refreshed over exactly this one.
	Network netconf.Network
	// HTTPClient reaches the authorization server; nil builds one from
	// Network, the environment's proxy allowed where it names none.
	HTTPClient *http.Client
	// Timeout bounds the wait for the browser (default 5 minutes).
	Timeout time.Duration
	// Remote says the user's browser is on another machine (over SSH),
	// which cannot reach this machine's loopback: no browser is opened
	// here, and the user pastes back the address Snowflake sent theirs
	// to. Otherwise nothing is read from Paste.
	Remote bool
	// Announce, Open, Paste and PasteRefused are oauth.Login's: they show
	// the sign-in URL, open a browser on it (nil: none), read the address
	// a browser on another machine was sent back to, and refuse a pasted
	// line that is not one.
	Announce     func(startURL, authURL string)
	Open         func(url string) error
	Paste        func(context.Context) (string, error)
	PasteRefused func(error)
	// Device signs in with a code on another device (RFC 8628) instead of
	// a browser redirect here: for SSH sessions and machines without a
	// browser, where the identity provider offers it. ShowCode tells the
	// user where to go and which code to enter.
	Device   bool
	ShowCode func(oauth.DeviceCode)
	// Now stamps the sign-in (default time.Now).
	Now func() time.Time
}

// String never shows the client secret, so a Flow printed by mistake
// leaks nothing.
func (f Flow) String() string {
	return fmt.Sprintf("sign-in flow over %+v (client secret given: %v)", f.Network, f.ClientSecret != "")
}

// GoString keeps %#v from printing the secret too.
func (f Flow) GoString() string { return f.String() }

// Errors callers branch on.
var (
	// ErrNoRefreshToken: the server signed the user in but issued no
	// refresh token, so sfmcp cannot keep the user signed in.
	ErrNoRefreshToken = errors.New("the sign-in worked, but Snowflake issued no refresh token, so sfmcp cannot keep you signed in")
)

// AuthorizeError is a sign-in the authorization server did not complete:
// denied, timed out, interrupted, or the code was not exchanged. Err is
// oauth's error.
type AuthorizeError struct{ Err error }

func (e *AuthorizeError) Error() string { return "sign-in failed: " + e.Err.Error() }
func (e *AuthorizeError) Unwrap() error { return e.Err }

// WrongUserError is a sign-in by another user than the profile names
// (another user of this machine, a stale tab signed in as another
// account); nothing was stored.
type WrongUserError struct {
	Profile string
	Want    string // the profile's user
	Got     string // who signed in; "" when the server did not say
}

func (e *WrongUserError) Error() string {
	got := e.Got
	if got == "" {
		got = "a user Snowflake did not name"
	}
	return fmt.Sprintf("signed in as %s, but profile %s is for %s; nothing was saved", got, e.Profile, e.Want)
}

// Run signs p in through the browser and stores the sign-in. It returns
// the user the server signed in ("" when it did not say).
func (f *Flow) Run(ctx context.Context, p config.Profile) (string, error) {
	ep, err := p.Endpoint()
	if err != nil {
		return "", err
	}
	hc := f.HTTPClient
	if hc == nil {
		if hc, err = f.Network.Client(netconf.WithEnvProxy); err != nil {
			return "", err
		}
	}
	server, err := Servers{Secrets: f.Store, Secret: f.ClientSecret}.client(ctx, p, hc)
	if err != nil {
		return "", err
	}
	tokens, err := f.authorize(ctx, p, server)
	if err != nil {
		return "", &AuthorizeError{Err: err}
	}
	if err := acceptable(p, tokens); err != nil {
		return "", err
	}
	cred := f.credential(p, ep.Host, tokens)
	cred.Scopes = server.Scopes
	if p.IsIdP() {
		cred.Issuer, cred.TokenURL = p.Issuer, server.TokenURL
	}
	if err := f.Store.SaveCredential(p.Name, cred); err != nil {
		return "", fmt.Errorf("signed in, but the sign-in could not be saved: %w", err)
	}
	return tokens.Username, nil
}

// authorize runs the grant that signs the user in at server: a browser
// redirect to this machine's loopback (or an address pasted back), or a
// code entered on another device.
func (f *Flow) authorize(ctx context.Context, p config.Profile, server *oauth.Client) (oauth.Tokens, error) {
	if f.Device {
		timeout := f.Timeout
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return server.DeviceLogin(ctx, f.ShowCode)
	}
	login := &oauth.Login{
		Client:       server,
		RedirectURI:  p.LoginRedirect(),
		Timeout:      f.Timeout,
		Announce:     f.Announce,
		Paste:        f.Paste,
		PasteRefused: f.PasteRefused,
		Open:         f.Open,
	}
	if f.Remote {
		login.Open = nil
	} else {
		login.Paste = nil
	}
	return login.Run(ctx)
}

// acceptable refuses, before anything is stored, a sign-in by someone
// other than the profile's user, and one sfmcp could not keep.
func acceptable(p config.Profile, t oauth.Tokens) error {
	if p.User != "" && !strings.EqualFold(strings.Trim(p.User, `"`), t.Username) {
		return &WrongUserError{Profile: p.Name, Want: p.User, Got: t.Username}
	}
	if t.RefreshToken == "" {
		return ErrNoRefreshToken
	}
	return nil
}

// credential is what is stored of a sign-in: the refresh token, and what
// it was made for (host, extra hosts, client, scopes, user, network).
func (f *Flow) credential(p config.Profile, host string, t oauth.Tokens) keychain.Credential {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	cred := keychain.Credential{
		Secret:     t.RefreshToken,
		Kind:       keychain.CredentialOAuth,
		Host:       host,
		ExtraHosts: p.ExtraHosts,
		ClientID:   p.EffectiveClientID(),
		User:       t.Username,
		Role:       grantedRole(t.Scope, p),
		Scopes:     p.OAuthScopes(),
		ObtainedAt: now().UTC(),
	}
	if !t.RefreshExpiry.IsZero() {
		cred.SecretExpiresAt = t.RefreshExpiry.UTC()
	}
	f.Network.Record(&cred)
	return cred
}
