package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pkg/browser"
	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

func newLoginCommand(e *Env) *cobra.Command {
	var o loginOptions
	c := &cobra.Command{
		Use:   "login [PROFILE]",
		Short: "Sign in through the browser",
		Long: `Sign in to Snowflake through the browser (OAuth authorization code with
PKCE, redirected to a loopback address on this machine). The refresh token
goes into the OS keychain; the daemon keeps access tokens fresh from it.`,
		Example: `  sfmcp-token login prod
  sfmcp-token login --no-browser   # print the URL; open it yourself`,
		Args:              profileArg,
		ValidArgsFunction: completeProfileArg(e),
		RunE: longRunning(func(ctx context.Context, args []string) error {
			o.profile = profileFrom(o.profile, args)
			return runLogin(ctx, e, o)
		}),
	}
	addProfileFlag(c, e, &o.profile, "profile to sign in (default: $SFMCP_PROFILE, then default_profile)")
	c.Flags().BoolVar(&o.noBrowser, "no-browser", false, "only print the sign-in URL; do not open a browser")
	c.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	return c
}

type loginOptions struct {
	profile   string
	noBrowser bool
	timeout   time.Duration
	lines     *lineReader // stdin, when a caller (setup) reads it too
}

func runLogin(ctx context.Context, e *Env, o loginOptions) error {
	if !o.noBrowser && overSSHWithoutDisplay(e.Getenv) {
		// A browser opened here would be on this machine's screen, not in
		// front of the user: offer the URL and the paste instead.
		o.noBrowser = true
		fmt.Fprintln(e.Stderr, "sfmcp: this is an SSH session without a display, so no browser is opened here.")
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	p, err := selectProfile(e, cfg, o.profile)
	if err != nil {
		return err
	}
	if p.IsPAT() {
		return usagef("", "profile %s uses a programmatic access token; there is no browser sign-in for it", p.Name)
	}
	ep, err := p.Endpoint()
	if err != nil {
		return usagef("run: sfmcp-token profile show "+p.Name, "profile %s: %v", p.Name, err)
	}
	store, err := openStore(e, cfg)
	if err != nil {
		return err
	}
	warnFileStore(e, store)
	// Prove the store can keep a secret before the user signs in, so a
	// fresh sign-in is never lost to a keychain that cannot hold it.
	if err := store.Probe(); err != nil {
		return err
	}
	// A sign-in the daemon opened for this profile would hold the loopback
	// port (and race this one): the reload ends it.
	notifyDaemon(ctx, e, p.Name)
	network := signInNetwork{http: e.snowflakeHTTP(), record: func(c *keychain.Credential) error { return recordNetwork(cfg, c) }}
	var paste func(context.Context) (string, error)
	if o.noBrowser {
		// A browser on another machine cannot reach this machine's
		// loopback: its user pastes the address it was sent back to.
		lines := o.lines
		if lines == nil {
			lines = newLineReader(e.Stdin)
		}
		paste = lines.next
	}
	open := e.opener()
	if o.noBrowser {
		open = nil
	}
	user, err := browserSignIn(ctx, e, store, p, ep, network, o.timeout, func(startURL, authURL string) {
		announce(e, startURL, authURL, o.noBrowser)
	}, open, paste)
	if err != nil {
		return err
	}
	if user == "" {
		user = "(user not reported)"
	}
	notifyDaemon(ctx, e, p.Name)
	fmt.Fprintf(e.Stdout, "Logged in to %s as %s (profile %s)\n", ep.Host, user, p.Name)
	return nil
}

// overSSHWithoutDisplay: the environment says SSH and names no display
// (X11 forwarding would bring the browser to the user's screen).
func overSSHWithoutDisplay(getenv func(string) string) bool {
	return (getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "") && getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == ""
}

// signInNetwork is how a sign-in reaches Snowflake and what it records:
// `login` uses and records the config's network; a renewal the daemon
// opens uses and keeps the one recorded with the sign-in it renews.
type signInNetwork struct {
	http   *http.Client
	record func(*keychain.Credential) error
}

// browserSignIn runs the authorization code + PKCE sign-in of profile p
// through the browser and stores the sign-in: `login` and the daemon's
// self-opened sign-in share it. announce gets the loopback start URL; open
// opens a browser on it (nil: none). It returns the signed-in user.
func browserSignIn(ctx context.Context, e *Env, store *keychain.Store, p config.Profile, ep config.Endpoint, network signInNetwork, timeout time.Duration, announce func(startURL, authURL string), open func(url string) error, paste func(context.Context) (string, error)) (string, error) {
	client, err := oauthClient(e, store, p, ep, network.http)
	if err != nil {
		return "", err
	}
	login := &oauth.Login{
		Client:      client,
		RedirectURI: p.RedirectURI,
		Timeout:     timeout,
		Announce:    announce,
		Paste:       paste,
		PasteRefused: func(err error) {
			fmt.Fprintf(e.Stderr, "sfmcp: %v; paste the whole address from the browser's address bar\n", err)
		},
		Open: open,
	}
	tokens, err := login.Run(ctx)
	if err != nil {
		return "", loginError(p.Name, err)
	}
	// The profile may name who must sign in. A code delivered by someone
	// else (another user of this machine, a stale tab signed in as another
	// account) is refused before anything is stored.
	if p.User != "" && !strings.EqualFold(strings.Trim(p.User, `"`), tokens.Username) {
		got := tokens.Username
		if got == "" {
			got = "a user Snowflake did not name"
		}
		return "", withAdvice(fmt.Errorf("signed in as %s, but profile %s is for %s; nothing was saved", got, p.Name, p.User),
			exitcode.LoginRequired, "sign in as "+p.User+" ("+exitcode.LoginHint(p.Name)+"); if another user of this machine opened the sign-in page, tell your administrator")
	}
	if tokens.RefreshToken == "" {
		return "", withAdvice(fmt.Errorf("the sign-in worked, but Snowflake issued no refresh token, so sfmcp cannot keep you signed in"),
			exitcode.Usage, "ask your administrator to set OAUTH_ISSUE_REFRESH_TOKENS = TRUE on the integration, and allow the refresh_token scope when consenting")
	}
	cred := keychain.Credential{
		Secret:          tokens.RefreshToken,
		Kind:            keychain.CredentialOAuth,
		Host:            ep.Host,
		ExtraHosts:      p.ExtraHosts,
		ClientID:        client.ClientID,
		User:            tokens.Username,
		Role:            grantedRole(tokens.Scope, p),
		Scopes:          client.Scopes,
		ObtainedAt:      time.Now().UTC(),
		SecretExpiresAt: tokens.RefreshExpiry.UTC(),
	}
	if tokens.RefreshExpiry.IsZero() {
		cred.SecretExpiresAt = time.Time{}
	}
	if err := network.record(&cred); err != nil {
		return "", err
	}
	if err := store.SaveCredential(p.Name, cred); err != nil {
		return "", fmt.Errorf("signed in, but the sign-in could not be saved: %w", err)
	}
	return tokens.Username, nil
}

// opener is how this process opens a browser.
func (e *Env) opener() func(url string) error {
	if e.OpenBrowser != nil {
		return e.OpenBrowser
	}
	return browser.OpenURL
}

// announce prints the sign-in URL (the loopback start page, which sends
// the browser on to Snowflake) on its own stderr line so it can be copied.
// Without a browser here (SSH), it also says how to sign in from another
// machine: forward the port, or open Snowflake's URL there and paste back
// the address the browser lands on.
func announce(e *Env, startURL, authURL string, noBrowser bool) {
	if !noBrowser {
		fmt.Fprintln(e.Stderr, "Opening the browser to sign in to Snowflake. If it does not open, visit:")
		fmt.Fprintln(e.Stderr, startURL)
		return
	}
	fmt.Fprintln(e.Stderr, "Open this URL in a browser on this machine to sign in to Snowflake:")
	fmt.Fprintln(e.Stderr, startURL)
	u, err := url.Parse(startURL)
	if err != nil || u.Port() == "" {
		return
	}
	fmt.Fprintf(e.Stderr, "From another machine, either forward the port first (ssh -L %s:127.0.0.1:%s <this host>) and open the URL above, or open this URL there:\n", u.Port(), u.Port())
	fmt.Fprintln(e.Stderr, authURL)
	fmt.Fprintf(e.Stderr, "then copy the address your browser shows when it cannot load %s after the sign-in, and paste it here:\n", u.Host)
}

// oauthClient builds the OAuth client for a profile, finding a confidential
// client's secret in $SFMCP_CLIENT_SECRET or the keychain.
func oauthClient(e *Env, store *keychain.Store, p config.Profile, ep config.Endpoint, hc *http.Client) (*oauth.Client, error) {
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
	if s := e.Getenv("SFMCP_CLIENT_SECRET"); s != "" {
		c.ClientSecret = s
		return c, nil
	}
	secret, err := store.ClientSecret(p.Name)
	if errors.Is(err, keychain.ErrNotFound) {
		return nil, usagef(fmt.Sprintf(`run: printf %%s "$SECRET" | sfmcp-token profile set-secret %s --client-secret-stdin (or set SFMCP_CLIENT_SECRET)`, p.Name),
			"profile %s is a confidential client but no client secret is stored", p.Name)
	}
	if err != nil {
		return nil, err
	}
	c.ClientSecret = secret
	return c, nil
}

// grantedRole is the role Snowflake reports in scope, else the requested one.
func grantedRole(scope string, p config.Profile) string {
	for _, s := range strings.Fields(scope) {
		if r, ok := scopeRoleName(s); ok {
			return r
		}
	}
	r, _ := scopeRoleName(config.RoleScope(p.Role))
	return r
}

func scopeRoleName(scope string) (string, bool) {
	if r, ok := strings.CutPrefix(scope, "session:role:"); ok {
		return r, true
	}
	if r, ok := strings.CutPrefix(scope, "session:role-encoded:"); ok {
		d, err := url.PathUnescape(r)
		return d, err == nil
	}
	return "", false
}

func loginError(profile string, err error) error {
	again := exitcode.LoginHint(profile)
	switch {
	case errors.Is(err, oauth.ErrAccessDenied), errors.Is(err, oauth.ErrStateMismatch), errors.Is(err, oauth.ErrTimeout), errors.Is(err, oauth.ErrStartReused),
		errors.Is(err, oauth.ErrLoginRequired):
		return withAdvice(fmt.Errorf("sign-in failed: %w", err), exitcode.LoginRequired, again)
	case errors.Is(err, context.Canceled):
		return withAdvice(errors.New("sign-in interrupted"), exitcode.LoginRequired, again)
	}
	return fmt.Errorf("sign-in failed: %w", err)
}

func newLogoutCommand(e *Env) *cobra.Command {
	var profile string
	var all bool
	c := &cobra.Command{
		Use:   "logout [PROFILE | --all]",
		Short: "Forget the sign-in",
		Long:  "Delete the profile's refresh token from the keychain and tell the daemon to drop its access tokens.",
		Example: `  sfmcp-token logout prod
  sfmcp-token logout --all`,
		Args: func(cmd *cobra.Command, args []string) error {
			if all && (len(args) > 0 || profile != "") {
				return errors.New("give a profile or --all, not both")
			}
			return profileArg(cmd, args)
		},
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogout(cmd.Context(), e, profileFrom(profile, args), all)
		},
	}
	addProfileFlag(c, e, &profile, "profile to sign out (default: $SFMCP_PROFILE, then default_profile)")
	c.Flags().BoolVar(&all, "all", false, "sign out of every profile")
	return c
}

func runLogout(ctx context.Context, e *Env, profile string, all bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	var names []string
	if all {
		names = cfg.Names()
	} else {
		p, err := selectProfile(e, cfg, profile)
		if err != nil {
			return err
		}
		names = []string{p.Name}
	}
	store, err := openStore(e, cfg)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := store.DeleteCredential(name); err != nil {
			return fmt.Errorf("sign out of profile %s: %w", name, err)
		}
		notifyDaemon(ctx, e, name)
		fmt.Fprintf(e.Stdout, "Logged out of profile %s.\n", name)
	}
	return nil
}
