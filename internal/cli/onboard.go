package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpjson"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/packaging"
)

// `setup` is a user's one command: profile, sign-in, the MCP server for
// Claude Code, optionally the service, then doctor, and one summary. Each
// step does nothing when it is already done, so running it twice changes
// nothing.

type setupOptions struct {
	from      string
	in        config.Onboarding // from the flags
	mcpName   string
	project   bool
	service   bool
	noBrowser bool
	timeout   time.Duration
	yes       bool
}

func newSetupCommand(e *Env) *cobra.Command {
	var o setupOptions
	c := &cobra.Command{
		Use:   "setup [--from FILE] [--profile P --account A ...] [--server DB.SCHEMA.NAME]",
		Short: "Set up in one go: profile, sign-in, MCP server, checks",
		Long: `Do everything a new user needs, in order: add the profile, sign in through
the browser, add the MCP server to Claude Code (user scope, or the project's
.mcp.json with --project), optionally install the service, and run doctor.

It takes what your administrator handed out (--from, the file that
"admin setup --onboarding-file" writes) and flags, which win over the file.
On a terminal it asks only for what is missing; with --yes, or without a
terminal, it asks nothing. Every step that is already done is left as it
is, so running setup again changes nothing.`,
		Example: `  sfmcp-token setup --from sfmcp-onboarding.toml
  sfmcp-token setup --profile team --account myorg-myaccount --role MCP_USERS --server DB.PUBLIC.GONG_MCP
  sfmcp-token setup --from sfmcp-onboarding.toml --no-browser   # over SSH`,
		Args: noArgs,
		RunE: longRunning(func(ctx context.Context, _ []string) error {
			return runSetup(ctx, e, o)
		}),
	}
	f := c.Flags()
	f.StringVar(&o.from, "from", "", "the onboarding file from your administrator")
	addProfileFlag(c, e, &o.in.Profile, "the profile to set up (default: the file's, else \"snowflake\")")
	f.StringVar(&o.in.Account, "account", "", "Snowflake account: orgname-accountname")
	f.StringVar(&o.in.Host, "host", "", "host[:port] override (https; http only for loopback)")
	f.StringVar(&o.in.ClientID, "client-id", "", "OAuth client id of the integration (default: SNOWFLAKE$LOCAL_APPLICATION)")
	f.StringVar(&o.in.ClientType, "client-type", "", "public or confidential")
	f.StringVar(&o.in.RedirectURI, "redirect-uri", "", "the integration's loopback redirect URI")
	f.StringVar(&o.in.Role, "role", "", "role for the session")
	f.StringVar(&o.in.MCPServer, "server", "", "the MCP server: DATABASE.SCHEMA.NAME")
	f.StringVar(&o.mcpName, "mcp-name", "snowflake", "the name of the MCP server entry")
	f.BoolVar(&o.project, "project", false, "add the MCP server to this project's .mcp.json instead of your user configuration")
	f.BoolVar(&o.service, "service", false, "also install the service that starts the daemon at login")
	f.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser (SSH)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	f.BoolVar(&o.yes, "yes", false, "ask nothing; what is missing is an error")
	return c
}

// setupRun is one run's state: the answers so far and the summary.
type setupRun struct {
	e       *Env
	o       setupOptions
	ask     *bufio.Reader // nil: never ask
	summary []string
}

func runSetup(ctx context.Context, e *Env, o setupOptions) error {
	s := &setupRun{e: e, o: o}
	if f, ok := terminalStdin(e); ok && !o.yes {
		s.ask = bufio.NewReader(f)
	}
	in, err := s.inputs()
	if err != nil {
		return err
	}
	p, err := s.profile(in)
	if err != nil {
		return err
	}
	if err := s.signIn(ctx, p); err != nil {
		return err
	}
	mcpFile, err := s.mcpServer(p, in.MCPServer)
	if err != nil {
		return err
	}
	if err := s.serviceStep(); err != nil {
		return err
	}
	return s.finish(ctx, p, mcpFile)
}

