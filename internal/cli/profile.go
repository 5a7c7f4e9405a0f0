package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/onboard"
	"github.com/sfmcp/sfmcp/internal/signin"
)

func newProfileCommand(e *Env) *cobra.Command {
	c := group("profile COMMAND", "Manage profiles", newProfileAddCommand(e), newProfileListCommand(e), newProfileShowCommand(e),
		newProfileSetCommand(e), newProfileUnsetCommand(e), newProfileRemoveCommand(e), newProfileDefaultCommand(e), newProfileSetSecretCommand(e))
	c.Long = `A profile names a Snowflake account, the OAuth client to sign in with, and a
role. Profiles live in the config file (~/.config/sfmcp/config.toml); their
secrets live in the keychain.`
	return c
}

type profileAddOptions struct {
	p                               config.Profile
	connection                      string
	secretStdin, makeDefault, force bool
	url                             string // the MCP server's, which says the rest
	server                          string // DB.SCHEMA.NAME, from url
}

func newProfileAddCommand(e *Env) *cobra.Command {
	var o profileAddOptions
	c := &cobra.Command{
		Use:   "add NAME --account ORGNAME-ACCOUNTNAME | --url MCP_SERVER_URL",
		Short: "Add a profile",
		Long: `Add a profile: the Snowflake account, the OAuth client to sign in with, and
a role. With --url, the MCP server's URL says the rest: the account's host,
the server (remembered in the profile's mcp_servers), and where to sign in,
which the server's metadata names (RFC 9728): Snowflake's own OAuth, or the
identity provider an administrator bound it to (then --client-id is
needed). A role given with --role or --scope beats the one the server's
scopes name. Before a profile signs in at an identity provider you did not
name with --issuer, you are asked on a terminal (without one it is refused),
unless the system file's allowed_issuers decides. An existing profile is
refused: change its settings with profile set and profile unset
(--force, kept for scripts, changes only the settings given, as profile
set does).`,
		Example: `  sfmcp-token profile add prod --account myorg-myaccount --role ANALYST --default
  # everything from the MCP server's URL
  sfmcp-token profile add corp --client-id 0oa123 \
      --url https://myorg-myaccount.snowflakecomputing.com/api/v2/databases/DB/schemas/S/mcp-servers/X
  sfmcp-token profile add prod --connection default   # from the Snowflake CLI
  printf %s "$SECRET" | sfmcp-token profile add prod --account myorg-myaccount \
      --client-id ABC --client-type confidential --client-secret-stdin
  # the account takes its MCP tokens from the organisation's identity provider
  sfmcp-token profile add corp --issuer https://example.okta.com/oauth2/aus123 \
      --client-id 0oa123 --account myorg-myaccount --role MCP_USERS`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.p.Name = args[0]
			return runProfileAdd(cmd.Context(), e, o, cmd.Flags().Changed)
		},
	}
	profileSettingFlags(c, &o.p)
	f := c.Flags()
	f.StringVar(&o.url, "url", "", "the MCP server's URL: the account's host, the server and where to sign in are found from it")
	f.BoolVar(&o.secretStdin, "client-secret-stdin", false, "read the confidential client's secret from stdin into the keychain")
	f.StringVar(&o.connection, "connection", "", "take account, user and role from a Snowflake CLI connection")
	f.BoolVar(&o.makeDefault, "default", false, "make this the default profile")
	f.BoolVar(&o.force, "force", false, "change an existing profile: only the settings whose flags are given (as profile set)")
	return c
}

