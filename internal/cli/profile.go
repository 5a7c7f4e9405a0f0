package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
)

func newProfileCommand(e *Env) *cobra.Command {
	c := group("profile COMMAND", "Manage profiles", newProfileAddCommand(e), newProfileListCommand(e), newProfileShowCommand(e),
		newProfileRemoveCommand(e), newProfileDefaultCommand(e), newProfileSetSecretCommand(e))
	c.Long = `A profile names a Snowflake account, the OAuth client to sign in with, and a
role. Profiles live in the config file (~/.config/sfmcp/config.toml); their
secrets live in the keychain.`
	return c
}

type profileAddOptions struct {
	p                               config.Profile
	connection                      string
	secretStdin, makeDefault, force bool
}

func newProfileAddCommand(e *Env) *cobra.Command {
	var o profileAddOptions
	c := &cobra.Command{
		Use:   "add NAME --account ORGNAME-ACCOUNTNAME",
		Short: "Add a profile (or change one with --force)",
		Example: `  sfmcp-token profile add prod --account myorg-myaccount --role ANALYST --default
  sfmcp-token profile add prod --connection default   # from the Snowflake CLI
  printf %s "$SECRET" | sfmcp-token profile add prod --account myorg-myaccount \
      --client-id ABC --client-type confidential --client-secret-stdin`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.p.Name = args[0]
			return runProfileAdd(cmd.Context(), e, o, cmd.Flags().Changed)
		},
	}
	f := c.Flags()
	f.StringVar(&o.p.Account, "account", "", "Snowflake account: orgname-accountname, a legacy locator, or a URL")
	f.StringVar(&o.p.Host, "host", "", "host[:port] override (https; http only for loopback)")
	f.StringVar(&o.p.ClientID, "client-id", "", "OAuth client id of a custom integration (default: SNOWFLAKE$LOCAL_APPLICATION)")
	f.StringVar(&o.p.ClientType, "client-type", "", "public or confidential (custom integrations; default confidential)")
	f.StringVar(&o.p.RedirectURI, "redirect-uri", "", "the integration's loopback OAUTH_REDIRECT_URI, e.g. http://127.0.0.1:3000/oauth/callback")
	f.StringVar(&o.p.Role, "role", "", "role for the session (scope session:role:ROLE)")
	f.StringVar(&o.p.User, "user", "", "the Snowflake user who must sign in; a sign-in as anyone else is refused")
	stringsFlag(f, &o.p.Scopes, "scope", "extra scope (repeatable)")
	f.BoolVar(&o.secretStdin, "client-secret-stdin", false, "read the confidential client's secret from stdin into the keychain")
	f.StringVar(&o.connection, "connection", "", "take account, user and role from a Snowflake CLI connection")
	f.BoolVar(&o.makeDefault, "default", false, "make this the default profile")
	f.BoolVar(&o.force, "force", false, "change an existing profile: only the settings whose flags are given")
	_ = c.RegisterFlagCompletionFunc("client-type", cobra.FixedCompletions([]cobra.Completion{config.ClientPublic, config.ClientConfidential}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runProfileAdd(ctx context.Context, e *Env, o profileAddOptions, changed func(flag string) bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	p := o.p
	old, exists := cfg.Profiles[p.Name]
	if exists && !o.force {
		ep, _ := old.Endpoint()
		return usagef(fmt.Sprintf("to change only the settings you name: sfmcp-token profile add %[1]s --force --FLAG VALUE; to store its client secret: sfmcp-token profile set-secret %[1]s --client-secret-stdin", p.Name),
			"profile %s already exists (%s, client %s); nothing was changed", p.Name, ep.Host, clientLabel(old))
	}
	if exists {
		p = mergeProfile(old, o.p, changed)
	}
	if o.connection != "" || (!exists && p.Account == "" && p.Host == "" && e.Getenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME") != "") {
		c, err := config.SnowflakeCLIConnection(o.connection, e.Getenv)
		if err != nil {
			return usagef("", "%v", err)
		}
		// The connection fills what no flag names.
		for _, f := range []struct {
			flag     string
			dst      *string
			fromConn string
		}{{"account", &p.Account, c.Account}, {"host", &p.Host, c.Host}, {"role", &p.Role, c.Role}, {"user", &p.User, c.User}} {
			if !changed(f.flag) && f.fromConn != "" {
				*f.dst = f.fromConn
			}
		}
	}
	if p.ClientType != "" {
		p.ClientType = strings.ToLower(p.ClientType)
	}
	if o.secretStdin {
		if p.IsLocalApplication() || p.ClientType == config.ClientPublic {
			return usagef("drop --client-secret-stdin, or give --client-id of a confidential integration", "profile %s: a public client has no secret", p.Name)
		}
		p.ClientType = config.ClientConfidential
	}
	if err := cfg.Put(p); err != nil {
		return usagef("", "%v", err)
	}
	if o.makeDefault {
		if file, locked := cfg.Source("default_profile"); locked {
			return usagef("drop --default", "the default profile is set by %s and cannot be changed here", file)
		}
		cfg.DefaultProfile = p.Name
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
	verb := "saved"
	if exists {
		verb = "updated"
	}
	fmt.Fprintf(e.Stdout, "Profile %s %s (%s, client %s). Next: sfmcp-token login --profile %s\n", p.Name, verb, ep.Host, clientLabel(p), p.Name)
	return nil
}

// mergeProfile changes only the settings whose flags were given. A new
// account without a new host drops the old host override, which belonged
// to the old account.
func mergeProfile(old, given config.Profile, changed func(string) bool) config.Profile {
	p := old
	for _, f := range []struct {
		flag     string
		dst      *string
		newValue string
	}{{"account", &p.Account, given.Account}, {"host", &p.Host, given.Host}, {"client-id", &p.ClientID, given.ClientID},
		{"client-type", &p.ClientType, given.ClientType}, {"redirect-uri", &p.RedirectURI, given.RedirectURI},
		{"role", &p.Role, given.Role}, {"user", &p.User, given.User}} {
		if changed(f.flag) {
			*f.dst = f.newValue
		}
	}
	if changed("account") && !changed("host") && given.Account != old.Account {
		p.Host = ""
	}
	if changed("scope") {
		p.Scopes = given.Scopes
	}
	return p
}

// storeClientSecret reads the client secret from stdin into the store:
// piped, or typed on a terminal without echo.
func storeClientSecret(ctx context.Context, e *Env, cfg *config.File, profile string) error {
	var secret string
	if f, ok := terminalStdin(e); ok {
		fmt.Fprintf(e.Stderr, "Client secret for profile %s (not shown): ", profile)
		typed, err := readHidden(ctx, f)
		fmt.Fprintln(e.Stderr)
		if err != nil {
			return err
		}
		if secret = strings.TrimSpace(string(typed)); secret == "" {
			return usagef("", "no client secret given")
		}
	} else {
		var err error
		if secret, err = readSecret(e.Stdin); err != nil {
			return err
		}
	}
	store, err := openStore(e, cfg)
	if err != nil {
		return err
	}
	warnFileStore(e, store)
	if err := store.SaveClientSecret(profile, secret); err != nil {
		return fmt.Errorf("store the client secret for profile %s: %w", profile, err)
	}
	return nil
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
		return usagef("a public client signs in with PKCE alone; if the integration really is confidential: sfmcp-token profile add "+name+" --force --client-type confidential",
			"profile %s uses a public client (%s), which has no secret", name, clientLabel(p))
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

func clientLabel(p config.Profile) string {
	if p.IsLocalApplication() {
		return "SNOWFLAKE$LOCAL_APPLICATION"
	}
	kind := config.ClientConfidential
	if !p.Confidential() {
		kind = config.ClientPublic
	}
	return p.ClientID + " (" + kind + ")"
}

// profileView is the --json shape of a profile.
type profileView struct {
	config.Profile
	Default  bool              `json:"default"`
	Endpoint string            `json:"endpoint"`
	Scopes   []string          `json:"requested_scopes"`
	Sources  map[string]string `json:"sources,omitempty"` // setting → the file it comes from
	Locked   bool              `json:"locked,omitempty"`  // the system file locks this profile
}

func viewOf(cfg *config.File, p config.Profile) profileView {
	ep, _ := p.Endpoint()
	v := profileView{Profile: p, Default: cfg.DefaultProfile == p.Name, Endpoint: ep.URL(), Scopes: p.OAuthScopes()}
	// With a system file, say which file each setting comes from.
	if cfg.SystemPath() != "" {
		v.Sources = map[string]string{}
		set := map[string]bool{"account": p.Account != "", "host": p.Host != "", "client_id": p.ClientID != "", "client_type": p.ClientType != "",
			"redirect_uri": p.RedirectURI != "", "role": p.Role != "", "mcp_servers": len(p.MCPServers) > 0}
		for field, ok := range set {
			if ok {
				v.Sources[field], v.Locked = cfg.Source("profiles." + p.Name + "." + field)
			}
		}
	}
	return v
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
	views := []profileView{}
	for _, name := range cfg.Names() {
		views = append(views, viewOf(cfg, cfg.Profiles[name]))
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
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", v.Name, mark, v.Endpoint, clientLabel(v.Profile), v.Role)
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
	v := viewOf(cfg, p)
	if asJSON {
		return writeJSON(e, v)
	}
	fmt.Fprintf(e.Stdout, "profile:      %s%s\n", p.Name, map[bool]string{true: " (default)"}[v.Default])
	fmt.Fprintf(e.Stdout, "endpoint:     %s\n", v.Endpoint)
	fmt.Fprintf(e.Stdout, "client:       %s\n", clientLabel(p))
	if p.RedirectURI != "" {
		fmt.Fprintf(e.Stdout, "redirect_uri: %s\n", p.RedirectURI)
	}
	fmt.Fprintf(e.Stdout, "scopes:       %s\n", strings.Join(v.Scopes, " "))
	if len(v.Sources) > 0 {
		fmt.Fprintln(e.Stdout, "sources:")
		for _, field := range []string{"account", "host", "client_id", "client_type", "redirect_uri", "role", "mcp_servers"} {
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

func newProfileRemoveCommand(e *Env) *cobra.Command {
	return &cobra.Command{
		Use:               "remove NAME",
		Short:             "Remove a profile and its keychain entries",
		Example:           "  sfmcp-token profile remove old",
		Args:              exactArgs(1),
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfileRemove(cmd.Context(), e, args[0])
		},
	}
}

func runProfileRemove(ctx context.Context, e *Env, name string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.FromSystem(name) {
		file, _ := cfg.Source("profiles." + name)
		return usagef("your organisation's profiles stay; sign out instead: sfmcp-token logout "+name, "profile %s comes from %s and cannot be removed here", name, file)
	}
	if !cfg.Remove(name) {
		return fmt.Errorf("%w: %q", config.ErrNoProfile, name)
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	// Forget its secrets too; a keychain that cannot be reached now leaves
	// entries behind, which the user is told about.
	store, err := openStore(e, cfg)
	if err == nil {
		err = errors.Join(store.DeleteCredential(name), store.DeleteClientSecret(name))
	}
	notifyDaemon(ctx, e, name)
	fmt.Fprintf(e.Stdout, "Profile %s removed.\n", name)
	if err != nil {
		return withAdvice(fmt.Errorf("profile %s removed from the config, but its keychain entries could not be deleted: %w", name, err), exitcode.Unavailable, exitcode.KeychainAdvice())
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
	if _, err := cfg.Profile(name); err != nil {
		return err
	}
	if file, locked := cfg.Source("default_profile"); locked {
		return usagef("", "the default profile is set by %s (%s) and cannot be changed here; name a profile with --profile instead", file, cfg.DefaultProfile)
	}
	cfg.DefaultProfile = name
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
