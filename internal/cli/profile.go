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

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
)

func runProfile(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("run: sfmcp-token profile add|list|show|remove|default", "profile: missing subcommand")
	}
	switch args[0] {
	case "add":
		return runProfileAdd(ctx, e, args[1:])
	case "list":
		return runProfileList(e, args[1:])
	case "show":
		return runProfileShow(e, args[1:])
	case "remove":
		return runProfileRemove(ctx, e, args[1:])
	case "default":
		return runProfileDefault(e, args[1:])
	}
	return usagef("run: sfmcp-token profile add|list|show|remove|default", "profile: unknown subcommand %q", args[0])
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runProfileAdd(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "profile add NAME")
	var p config.Profile
	var scopes stringList
	var secretStdin, makeDefault bool
	var connection string
	fs.StringVar(&p.Account, "account", "", "Snowflake account: orgname-accountname, a legacy locator, or a URL")
	fs.StringVar(&p.Host, "host", "", "host[:port] override (https; http only for loopback)")
	fs.StringVar(&p.ClientID, "client-id", "", "OAuth client id of a custom integration (default: SNOWFLAKE$LOCAL_APPLICATION)")
	fs.StringVar(&p.ClientType, "client-type", "", "public or confidential (custom integrations; default confidential)")
	fs.StringVar(&p.RedirectURI, "redirect-uri", "", "the integration's loopback OAUTH_REDIRECT_URI, e.g. http://127.0.0.1:3000/oauth/callback")
	fs.StringVar(&p.Role, "role", "", "role for the session (scope session:role:ROLE)")
	fs.StringVar(&p.User, "user", "", "the Snowflake user who must sign in; a sign-in as anyone else is refused")
	fs.Var(&scopes, "scope", "extra scope (repeatable)")
	fs.BoolVar(&secretStdin, "client-secret-stdin", false, "read the confidential client's secret from stdin into the keychain")
	fs.StringVar(&connection, "connection", "", "take account, user and role from a Snowflake CLI connection")
	fs.BoolVar(&makeDefault, "default", false, "make this the default profile")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run: sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME", "profile add: give exactly one profile name")
	}
	p.Name = pos[0]
	p.Scopes = scopes
	if connection != "" || (p.Account == "" && p.Host == "" && e.Getenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME") != "") {
		c, err := config.SnowflakeCLIConnection(connection, e.Getenv)
		if err != nil {
			return usagef("", "%v", err)
		}
		p.Account = firstNonEmpty(p.Account, c.Account)
		p.Host = firstNonEmpty(p.Host, c.Host)
		p.Role = firstNonEmpty(p.Role, c.Role)
		p.User = c.User
	}
	if p.ClientType != "" {
		p.ClientType = strings.ToLower(p.ClientType)
	}
	if secretStdin {
		if p.IsLocalApplication() || p.ClientType == config.ClientPublic {
			return usagef("drop --client-secret-stdin, or give --client-id of a confidential integration", "profile %s: a public client has no secret", p.Name)
		}
		p.ClientType = config.ClientConfidential
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if err := cfg.Put(p); err != nil {
		return usagef("", "%v", err)
	}
	if makeDefault {
		cfg.DefaultProfile = p.Name
	}
	if secretStdin {
		secret, err := readSecret(e.Stdin)
		if err != nil {
			return err
		}
		store, err := openStore(e, cfg)
		if err != nil {
			return err
		}
		warnFileStore(e, store)
		if err := store.SaveClientSecret(p.Name, secret); err != nil {
			return fmt.Errorf("store the client secret for profile %s: %w", p.Name, err)
		}
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	notifyDaemon(ctx, e, p.Name)
	ep, _ := p.Endpoint()
	fmt.Fprintf(e.Stdout, "Profile %s saved (%s, client %s). Next: sfmcp-token login --profile %s\n", p.Name, ep.Host, clientLabel(p), p.Name)
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
		return "", usagef(`e.g. printf %s "$SECRET" | sfmcp-token profile add NAME ... --client-secret-stdin`, "no client secret on stdin")
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

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// profileView is the --json shape of a profile.
type profileView struct {
	config.Profile
	Default  bool     `json:"default"`
	Endpoint string   `json:"endpoint"`
	Scopes   []string `json:"requested_scopes"`
}

func viewOf(cfg *config.File, p config.Profile) profileView {
	ep, _ := p.Endpoint()
	return profileView{Profile: p, Default: cfg.DefaultProfile == p.Name, Endpoint: ep.URL(), Scopes: p.OAuthScopes()}
}

func runProfileList(e *Env, args []string) error {
	fs := newFlags(e, "profile list")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	views := []profileView{}
	for _, name := range cfg.Names() {
		views = append(views, viewOf(cfg, cfg.Profiles[name]))
	}
	if *asJSON {
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

func runProfileShow(e *Env, args []string) error {
	fs := newFlags(e, "profile show [NAME]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	name := ""
	if len(pos) > 0 {
		name = pos[0]
	}
	p, err := selectProfile(e, cfg, name)
	if err != nil {
		return err
	}
	v := viewOf(cfg, p)
	if *asJSON {
		return writeJSON(e, v)
	}
	fmt.Fprintf(e.Stdout, "profile:      %s%s\n", p.Name, map[bool]string{true: " (default)"}[v.Default])
	fmt.Fprintf(e.Stdout, "endpoint:     %s\n", v.Endpoint)
	fmt.Fprintf(e.Stdout, "client:       %s\n", clientLabel(p))
	if p.RedirectURI != "" {
		fmt.Fprintf(e.Stdout, "redirect_uri: %s\n", p.RedirectURI)
	}
	fmt.Fprintf(e.Stdout, "scopes:       %s\n", strings.Join(v.Scopes, " "))
	return nil
}

func runProfileRemove(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "profile remove NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run: sfmcp-token profile remove NAME", "profile remove: give exactly one profile name")
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	name := pos[0]
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

func runProfileDefault(e *Env, args []string) error {
	fs := newFlags(e, "profile default NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run: sfmcp-token profile default NAME", "profile default: give exactly one profile name")
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if _, err := cfg.Profile(pos[0]); err != nil {
		return err
	}
	cfg.DefaultProfile = pos[0]
	return cfg.Save()
}

func writeJSON(e *Env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
