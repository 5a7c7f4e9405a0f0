package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/service"
	"github.com/sfmcp/sfmcp/keychain"
)

// `setup` is a user's one command: profile, sign-in, the MCP server for
// Claude Code, optionally the service, then doctor, and one summary. It
// first decides everything (asking on a terminal for what is missing) and
// refuses before changing anything when a profile or MCP entry of that
// name exists with other settings; then each step does nothing when it is
// already done, so running it twice changes nothing.

type setupOptions struct {
	from      string
	in        config.Onboarding // from the flags
	mcpName   string
	project   bool
	clients   []string
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
terminal, it asks nothing. It changes nothing when a profile or MCP entry of
the same name exists with other settings, and every step that is already
done is left as it is, so running setup again changes nothing.`,
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
	f.BoolVar(&o.project, "project", false, "add the MCP server to the clients' project files (Claude Code: .mcp.json) instead of your user configuration")
	f.StringArrayVar(&o.clients, "client", nil, "the MCP client to configure: "+strings.Join(mcpclients.IDs(), ", ")+" (repeatable; default claude-code; on a terminal setup asks)")
	_ = c.RegisterFlagCompletionFunc("client", cobra.FixedCompletions(mcpclients.IDs(), cobra.ShellCompDirectiveNoFileComp))
	f.BoolVar(&o.service, "service", false, "also install the service that starts the daemon at login")
	f.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser (SSH)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	f.BoolVar(&o.yes, "yes", false, "ask nothing; what is missing is an error")
	return c
}

// setupRun is one run: the terminal (if any) and the summary so far.
type setupRun struct {
	e       *Env
	o       setupOptions
	tty     *os.File    // nil: never ask
	lines   *lineReader // the terminal's lines, shared with the sign-in
	summary []string
}

// setupPlan is what setup decided before it changes anything.
type setupPlan struct {
	profile    config.Profile
	newProfile bool
	ep         config.Endpoint
	server     string // "" when no MCP server is added
	bin        string
	args       []string
	entries    []plannedEntry
	claudeFile string // Claude Code's file, which doctor checks ("" if none)
}

// plannedEntry is one client's entry: "new", "same" (already there) or
// "ours" (sfmcp's for the same server, written again).
type plannedEntry struct {
	cfg   *mcpclients.Config
	state string
}

func runSetup(ctx context.Context, e *Env, o setupOptions) error {
	s := &setupRun{e: e, o: o}
	if f, ok := terminalStdin(e); ok && !o.yes {
		s.tty, s.lines = f, newLineReader(f)
	}
	in, err := s.inputs(ctx)
	if err != nil {
		return err
	}
	plan, err := s.plan(ctx, in)
	if err != nil {
		return err
	}
	if err := s.addProfile(ctx, plan); err != nil {
		return err
	}
	if err := s.signIn(ctx, plan); err != nil {
		return err
	}
	if err := s.addMCPServer(plan); err != nil {
		return err
	}
	if err := s.serviceStep(ctx); err != nil {
		return err
	}
	return s.finish(ctx, plan)
}

// inputs merges the onboarding file, the flags and, on a terminal, answers.
func (s *setupRun) inputs(ctx context.Context) (config.Onboarding, error) {
	var in config.Onboarding
	if s.o.from != "" {
		var err error
		if in, err = config.LoadOnboarding(s.o.from); err != nil {
			return in, usagef("ask your administrator for a new file, or pass the settings as flags", "%v", err)
		}
	}
	given := s.o.in
	for dst, v := range map[*string]string{&in.Profile: given.Profile, &in.Account: given.Account, &in.Host: given.Host, &in.ClientID: given.ClientID,
		&in.ClientType: given.ClientType, &in.RedirectURI: given.RedirectURI, &in.Role: given.Role, &in.MCPServer: given.MCPServer} {
		if v != "" {
			*dst = v // a flag wins over the file
		}
	}
	cfg, err := loadConfig(s.e)
	if err != nil {
		return in, err
	}
	// With nothing given, the default profile (an organisation's system
	// file names one) is the one to set up.
	if in.Profile == "" {
		in.Profile = "snowflake"
		if _, ok := cfg.Profiles[cfg.DefaultProfile]; ok && in.Account == "" && in.Host == "" {
			in.Profile = cfg.DefaultProfile
		}
	}
	if !config.ValidProfileName(in.Profile) {
		return in, usagef("use letters, digits, '.', '_' or '-'", "setup: %q is not a valid profile name", in.Profile)
	}
	if p, ok := cfg.Profiles[in.Profile]; ok && in.MCPServer == "" && len(p.MCPServers) > 0 {
		in.MCPServer = p.MCPServers[0]
	}
	if _, exists := cfg.Profiles[in.Profile]; !exists && in.Account == "" && in.Host == "" {
		if in.Account, err = s.question(ctx, "Snowflake account (orgname-accountname, as in https://ORGNAME-ACCOUNTNAME.snowflakecomputing.com)"); err != nil {
			return in, err
		}
		if in.Account == "" {
			return in, usagef("pass --account ORGNAME-ACCOUNTNAME, or --from the file your administrator gave you", "setup: no account for the new profile %s", in.Profile)
		}
	}
	if in.MCPServer == "" {
		if in.MCPServer, err = s.question(ctx, "MCP server to add to Claude Code (DATABASE.SCHEMA.NAME; empty to skip)"); err != nil {
			return in, err
		}
	}
	return in, nil
}

// question asks on the terminal; without one it answers "". Ctrl-C ends
// the wait (the command's context).
func (s *setupRun) question(ctx context.Context, prompt string) (string, error) {
	if s.lines == nil {
		return "", nil
	}
	fmt.Fprintf(s.e.Stderr, "%s: ", prompt)
	line, err := s.lines.next(ctx)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// plan decides every step and refuses, before anything changes, what
// setup must not do.
func (s *setupRun) plan(ctx context.Context, in config.Onboarding) (setupPlan, error) {
	var plan setupPlan
	cfg, err := loadConfig(s.e)
	if err != nil {
		return plan, err
	}
	want := in.AsProfile(in.Profile)
	if old, ok := cfg.Profiles[in.Profile]; ok {
		if diff := profileDiff(old, want); diff != "" {
			return plan, usagef(fmt.Sprintf("to change it: sfmcp-token profile add %s --force (with the flags to change); or set up another name with --profile", in.Profile),
				"setup: profile %s already exists with other settings (%s); nothing was changed", in.Profile, diff)
		}
		plan.profile = old
	} else {
		if err := want.Validate(); err != nil {
			return plan, usagef("", "setup: profile %s: %v", want.Name, err)
		}
		plan.profile, plan.newProfile = want, true
	}
	if plan.ep, err = plan.profile.Endpoint(); err != nil {
		return plan, usagef("", "setup: profile %s: %v", plan.profile.Name, err)
	}
	// A file from anywhere could send the sign-in to a look-alike site:
	// a host outside Snowflake's domains is confirmed first.
	if plan.newProfile && !plan.ep.SnowflakeHost() && !config.IsLoopback(plan.ep.Hostname()) && !s.o.yes {
		answer, err := s.question(ctx, fmt.Sprintf("The sign-in will go to %s, which is not a Snowflake host (*.snowflakecomputing.com). Continue? [y/N]", plan.ep.Host))
		if err != nil {
			return plan, err
		}
		if !yes(answer) {
			return plan, usagef("if your administrator really uses this host (a proxy in front of Snowflake), run setup again with --yes",
				"setup: %s is not a Snowflake host; nothing was changed", plan.ep.Host)
		}
	}
	if in.MCPServer == "" {
		return plan, nil
	}
	if err := s.planMCP(ctx, &plan, in.MCPServer); err != nil {
		return plan, err
	}
	return plan, nil
}

// planMCP decides each client's entry: new, already there, or ours for
// the same server with another binary path (rewritten). Any other entry
// of that name is someone else's and is refused.
func (s *setupRun) planMCP(ctx context.Context, plan *setupPlan, server string) error {
	url, err := config.MCPServerURL(plan.ep, server)
	if err != nil {
		return usagef("", "setup: --server: %v", err)
	}
	if err := plan.profile.CheckServerURL(url); err != nil {
		return err
	}
	if plan.bin, err = mcpclients.ThisBinary(); err != nil {
		return fmt.Errorf("find this program's path: %w", err)
	}
	ids := s.o.clients
	if len(ids) == 0 && s.lines != nil && len(installedClients(s.e)) > 0 {
		if ids, err = detectClients(ctx, s.e, s.lines); err != nil {
			return err
		}
		if len(ids) == 0 {
			return usagef("run setup again and choose a client, or give --client", "setup: no MCP client chosen; nothing was changed")
		}
	}
	scope := mcpclients.User
	if s.o.project {
		scope = mcpclients.Project
	}
	where := mcpTarget{scope: string(scope)}
	configs, err := where.configs(s.e, ids)
	if err != nil {
		return err
	}
	plan.server, plan.args = server, []string{"mcp-proxy", "--profile", plan.profile.Name, "--server", server}
	for _, cfg := range configs {
		_, entries, err := cfg.Entries()
		if err != nil {
			return err
		}
		want := plannedEntry{cfg: cfg, state: "new"}
		if old, exists := entries[s.o.mcpName]; exists {
			entry := mcpclients.ParseEntry(old)
			ours, _ := entry.Ours()
			remove := fmt.Sprintf("choose another name with --mcp-name, or remove it first: sfmcp-token mcp remove %s --client %s --scope %s", s.o.mcpName, cfg.Client.ID, scope)
			switch err := cfg.MayEdit(s.o.mcpName); {
			case errors.As(err, new(*mcpclients.NotOursError)):
				// Another program's: setup refuses it as mcp add does.
				return usagef(remove+" --force", "setup: %s (%s): %v", cfg.Client.Name, cfg.Path, err)
			case err != nil:
				return err
			case entry.Command == plan.bin && slices.Equal(entry.Args, plan.args) && unchangedBy(cfg, s.o.mcpName, plan):
				want.state = "same"
			case ours.Mode == "proxy" && ours.Profile == plan.profile.Name && sameServer(plan.ep, ours.Server, url):
				want.state = "ours"
			default:
				return usagef(remove, "setup: %s (%s) already has an MCP server %q for something else; nothing was changed", cfg.Client.Name, cfg.Path, s.o.mcpName)
			}
		}
		if cfg.Client.ID == "claude-code" {
			plan.claudeFile = cfg.Path
		}
		plan.entries = append(plan.entries, want)
	}
	return nil
}

// unchangedBy reports whether writing the planned entry would leave name's
// entry as it is, as mcp add decides "already configured" (in a project's
// file, a key sfmcp does not write is a change). The edit stays in memory.
func unchangedBy(cfg *mcpclients.Config, name string, plan *setupPlan) bool {
	change, err := cfg.Put(name, mcpclients.Spec{Bin: plan.bin, Profile: plan.profile.Name, Mode: mcpclients.Proxy, Server: plan.server})
	return err == nil && change == mcpclients.Unchanged
}

// sameServer reports whether spec names the MCP server at url.
func sameServer(ep config.Endpoint, spec, url string) bool {
	other, err := config.MCPServerURL(ep, spec)
	return err == nil && other == url
}

// profileDiff names the settings in which the existing profile differs
// from what setup was given, by what they mean: the given settings laid
// over the old ones must make the same profile.
func profileDiff(old, given config.Profile) string {
	want := old
	for _, f := range []struct {
		dst *string
		v   string
	}{{&want.Account, given.Account}, {&want.Host, given.Host}, {&want.ClientID, given.ClientID},
		{&want.ClientType, given.ClientType}, {&want.RedirectURI, given.RedirectURI}, {&want.Role, given.Role}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if given.Account != "" && given.Host == "" {
		want.Host = "" // a host override belongs to the account it was set for
	}
	var diff []string
	oldEP, _ := old.Endpoint()
	if wantEP, err := want.Endpoint(); err != nil || wantEP.Host != oldEP.Host {
		diff = append(diff, fmt.Sprintf("host %s, not %s", oldEP.Host, wantEP.Host))
	}
	if old.EffectiveClientID() != want.EffectiveClientID() {
		diff = append(diff, fmt.Sprintf("client %s, not %s", old.EffectiveClientID(), want.EffectiveClientID()))
	}
	if old.Confidential() != want.Confidential() {
		diff = append(diff, fmt.Sprintf("client type %s, not %s", clientKind(old), clientKind(want)))
	}
	if old.RedirectURI != want.RedirectURI {
		diff = append(diff, fmt.Sprintf("redirect URI %q, not %q", old.RedirectURI, want.RedirectURI))
	}
	// Unquoted role names are case-insensitive in Snowflake.
	if storedName(old.Role) != storedName(want.Role) {
		diff = append(diff, fmt.Sprintf("role %q, not %q", old.Role, want.Role))
	}
	return strings.Join(diff, "; ")
}

func clientKind(p config.Profile) string {
	if p.Confidential() {
		return config.ClientConfidential
	}
	return config.ClientPublic
}

func yes(answer string) bool {
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}

func (s *setupRun) step(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(s.e.Stdout, "✓ "+line)
	s.summary = append(s.summary, line)
}

func (s *setupRun) addProfile(ctx context.Context, plan setupPlan) error {
	p := plan.profile
	if !plan.newProfile {
		s.step("profile %s: already set up (%s, client %s)", p.Name, plan.ep.Host, clientLabel(p))
		return nil
	}
	cfg, err := loadConfig(s.e)
	if err != nil {
		return err
	}
	if err := cfg.Put(p); err != nil {
		return usagef("", "setup: %v", err)
	}
	if cfg.DefaultProfile == "" {
		cfg.DefaultProfile = p.Name
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	notifyDaemon(ctx, s.e, p.Name)
	s.step("profile %s: added (%s, client %s)", p.Name, plan.ep.Host, clientLabel(p))
	return nil
}

// signIn signs in unless a sign-in for this host and client is stored and
// has not expired. (Whether Snowflake still takes it, doctor checks.)
func (s *setupRun) signIn(ctx context.Context, plan setupPlan) error {
	p := plan.profile
	if p.IsPAT() {
		s.step("profile %s: uses a programmatic access token, no sign-in", p.Name)
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
	if err := s.clientSecret(ctx, store, p); err != nil {
		return err
	}
	c, err := store.Credential(p.Name)
	switch {
	case err == nil && c.Kind == keychain.CredentialOAuth && c.Host == plan.ep.Host && c.ClientID == p.EffectiveClientID() &&
		(c.SecretExpiresAt.IsZero() || c.SecretExpiresAt.After(time.Now())):
		s.step("profile %s: already signed in as %s", p.Name, dash(c.User))
		return nil
	case err != nil && !errors.Is(err, keychain.ErrNotFound):
		return err
	}
	if err := runLogin(ctx, s.e, loginOptions{profile: p.Name, noBrowser: s.o.noBrowser, timeout: s.o.timeout, lines: s.lines}); err != nil {
		return err
	}
	s.summary = append(s.summary, "profile "+p.Name+": signed in")
	return nil
}

// clientSecret makes sure a confidential client's secret is stored,
// asking for it (without echo) on a terminal.
func (s *setupRun) clientSecret(ctx context.Context, store *keychain.Store, p config.Profile) error {
	if !p.Confidential() || s.e.Getenv("SFMCP_CLIENT_SECRET") != "" {
		return nil
	}
	if _, err := store.ClientSecret(p.Name); !errors.Is(err, keychain.ErrNotFound) {
		return err
	}
	if s.tty == nil {
		return usagef(fmt.Sprintf(`run: printf %%s "$SECRET" | sfmcp-token profile set-secret %s --client-secret-stdin, then setup again`, p.Name),
			"setup: profile %s is a confidential client and no client secret is stored", p.Name)
	}
	fmt.Fprintf(s.e.Stderr, "Client secret for profile %s (from your administrator; not shown): ", p.Name)
	secret, err := readHidden(ctx, s.tty)
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

// addMCPServer writes the planned entries.
func (s *setupRun) addMCPServer(plan setupPlan) error {
	if plan.server == "" {
		s.summary = append(s.summary, "no MCP server added (give --server DB.SCHEMA.NAME to add one)")
		return nil
	}
	for _, pe := range plan.entries {
		if pe.state == "same" {
			s.step("MCP server %s: already in %s (%s)", s.o.mcpName, pe.cfg.Path, pe.cfg.Client.Name)
			continue
		}
		if err := pe.cfg.SetStdio(s.o.mcpName, plan.bin, plan.args); err != nil {
			return err
		}
		if err := pe.cfg.Save(); err != nil {
			return err
		}
		verb := "added to"
		if pe.state == "ours" {
			verb = "updated in"
		}
		s.step("MCP server %s: %s %s (%s; the stdio bridge: a fresh token per request)", s.o.mcpName, verb, pe.cfg.Path, pe.cfg.Client.Name)
	}
	if s.o.project {
		s.summary = append(s.summary, "clients ask you to approve project servers (Claude Code: start claude and accept, or use /mcp)")
	}
	return nil
}

// serviceStep installs the service when asked to (or answered yes).
func (s *setupRun) serviceStep(ctx context.Context) error {
	home := s.e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	unit := service.UnitPath(home)
	if _, err := os.Stat(unit); err == nil {
		s.step("service: already installed (%s)", unit)
		return nil
	}
	want := s.o.service
	if !want {
		answer, err := s.question(ctx, "Start the daemon at login with a per-user service? (it otherwise starts on demand) [y/N]")
		if err != nil {
			return err
		}
		want = yes(answer)
	}
	if !want {
		s.summary = append(s.summary, "service: not installed; the daemon starts on demand (sfmcp-token service install starts it at login)")
		return nil
	}
	outcome, err := installService(s.e)
	if err != nil {
		return err
	}
	s.summary = append(s.summary, outcome)
	return nil
}

// finish runs doctor and prints the summary.
func (s *setupRun) finish(ctx context.Context, plan setupPlan) error {
	checks := doctorChecks(ctx, s.e, doctorOptions{profile: plan.profile.Name, mcpFile: plan.claudeFile})
	fmt.Fprintln(s.e.Stdout)
	fmt.Fprintln(s.e.Stdout, "Summary:")
	for _, line := range s.summary {
		fmt.Fprintln(s.e.Stdout, "  "+line)
	}
	if err := checksFailed(checks); err != nil {
		fmt.Fprintln(s.e.Stdout, "  doctor found problems:")
		for _, c := range checks {
			if !c.OK {
				var b strings.Builder
				printCheck(&b, c)
				fmt.Fprint(s.e.Stdout, indent(b.String(), "    "))
			}
		}
		return withAdvice(errors.New("setup finished, but doctor found problems"), exitcode.ChecksFailed, "fix what doctor says above, then run setup again (it keeps what is done)")
	}
	ready := "Ready."
	if len(plan.entries) > 0 {
		ready = "Ready: start your MCP client and use the " + s.o.mcpName + " MCP server."
	}
	fmt.Fprintf(s.e.Stdout, "  doctor: all %d checks passed. %s\n", len(checks), ready)
	return nil
}

func indent(text, prefix string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