func runProfileAdd(ctx context.Context, e *Env, o profileAddOptions, changed func(flag string) bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	given := func(key string) bool { return changed(settingFlag(key)) }
	if o.url != "" {
		if given, err = profileFromURL(ctx, e, cfg, &o, given); err != nil {
			return err
		}
	}
	p, existed, err := cfg.Add(config.Change{Profile: o.p, Given: given, Replace: o.force, Connection: o.connection, Getenv: e.Getenv,
		Secret: o.secretStdin, Default: o.makeDefault})
	var exists *config.ExistsError
	var locked *config.DefaultLockedError
	switch {
	case errors.As(err, &exists):
		return usagef(fmt.Sprintf("to change only the settings you name: sfmcp-token profile set %[1]s --FLAG VALUE; to store its client secret: sfmcp-token profile set-secret %[1]s --client-secret-stdin", p.Name), "%v", err)
	case errors.Is(err, config.ErrPublicClientSecret):
		return usagef("drop --client-secret-stdin, or give --client-id of a confidential integration", "%v", err)
	case errors.As(err, &locked):
		return usagef("drop --default", "%v", err)
	case err != nil:
		hint, _ := issuerRefusal(err)
		return usagef(hint, "%v", err)
	}
	if _, err := signin.Scopes(p); err != nil {
		return usagef("e.g. --idp okta", "%v", err)
	}
	if o.server != "" && !slices.Contains(p.MCPServers, o.server) {
		p.MCPServers = append(p.MCPServers, o.server) // --force keeps the others
		if err := cfg.Put(p); err != nil {
			return usagef("", "%v", err)
		}
	}
	if o.secretStdin {
		if err := storeClientSecret(ctx, e, cfg, p.Name); err != nil {
			return err
		}
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	notifyDaemon(ctx, e, p.Name)
	ep, _ := p.Endpoint()
	verb := map[bool]string{false: "saved", true: "updated"}[existed]
	at := ""
	if p.IsIdP() {
		at = ", signs in at " + p.Issuer
	}
	if o.server != "" {
		at += "; MCP server " + o.server
	}
	fmt.Fprintf(e.Stdout, "Profile %s %s (%s, client %s%s). Next: sfmcp-token login --profile %s\n", p.Name, verb, ep.Host, p.ClientLabel(), at, p.Name)
	return nil
}

// profileFromURL lays what the MCP server at o.url says over o's profile:
// the account's host, the server, where it takes its tokens from and the
// role its scopes name; the returned given names those settings too. An
// identity provider the user did not name (--issuer) is signed in at only
// with a yes (onboard.TrustIssuer).
func profileFromURL(ctx context.Context, e *Env, cfg *config.File, o *profileAddOptions, given func(string) bool) (func(string) bool, error) {
	if o.connection != "" {
		return nil, usagef("", "give --url or --connection, not both")
	}
	if _, exists := cfg.Profiles[o.p.Name]; exists && !o.force {
		return given, nil // refused as it exists, before anything is asked
	}
	// Before anything goes to the URL's host: is it one the user may sign
	// in at (a host typed with --host is the user's own choice)?
	if a, err := config.ParseMCPServerURL(o.url); err == nil && !given("host") {
		if err := trustURLHost(ctx, e, a.Endpoint); err != nil {
			return nil, err
		}
	}
	srv, err := discoverServer(ctx, e, o.url)
	if err != nil {
		return nil, err
	}
	base := o.p
	old, exists := cfg.Profiles[base.Name]
	if exists && base.Account == "" && base.Host == "" && old.CheckServerURL(srv.Address.URL) == nil {
		base.Account, base.Host = old.Account, old.Host // --force: already on the server's host
	}
	p, err := srv.Address.OnHost(base)
	if err != nil {
		return nil, usagef("drop --account and --host: the URL names the account's host", "%v", err)
	}

	if p, err = srv.Resource.Apply(p); err != nil {
		return nil, usagef("drop --issuer: the MCP server says where it takes its tokens from", "%v", err)
	}
	if p.IsIdP() && !given("issuer") && !(exists && idp.SameIssuer(old.Issuer, p.Issuer)) {
		var trust func(context.Context, string) (bool, error)
		if ask := terminalQuestion(e); ask != nil {
			trust = func(ctx context.Context, issuer string) (bool, error) {
				answer, err := ask(ctx, trustQuestion(issuer))
				return yes(strings.TrimSpace(answer)), err
			}
		}
		if err := onboard.TrustIssuer(ctx, cfg, p.Issuer, trust); err != nil {
			if hint, ok := issuerRefusal(err); ok {
				return nil, usagef(hint, "profile add: %v", err)
			}
			return nil, err
		}
	}
	p.MCPServers = []string{srv.Address.Server}
	// A role the profile has (--force keeps what is not given) beats the
	// server's too.
	hasRole := exists && !given("role") && !given("scopes") && (old.Role != "" || len(old.Scopes) > 0)
	derived := map[string]bool{"account": true, "host": true, "issuer": true, "idp": true, "audience": true, "role": p.Role != o.p.Role && !hasRole}
	o.p, o.server = p, srv.Address.Server
	return func(key string) bool { return derived[key] || given(key) }, nil
}

// storeClientSecret reads the client secret from stdin into the store:
// piped, or typed on a terminal without echo.
func storeClientSecret(ctx context.Context, e *Env, cfg *config.File, profile string) error {
	var secret string
	var err error
	if f, ok := terminalStdin(e); ok {
		if secret, err = typedSecret(ctx, e, f, "Client secret for profile "+profile+" (not shown): "); err != nil {
			return err
		}
		if secret == "" {
			return usagef("", "no client secret given")
		}
	} else if secret, err = readSecret(e.Stdin); err != nil {
		return err
	}
	store, err := openStore(e, cfg)
	if err != nil {
		return err
	}
	warnFileStore(e, store)
	p, err := cfg.Profile(profile)
	if err != nil {
		return err
	}
	if err := store.SaveClientSecret(profile, secret, p.SecretBinding()); err != nil {
		return fmt.Errorf("store the client secret for profile %s: %w", profile, err)
	}
	return nil
}

// typedSecret reads a secret typed on the terminal f without echo, after
// prompt, its surrounding whitespace removed.
func typedSecret(ctx context.Context, e *Env, f *os.File, prompt string) (string, error) {
	fmt.Fprint(e.Stderr, prompt)
	typed, err := readHidden(ctx, f)
	fmt.Fprintln(e.Stderr)
	return strings.TrimSpace(string(typed)), err
}

func newProfileSetSecretCommand(e *Env) *cobra.Command {
	var fromStdin bool
	c := &cobra.Command{
		Use:   "set-secret NAME --client-secret-stdin",
		Short: "Store a confidential client's secret for a profile",
		Long: `Read the OAuth client secret of a confidential integration from stdin into
the keychain, for an existing profile. Nothing else about the profile
changes. The secret never goes on a command line or into the config.`,
		Example:           `  printf %s "$SECRET" | sfmcp-token profile set-secret corp --client-secret-stdin`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !fromStdin {
				return usagef(`e.g. printf %s "$SECRET" | sfmcp-token profile set-secret `+args[0]+` --client-secret-stdin`, "profile set-secret: pass --client-secret-stdin and the secret on stdin (never on the command line)")
			}
			return runProfileSetSecret(cmd.Context(), e, args[0])
		},
	}
	c.Flags().BoolVar(&fromStdin, "client-secret-stdin", false, "read the secret from stdin (required)")
	return c
}