// inputs merges the onboarding file, the flags and, on a terminal, answers.
func (s *setupRun) inputs() (config.Onboarding, error) {
	var in config.Onboarding
	if s.o.from != "" {
		var err error
		if in, err = config.LoadOnboarding(s.o.from); err != nil {
			return in, usagef("ask your administrator for a new file, or pass the settings as flags", "%v", err)
		}
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&in.Profile, s.o.in.Profile)
	override(&in.Account, s.o.in.Account)
	override(&in.Host, s.o.in.Host)
	override(&in.ClientID, s.o.in.ClientID)
	override(&in.ClientType, s.o.in.ClientType)
	override(&in.RedirectURI, s.o.in.RedirectURI)
	override(&in.Role, s.o.in.Role)
	override(&in.MCPServer, s.o.in.MCPServer)
	if in.Profile == "" {
		in.Profile = "snowflake"
	}
	if !config.ValidProfileName(in.Profile) {
		return in, usagef("use letters, digits, '.', '_' or '-'", "setup: %q is not a valid profile name", in.Profile)
	}
	cfg, err := loadConfig(s.e)
	if err != nil {
		return in, err
	}
	_, exists := cfg.Profiles[in.Profile]
	if in.Account == "" && in.Host == "" && !exists {
		if in.Account, err = s.question("Snowflake account (orgname-accountname, as in https://ORGNAME-ACCOUNTNAME.snowflakecomputing.com)"); err != nil {
			return in, err
		}
		if in.Account == "" {
			return in, usagef("pass --account ORGNAME-ACCOUNTNAME, or --from the file your administrator gave you", "setup: no account for the new profile %s", in.Profile)
		}
	}
	if in.MCPServer == "" && s.ask != nil {
		if in.MCPServer, err = s.question("MCP server to add to Claude Code (DATABASE.SCHEMA.NAME; empty to skip)"); err != nil {
			return in, err
		}
	}
	return in, nil
}

// question asks on the terminal; without one it answers "".
func (s *setupRun) question(prompt string) (string, error) {
	if s.ask == nil {
		return "", nil
	}
	fmt.Fprintf(s.e.Stderr, "%s: ", prompt)
	line, err := s.ask.ReadString('\n')
	if err != nil && line == "" {
		return "", usagef("", "setup: no answer (%v)", err)
	}
	return strings.TrimSpace(line), nil
}

func (s *setupRun) step(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(s.e.Stdout, "✓ "+line)
	s.summary = append(s.summary, line)
}

// profile adds the profile, or finds it as asked for.
func (s *setupRun) profile(in config.Onboarding) (config.Profile, error) {
	cfg, err := loadConfig(s.e)
	if err != nil {
		return config.Profile{}, err
	}
	want := in.AsProfile(in.Profile)
	if old, ok := cfg.Profiles[in.Profile]; ok {
		if diff := profileDiff(old, want); diff != "" {
			return config.Profile{}, usagef(fmt.Sprintf("to change it: sfmcp-token profile add %s --force (with the flags to change); or set up another name with --profile", in.Profile),
				"setup: profile %s already exists with other settings (%s); nothing was changed", in.Profile, diff)
		}
		ep, _ := old.Endpoint()
		s.step("profile %s: already set up (%s, client %s)", old.Name, ep.Host, clientLabel(old))
		return old, nil
	}
	if err := cfg.Put(want); err != nil {
		return config.Profile{}, usagef("", "setup: %v", err)
	}
	if cfg.DefaultProfile == "" {
		cfg.DefaultProfile = want.Name
	}
	if err := cfg.Save(); err != nil {
		return config.Profile{}, err
	}
	notifyDaemon(context.Background(), s.e, want.Name)
	ep, _ := want.Endpoint()
	s.step("profile %s: added (%s, client %s)", want.Name, ep.Host, clientLabel(want))
	return want, nil
}

