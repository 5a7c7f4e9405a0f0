package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/onboard"
	"github.com/sfmcp/sfmcp/internal/service"
	"github.com/sfmcp/sfmcp/keychain"
)

// `setup` is a user's one command: profile, sign-in, the MCP server for
// Claude Code, optionally the service, then doctor, and one summary.
// onboard first decides everything (setup asks on a terminal for what is
// missing) and refuses before anything changes; then each step does
// nothing when it is already done, so running it twice changes nothing.

type setupOptions struct {
	from      string
	in        config.Onboarding // from the flags
	url       string            // the MCP server's, which says the rest
	issuer    string            // the identity provider, as the user names it
	kind      string            // its kind (--idp)
	audience  string
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
		Use:   "setup [--from FILE] [--url MCP_SERVER_URL] [--profile P --account A ...] [--server DB.SCHEMA.NAME]",
		Short: "Set up in one go: profile, sign-in, MCP server, checks",
		Long: `Do everything a new user needs, in order: add the profile, sign in through
the browser, add the MCP server to Claude Code (user scope, or the project's
.mcp.json with --project), optionally install the service, and run doctor.
Without --client, on a terminal, setup lists the MCP clients it finds on
this machine and asks which to configure; when it finds none, or there is
no terminal, it configures Claude Code without asking.

It takes what your administrator handed out (--from, the file that
"admin setup --onboarding-file" writes) and flags, which win over the file.
On a terminal it asks only for what is missing; with --yes, or without a
terminal, it asks nothing. It changes nothing when a profile or MCP entry of
the same name exists with other settings, and every step that is already
done is left as it is, so running setup again changes nothing.

With --url, the MCP server's URL says the account's host, the server and
where to sign in (its metadata, RFC 9728): Snowflake's own OAuth, or the
identity provider an administrator bound the server to. An identity
provider you did not name with --issuer is signed in at only when you say
yes on a terminal, or the system file's allowed_issuers lists it; --yes does
not say yes to it.`,
		Example: `  sfmcp-token setup --from sfmcp-onboarding.toml
  sfmcp-token setup --profile team --account myorg-myaccount --role MCP_USERS --server DB.PUBLIC.GONG_MCP
  sfmcp-token setup --from sfmcp-onboarding.toml --no-browser   # over SSH
  sfmcp-token setup --client-id 0oa123 \
      --url https://myorg-myaccount.snowflakecomputing.com/api/v2/databases/DB/schemas/S/mcp-servers/X`,
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
	f.StringVar(&o.url, "url", "", "the MCP server's URL: the account's host, the server and where to sign in are found from it")
	f.StringVar(&o.issuer, "issuer", "", "the identity provider (issuer URL) to sign in at, as you know it")
	f.StringVar(&o.kind, "idp", "", "the identity provider's kind: okta, entra, ping or custom (default: from the issuer's host)")
	f.StringVar(&o.audience, "audience", "", "the token audience the account accepts; for Entra ID the Application ID URI, api://…")
	f.StringVar(&o.mcpName, "mcp-name", "snowflake", "the name of the MCP server entry")
	f.BoolVar(&o.project, "project", false, "add the MCP server to the clients' project files (Claude Code: .mcp.json) instead of your user configuration")
	f.StringArrayVar(&o.clients, "client", nil, "the MCP client to configure: "+strings.Join(mcpclients.IDs(), ", ")+" (repeatable; default: on a terminal, the ones you choose of those found here; else claude-code)")
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
	cfg     *config.File // as setup found it, then with the new profile
	tty     *os.File     // nil: never ask
	lines   *lineReader  // the terminal's lines, shared with the sign-in
	summary []string
}