func runProfileSetSecret(ctx context.Context, e *Env, name string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	p, err := cfg.Profile(name)
	if err != nil {
		return err
	}
	if !p.Confidential() {
		return usagef("a public client signs in with PKCE alone; if the integration really is confidential: sfmcp-token profile set "+name+" --client-type confidential",
			"profile %s uses a public client (%s), which has no secret", name, p.ClientLabel())
	}
	if err := storeClientSecret(ctx, e, cfg, name); err != nil {
		return err
	}
	notifyDaemon(ctx, e, name)
	fmt.Fprintf(e.Stdout, "Stored the client secret of profile %s. Next: sfmcp-token login --profile %s\n", name, name)
	return nil
}

// readSecret reads one secret from stdin: at most 4 KiB, surrounding
// whitespace (the newline of echo) removed.
func readSecret(r io.Reader) (string, error) {
	if r == nil {
		return "", usagef("", "no stdin to read the client secret from")
	}
	data, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), 4097))
	if err != nil {
		return "", fmt.Errorf("read the client secret from stdin: %w", err)
	}
	if len(data) > 4096 {
		return "", usagef("", "the client secret on stdin is longer than 4 KiB; pipe only the secret")
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", usagef(`e.g. printf %s "$SECRET" | sfmcp-token profile set-secret NAME --client-secret-stdin`, "no client secret on stdin")
	}
	return s, nil
}