// profileDiff names the settings in which want (what setup was given)
// differs from the existing profile; settings setup was not given match.
func profileDiff(old, want config.Profile) string {
	var diff []string
	oldEP, _ := old.Endpoint()
	if want.Account != "" || want.Host != "" {
		if wantEP, err := want.Endpoint(); err != nil || wantEP.Host != oldEP.Host {
			diff = append(diff, "host "+oldEP.Host)
		}
	}
	for _, f := range []struct{ name, old, want string }{
		{"client_id", old.ClientID, want.ClientID}, {"client_type", old.ClientType, want.ClientType},
		{"redirect_uri", old.RedirectURI, want.RedirectURI}, {"role", old.Role, want.Role},
	} {
		if f.want != "" && !strings.EqualFold(f.old, f.want) {
			diff = append(diff, fmt.Sprintf("%s %q, not %q", f.name, f.old, f.want))
		}
	}
	return strings.Join(diff, "; ")
}

// signIn signs in unless the profile's sign-in still works.
func (s *setupRun) signIn(ctx context.Context, p config.Profile) error {
	if p.IsPAT() {
		s.step("profile %s: uses a programmatic access token, no sign-in", p.Name)
		return nil
	}
	if err := s.clientSecret(p); err != nil {
		return err
	}
	_, err := daemonToken(ctx, s.e, client.Request{Profile: p.Name, NoSignIn: true}, "", 0)
	var ce *client.Error
	switch {
	case err == nil:
		s.step("profile %s: already signed in", p.Name)
		return nil
	case errors.As(err, &ce) && ce.Code == apitype.CodeLoginRequired:
	default:
		return daemonError(err, client.Request{Profile: p.Name})
	}
	if err := runLogin(ctx, s.e, loginOptions{profile: p.Name, noBrowser: s.o.noBrowser, timeout: s.o.timeout}); err != nil {
		return err
	}
	s.summary = append(s.summary, "profile "+p.Name+": signed in")
	return nil
}

// clientSecret makes sure a confidential client's secret is stored,
// asking for it (without echo) on a terminal.
func (s *setupRun) clientSecret(p config.Profile) error {
	if !p.Confidential() || s.e.Getenv("SFMCP_CLIENT_SECRET") != "" {
		return nil
	}
	cfg, err := loadConfig(s.e)
	if err != nil {
		return err
	}
	store, err := openStore(s.e, cfg)
	if err != nil {
		return err
	}
	if _, err := store.ClientSecret(p.Name); !errors.Is(err, keychain.ErrNotFound) {
		return err
	}
	f, ok := terminalStdin(s.e)
	if !ok || s.ask == nil {
		return usagef(fmt.Sprintf(`run: printf %%s "$SECRET" | sfmcp-token profile set-secret %s --client-secret-stdin, then setup again`, p.Name),
			"setup: profile %s is a confidential client and no client secret is stored", p.Name)
	}
	fmt.Fprintf(s.e.Stderr, "Client secret for profile %s (from your administrator; not shown): ", p.Name)
	secret, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(s.e.Stderr)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(secret)) == 0 {
		return usagef("", "setup: no client secret given")
	}
	warnFileStore(s.e, store)
	if err := store.SaveClientSecret(p.Name, string(bytes.TrimSpace(secret))); err != nil {
		return fmt.Errorf("store the client secret for profile %s: %w", p.Name, err)
	}
	s.step("profile %s: client secret stored in %s", p.Name, store.Where())
	return nil
}

