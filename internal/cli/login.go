package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/pkg/browser"
	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/internal/signin"
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
	if !o.noBrowser && signin.OverSSHWithoutDisplay(e.Getenv) {
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
	flow, err := loginFlow(e, cfg, store, o)
	if err != nil {
		return err
	}
	// A sign-in the daemon opened for this profile would hold the loopback
	// port (and race this one): the reload ends it.
	notifyDaemon(ctx, e, p.Name)
	user, err := flow.Run(ctx, p)
	if err != nil {
		return signInError(p.Name, err)
	}
	if user == "" {
		user = "(user not reported)"
	}
	notifyDaemon(ctx, e, p.Name)
	fmt.Fprintf(e.Stdout, "Logged in to %s as %s (profile %s)\n", ep.Host, user, p.Name)
	return nil
}

// loginFlow is the sign-in `login` (and setup) runs: over the config's
// network, which it records, announced on stderr; without a browser here,
// the user pastes the address a browser elsewhere was sent back to.
func loginFlow(e *Env, cfg *config.File, store *keychain.Store, o loginOptions) (*signin.Flow, error) {
	network, err := netconf.FromConfig(cfg)
	if err != nil {
		return nil, networkError(cfg, err)
	}
	f := &signin.Flow{
		Store:        store,
		ClientSecret: e.Getenv("SFMCP_CLIENT_SECRET"),
		Network:      network,
		HTTPClient:   e.snowflakeHTTP(),
		Timeout:      o.timeout,
		Announce:     func(startURL, authURL string) { announce(e, startURL, authURL, o.noBrowser) },
		Open:         e.opener(),
		PasteRefused: func(err error) {
			fmt.Fprintf(e.Stderr, "sfmcp: %v; paste the whole address from the browser's address bar\n", err)
		},
	}
	if o.noBrowser {
		// A browser on another machine cannot reach this machine's
		// loopback: its user pastes the address it was sent back to.
		lines := o.lines
		if lines == nil {
			lines = newLineReader(e.Stdin)
		}
		f.Open, f.Paste = nil, lines.next
	}
	return f, nil
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

// signInError words a failed sign-in of profile: its exit code and the
// next step.
func signInError(profile string, err error) error {
	var (
		authz    *signin.AuthorizeError
		wrong    *signin.WrongUserError
		noSecret *signin.NoClientSecretError
	)
	switch {
	case errors.As(err, &authz):
		return loginError(profile, authz.Err)
	case errors.As(err, &wrong):
		return withAdvice(err, exitcode.LoginRequired,
			"sign in as "+wrong.Want+" ("+exitcode.LoginHint(profile)+"); if another user of this machine opened the sign-in page, tell your administrator")
	case errors.Is(err, signin.ErrNoRefreshToken):
		return withAdvice(err, exitcode.Usage, "ask your administrator to set OAUTH_ISSUE_REFRESH_TOKENS = TRUE on the integration, and allow the refresh_token scope when consenting")
	case errors.As(err, &noSecret):
		return usagef(fmt.Sprintf(`run: printf %%s "$SECRET" | sfmcp-token profile set-secret %s --client-secret-stdin (or set SFMCP_CLIENT_SECRET)`, noSecret.Profile), "%v", err)
	}
	return err
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