func newProfileListCommand(e *Env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "list",
		Short:   "List the profiles (* marks the default)",
		Example: "  sfmcp-token profile list --json",
		Args:    noArgs,
		RunE:    func(*cobra.Command, []string) error { return runProfileList(e, asJSON) },
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func runProfileList(e *Env, asJSON bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	views := []config.View{}
	for _, name := range cfg.Names() {
		views = append(views, profileView(cfg, cfg.Profiles[name]))
	}
	if asJSON {
		return writeJSON(e, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(e.Stderr, "No profiles yet. Run: sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tENDPOINT\tCLIENT\tROLE")
	for _, v := range views {
		mark := ""
		if v.Default {
			mark = " *"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", v.Name, mark, v.Endpoint, v.ClientLabel(), v.Role)
	}
	return tw.Flush()
}

func newProfileShowCommand(e *Env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:               "show [NAME]",
		Short:             "Show a profile (default: the default profile)",
		Example:           "  sfmcp-token profile show prod",
		Args:              profileArg,
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(_ *cobra.Command, args []string) error {
			return runProfileShow(e, profileFrom("", args), asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func runProfileShow(e *Env, name string, asJSON bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	p, err := selectProfile(e, cfg, name)
	if err != nil {
		return err
	}
	v := profileView(cfg, p)
	if asJSON {
		return writeJSON(e, v)
	}
	fmt.Fprintf(e.Stdout, "profile:      %s%s\n", p.Name, map[bool]string{true: " (default)"}[v.Default])
	fmt.Fprintf(e.Stdout, "endpoint:     %s\n", v.Endpoint)
	fmt.Fprintf(e.Stdout, "client:       %s\n", p.ClientLabel())
	if p.RedirectURI != "" {
		fmt.Fprintf(e.Stdout, "redirect_uri: %s\n", p.RedirectURI)
	}
	fmt.Fprintf(e.Stdout, "scopes:       %s\n", strings.Join(v.Scopes, " "))
	if len(v.Sources) > 0 {
		fmt.Fprintln(e.Stdout, "sources:")
		for _, field := range config.SourceKeys {
			if src, ok := v.Sources[field]; ok {
				lock := ""
				if v.Locked {
					lock = " (locked)"
				}
				fmt.Fprintf(e.Stdout, "  %-13s %s%s\n", field+":", src, lock)
			}
		}
	}
	return nil
}

func newProfileDefaultCommand(e *Env) *cobra.Command {
	return &cobra.Command{
		Use:               "default NAME",
		Short:             "Make a profile the default",
		Example:           "  sfmcp-token profile default prod",
		Args:              exactArgs(1),
		ValidArgsFunction: completeProfileArg(e),
		RunE:              func(_ *cobra.Command, args []string) error { return runProfileDefault(e, args[0]) },
	}
}

func runProfileDefault(e *Env, name string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	var locked *config.DefaultLockedError
	if err := cfg.SetDefault(name); errors.As(err, &locked) {
		return usagef("", "the default profile is set by %s (%s) and cannot be changed here; name a profile with --profile instead", locked.File, cfg.DefaultProfile)
	} else if err != nil {
		return err
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "Profile %s is now the default.\n", name)
	return nil
}

func writeJSON(e *Env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// profileView is p as profile list and show give it, with the scopes its
// sign-in asks for (an identity provider's own form of them).
func profileView(cfg *config.File, p config.Profile) config.View {
	v := cfg.View(p)
	if scopes, err := signin.Scopes(p); err == nil {
		v.Scopes = scopes
	}
	return v
}