// mcpServer adds the Claude Code entry (the stdio bridge), unless the same
// entry is there; it returns the file, "" when no server was given.
func (s *setupRun) mcpServer(p config.Profile, server string) (string, error) {
	if server == "" {
		s.summary = append(s.summary, "no MCP server added (give --server DB.SCHEMA.NAME to add one)")
		return "", nil
	}
	// The same checks as mcp add: a valid name, on the profile's host.
	if _, _, err := profileAndServer(s.e, p.Name, server); err != nil {
		return "", err
	}
	where := mcpFileFlags{file: ".mcp.json", user: !s.o.project}
	bin, err := clientBinary()
	if err != nil {
		return "", fmt.Errorf("find this program's path: %w", err)
	}
	entry := mcpjson.NewProxyEntry(bin, p.Name, server)
	f, err := mcpjson.Load(where.path(s.e))
	if err != nil {
		return "", usagef("", "%v", err)
	}
	_, entries, err := f.Entries()
	if err != nil {
		return "", err
	}
	if old, ok := entries[s.o.mcpName]; ok {
		if sameJSON(old, entry) {
			s.step("MCP server %s: already in %s", s.o.mcpName, f.Path)
			return f.Path, nil
		}
		return "", usagef("choose another name with --mcp-name, or remove it first: sfmcp-token mcp remove "+s.o.mcpName+map[bool]string{true: "", false: " --user"}[s.o.project],
			"setup: %s already has an MCP server %q that is not this one; nothing was changed", f.Path, s.o.mcpName)
	}
	if err := f.Set(s.o.mcpName, entry); err != nil {
		return "", err
	}
	if err := f.Save(); err != nil {
		return "", err
	}
	s.step("MCP server %s: added to %s (the stdio bridge, a fresh token per request)", s.o.mcpName, f.Path)
	if s.o.project {
		s.summary = append(s.summary, "Claude Code asks you to approve project servers: run claude and answer the prompt, or /mcp")
	}
	return f.Path, nil
}

// sameJSON reports whether raw holds the same JSON as v.
func sameJSON(raw json.RawMessage, v any) bool {
	data, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var a, b any
	return json.Unmarshal(raw, &a) == nil && json.Unmarshal(data, &b) == nil && fmt.Sprint(a) == fmt.Sprint(b)
}

// serviceStep installs the service when asked to (or answered yes).
func (s *setupRun) serviceStep() error {
	home := s.e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	unit := packaging.UnitPath(home)
	if _, err := os.Stat(unit); err == nil {
		s.step("service: already installed (%s)", unit)
		return nil
	}
	want := s.o.service
	if !want && s.ask != nil {
		answer, err := s.question("Start the daemon at login with a per-user service? (it otherwise starts on demand) [y/N]")
		if err != nil {
			return err
		}
		want = strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
	}
	if !want {
		s.summary = append(s.summary, "service: not installed; the daemon starts on demand (sfmcp-token service install to start it at login)")
		return nil
	}
	if err := runService(s.e, "install", ""); err != nil {
		return err
	}
	s.summary = append(s.summary, "service: installed ("+filepath.Base(unit)+")")
	return nil
}

// finish runs doctor and prints the summary.
func (s *setupRun) finish(ctx context.Context, p config.Profile, mcpFile string) error {
	var report bytes.Buffer
	de := *s.e
	de.Stdout = &report
	if mcpFile == "" {
		mcpFile = filepath.Join(os.TempDir(), "sfmcp-no-such-mcp-file.json")
	}
	derr := runDoctor(ctx, &de, doctorOptions{profile: p.Name, mcpFile: mcpFile})
	fmt.Fprintln(s.e.Stdout)
	fmt.Fprintln(s.e.Stdout, "Summary:")
	for _, line := range s.summary {
		fmt.Fprintln(s.e.Stdout, "  "+line)
	}
	if derr != nil {
		fmt.Fprintln(s.e.Stdout, "  doctor found problems:")
		for _, line := range strings.Split(strings.TrimSpace(report.String()), "\n") {
			if strings.HasPrefix(line, "✗") || strings.HasPrefix(line, "    →") {
				fmt.Fprintln(s.e.Stdout, "    "+line)
			}
		}
		return withAdvice(errors.New("setup finished, but doctor found problems"), exitcode.ChecksFailed, "fix what doctor says above, then run setup again (it keeps what is done)")
	}
	fmt.Fprintf(s.e.Stdout, "  doctor: every check passed. Ready: start Claude Code and use the %s MCP server.\n", s.o.mcpName)
	return nil
}