func runSetup(ctx context.Context, e *Env, o setupOptions) error {
	s := &setupRun{e: e, o: o}
	if f, ok := terminalStdin(e); ok && !o.yes {
		s.tty, s.lines = f, newLineReader(f)
	}
	plan, err := s.plan(ctx)
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

// plan reads the onboarding file and has onboard decide every step,
// asking on the terminal for what is missing.
func (s *setupRun) plan(ctx context.Context) (*onboard.Plan, error) {
	r := onboard.Request{Given: s.o.in, EntryName: s.o.mcpName, Clients: s.o.clients, Scope: mcpclients.User,
		ClientEnv: clientEnv(s.e), Project: ".", TrustHost: s.o.yes && s.o.url == "", Issuer: s.o.issuer, IdP: s.o.kind, Audience: s.o.audience}
	if s.o.project {
		r.Scope = mcpclients.Project
	}
	if s.o.from != "" {
		var err error
		if r.File, err = config.LoadOnboarding(s.o.from); err != nil {
			return nil, usagef("ask your administrator for a new file, or pass the settings as flags", "%v", err)
		}
	}
	var err error
	if s.cfg, err = loadConfig(s.e); err != nil {
		return nil, err
	}
	if s.o.url != "" {
		if s.o.in.MCPServer != "" {
			return nil, usagef("drop --server: the URL names the server", "setup: give --url or --server, not both")
		}
		if r.URL, err = discoverServer(ctx, s.e, s.o.url); err != nil {
			return nil, err
		}
	}
	plan, err := onboard.New(ctx, s.cfg, r, s.asking())
	if err != nil {
		return nil, setupError(err)
	}
	return plan, nil
}

// asking asks on the terminal; without one, nobody is asked.
func (s *setupRun) asking() onboard.Ask {
	if s.lines == nil {
		return onboard.Ask{}
	}
	ask := onboard.Ask{
		Account:   s.questionFunc("Snowflake account (orgname-accountname, as in https://ORGNAME-ACCOUNTNAME.snowflakecomputing.com)"),
		MCPServer: s.questionFunc("MCP server to add to Claude Code (DATABASE.SCHEMA.NAME; empty to skip)"),
		TrustHost: func(ctx context.Context, host string) (bool, error) {
			answer, err := s.question(ctx, fmt.Sprintf("The sign-in will go to %s, which is not a Snowflake host (*.snowflakecomputing.com). Continue? [y/N]", host))
			return yes(answer), err
		},
		TrustIssuer: func(ctx context.Context, issuer string) (bool, error) {
			answer, err := s.question(ctx, trustQuestion(issuer))
			return yes(answer), err
		},
		ClientID: func(ctx context.Context, issuer string) (string, error) {
			return s.question(ctx, "Client id of sfmcp at "+onboard.IssuerHost(issuer)+" (from your administrator)")
		},
	}
	if len(installedClients(s.e)) > 0 {
		ask.Clients = func(ctx context.Context) ([]string, error) { return detectClients(ctx, s.e, s.lines) }
	}
	return ask
}

func (s *setupRun) questionFunc(prompt string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return s.question(ctx, prompt) }
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

// setupHints are the hints for onboard's missing or invalid inputs.
var setupHints = map[string]string{
	"profile": "use letters, digits, '.', '_' or '-'",
	"account": "pass --account ORGNAME-ACCOUNTNAME, or --from the file your administrator gave you",
}

// setupError words what onboard refused, with what to do instead.
func setupError(err error) error {
	var (
		field    *onboard.FieldError
		conflict *onboard.ProfileConflictError
		host     *onboard.UntrustedHostError
		entry    *onboard.EntryConflictError
		files    *onboard.ClientFileError
	)
	hint := ""
	if h, ok := issuerRefusal(err); ok {
		return usagef(h, "setup: %v", err)
	}
	switch {
	case errors.As(err, &field) && field.Field == "mcp_server":
		return usagef("", "setup: --server: %v", field.Err)
	case errors.As(err, &field) && field.Field == "url":
		return usagef("the URL names the account's host and where it takes tokens from: drop what disagrees with it", "setup: --url: %v", field.Err)
	case errors.As(err, &field):
		hint, err = setupHints[field.Field], field.Err
	case errors.As(err, &conflict):
		hint = fmt.Sprintf("to change it: sfmcp-token profile set %s (with the flags to change); or set up another name with --profile", conflict.Profile)
	case errors.As(err, &host):
		hint = "if your administrator really uses this host (a proxy in front of Snowflake), run setup again with --yes"
	case errors.Is(err, onboard.ErrNoClient):
		hint = "run setup again and choose a client, or give --client"
	case errors.As(err, &entry):
		hint = fmt.Sprintf("choose another name with --mcp-name, or remove it first: sfmcp-token mcp remove %s --client %s --scope %s", entry.Name, entry.Config.Client.ID, entry.Config.Scope)
		if entry.Err != nil {
			hint += " --force"
		}
	case errors.As(err, &files):
		return targetError(files.Err)
	case errors.As(err, new(*onboard.InvalidProfileError)): // no hint
	default:
		return err
	}
	return usagef(hint, "setup: %v", err)
}

func yes(answer string) bool {
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}

func (s *setupRun) step(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(s.e.Stdout, "✓ "+line)
	s.summary = append(s.summary, line)
}

func (s *setupRun) addProfile(ctx context.Context, plan *onboard.Plan) error {
	p := plan.Profile
	if !plan.NewProfile {
		s.step("profile %s: already set up (%s, client %s)", p.Name, plan.Endpoint.Host, p.ClientLabel())
		return nil
	}
	if err := s.cfg.Put(p); err != nil { // the first profile becomes the default
		return usagef("", "setup: %v", err)
	}
	if err := s.cfg.Save(); err != nil {
		return err
	}
	notifyDaemon(ctx, s.e, p.Name)
	at := ""
	if p.IsIdP() {
		at = ", signs in at " + p.Issuer
	}
	s.step("profile %s: added (%s, client %s%s)", p.Name, plan.Endpoint.Host, p.ClientLabel(), at)
	return nil
}

// signIn signs in unless a sign-in for this host and client is stored and
// has not expired. (Whether Snowflake still takes it, doctor checks.)
func (s *setupRun) signIn(ctx context.Context, plan *onboard.Plan) error {
	p := plan.Profile
	if p.IsPAT() {
		s.step("profile %s: uses a programmatic access token, no sign-in", p.Name)
		return nil
	}
	store, err := openStore(s.e, s.cfg)
	if err != nil {
		return err
	}
	if err := s.clientSecret(ctx, store, p); err != nil {
		return err
	}
	c, err := store.Credential(p.Name)
	switch {
	case err == nil && plan.SignedIn(c, time.Now()):
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
	secret, err := typedSecret(ctx, s.e, s.tty, "Client secret for profile "+p.Name+" (from your administrator; not shown): ")
	if err != nil {
		return err
	}
	if secret == "" {
		return usagef("", "setup: no client secret given")
	}
	warnFileStore(s.e, store)
	if err := store.SaveClientSecret(p.Name, secret, p.SecretBinding()); err != nil {
		return fmt.Errorf("store the client secret for profile %s: %w", p.Name, err)
	}
	s.step("profile %s: client secret stored in %s", p.Name, store.Where())
	return nil
}

// addMCPServer writes the planned entries.
func (s *setupRun) addMCPServer(plan *onboard.Plan) error {
	if plan.Server == "" {
		s.summary = append(s.summary, "no MCP server added (give --server DB.SCHEMA.NAME to add one)")
		return nil
	}
	for _, pe := range plan.Entries {
		if pe.State == onboard.Same {
			s.step("MCP server %s: already in %s (%s)", plan.EntryName, pe.Config.Path, pe.Config.Client.Name)
			continue
		}
		if err := plan.Write(pe); err != nil {
			return err
		}
		verb := map[onboard.State]string{onboard.Absent: "added to", onboard.Earlier: "updated in"}[pe.State]
		s.step("MCP server %s: %s %s (%s; the stdio bridge: a fresh token per request)", plan.EntryName, verb, pe.Config.Path, pe.Config.Client.Name)
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
func (s *setupRun) finish(ctx context.Context, plan *onboard.Plan) error {
	checks := doctorChecks(ctx, s.e, doctorOptions{profile: plan.Profile.Name, mcpFile: plan.ClaudeFile})
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
	if len(plan.Entries) > 0 {
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
