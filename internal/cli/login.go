package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pkg/browser"
	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
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
PKCE, redirected to a loopback address on this machine), or at the
organisation's identity provider for a profile with an issuer. The refresh
token goes into the OS keychain; the daemon keeps access tokens fresh from it.
With --device, an identity provider that offers it (RFC 8628) signs you in
with a code entered on another device: for SSH sessions and machines
without a browser.`,
		Example: `  sfmcp-token login prod
  sfmcp-token login --no-browser   # print the URL; open it yourself
  sfmcp-token login corp --device  # enter a code on another device`,
		Args:              profileArg,
		ValidArgsFunction: completeProfileArg(e),
		RunE: longRunning(func(ctx context.Context, args []string) error {
			o.profile = profileFrom(o.profile, args)
			return runLogin(ctx, e, o)
		}),
	}
	addProfileFlag(c, e, &o.profile, "profile to sign in (default: $SFMCP_PROFILE, then default_profile)")
	c.Flags().BoolVar(&o.noBrowser, "no-browser", false, "only print the sign-in URL; do not open a browser")
	c.Flags().BoolVar(&o.device, "device", false, "sign in with a code entered on another device (identity providers that offer it)")
	c.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	return c
}

type loginOptions struct {
	profile   string
	noBrowser bool
	device    bool
	timeout   time.Duration
	lines     *lineReader // stdin, when a caller (setup) reads it too
}

func runLogin(ctx context.Context, e *Env, o loginOptions) error {
	o = withoutBrowser(e, o)
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
	flow, err := loginFlow(e, cfg, store, p, o)
	if err != nil {
		return err
	}
	// A sign-in the daemon opened for this profile would hold the loopback
	// port (and race this one): the reload ends it.
	notifyDaemon(ctx, e, p.Name)
	user, err := flow.Run(ctx, p)
	if err != nil {
		return loginError(p, o, err)
	}
	if user == "" {
		user = "(user not reported)"
	}
	notifyDaemon(ctx, e, p.Name)
	if p.IsIdP() {
		// The user comes from the provider's token: shown only as text.
		fmt.Fprintf(e.Stdout, "Logged in at %s as %s (profile %s, for %s)\n", p.Issuer, mcpclients.Printable(user), p.Name, ep.Host)
		return nil
	}
	fmt.Fprintf(e.Stdout, "Logged in to %s as %s (profile %s)\n", ep.Host, user, p.Name)
	return nil
}

// withoutBrowser makes a sign-in that would open a browser offer the URL
// and the paste instead (as --no-browser) where no browser would show in
// front of the user: over SSH without a display (it would be on this
// machine's screen), or on a machine with no display at all and only the
// system's opener (an opener given to Env counts as a browser).
func withoutBrowser(e *Env, o loginOptions) loginOptions {
	if o.noBrowser || o.device {
		return o
	}
	switch {
	case signin.OverSSHWithoutDisplay(e.Getenv):
		fmt.Fprintln(e.Stderr, "sfmcp: this is an SSH session without a display, so no browser is opened here.")
	// $BROWSER names a browser that needs no display (w3m, lynx), which
	// xdg-open runs.
	case e.OpenBrowser == nil && e.Getenv("BROWSER") == "" && signin.WithoutDisplay(e.Getenv):
		fmt.Fprintln(e.Stderr, "sfmcp: this machine has no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no browser is opened here.")
	default:
		return o
	}
	o.noBrowser = true
	return o
}

// loginError words a failed sign-in of p made as o says: after a browser's
// timeout,
// the next step is a way that needs no browser here (signin.TimeoutHint),
// not the command that just timed out.
func loginError(p config.Profile, o loginOptions, err error) error {
	if !errors.Is(err, oauth.ErrTimeout) {
		return signInError(p.Name, err)
	}
	a := signin.Advise(p.Name, err)
	return withAdvice(a.Err, a.Exit, signin.TimeoutHint(p, o.noBrowser))
}

// loginFlow is the sign-in `login` (and setup) runs: over the config's
// network, which it records, announced on stderr; without a browser here,
// the user pastes the address a browser elsewhere was sent back to.
func loginFlow(e *Env, cfg *config.File, store *keychain.Store, p config.Profile, o loginOptions) (*signin.Flow, error) {
	network, err := netconf.FromConfig(cfg)
	if err != nil {
		return nil, networkError(cfg, err)
	}
	lines := o.lines
	if lines == nil {
		lines = newLineReader(e.Stdin) // read only by a remote sign-in
	}
	return &signin.Flow{
		Store:        store,
		ClientSecret: e.Getenv("SFMCP_CLIENT_SECRET"),
		Network:      network,
		HTTPClient:   e.snowflakeHTTP(),
		Timeout:      o.timeout,
		Remote:       o.noBrowser,
		Announce: func(startURL, authURL string) {
			for _, line := range signin.Instructions(p, startURL, authURL, o.noBrowser) {
				fmt.Fprintln(e.Stderr, line) // on their own lines, to be copied
			}
		},
		Open:   e.opener(),
		Paste:  lines.next,
		Device: o.device,
		ShowCode: func(c oauth.DeviceCode) {
			for _, line := range signin.CodeInstructions(p, c) {
				fmt.Fprintln(e.Stderr, line)
			}
		},
		PasteRefused: func(err error) {
			fmt.Fprintf(e.Stderr, "sfmcp: %v; paste the whole address from the browser's address bar\n", err)
		},
	}, nil
}

// opener is how this process opens a browser.
func (e *Env) opener() func(url string) error {
	if e.OpenBrowser != nil {
		return e.OpenBrowser
	}
	return browser.OpenURL
}

// signInError words a failed sign-in of profile: its exit code and the
// next step (signin.Advise).
func signInError(profile string, err error) error {
	a := signin.Advise(profile, err)
	if a.Exit == exitcode.OK {
		return a.Err
	}
	return withAdvice(a.Err, a.Exit, a.Hint)
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
		// Say what happened: a profile with no sign-in was not signed in.
		_, had := store.Credential(name)
		if err := store.DeleteCredential(name); err != nil {
			return fmt.Errorf("sign out of profile %s: %w", name, err)
		}
		notifyDaemon(ctx, e, name)
		if errors.Is(had, keychain.ErrNotFound) {
			fmt.Fprintf(e.Stdout, "Profile %s was not signed in.\n", name)
			continue
		}
		fmt.Fprintf(e.Stdout, "Logged out of profile %s.\n", name)
	}
	return nil
}
