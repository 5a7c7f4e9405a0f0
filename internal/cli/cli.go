// Package cli is the sfmcp-token command line: it parses flags, builds the
// pieces (config, keychain, oauth), calls them, and turns their errors into
// one or two lines of advice and a documented exit code. Decisions live in
// the packages it calls; this package talks to the human. The command tree
// is cobra's; each command lives in its own file.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/version"
)

// Env is everything a command may touch outside the process. Tests and the
// demo build their own; Main's caller passes the real one.
type Env struct {
	Getenv func(string) string
	// Environ is what an auto-started daemon inherits, before its
	// allow-list; nil means os.Environ.
	Environ func() []string
	Stdout  io.Writer
	Stderr  io.Writer
	// DaemonExe runs `daemon` when one must be started; "" means this
	// very binary.
	DaemonExe string
	Args      []string // without the program name
	Stdin     io.Reader
	// OpenBrowser opens a URL; nil means github.com/pkg/browser.
	OpenBrowser func(url string) error
	// HTTPClient talks to Snowflake; nil means system TLS roots and sane timeouts.
	HTTPClient *http.Client
	// networkFromConfigOnly: proxies come from the config, never from the
	// environment (the bridge's environment is an MCP client entry's).
	networkFromConfigOnly bool
	userHTTP              *http.Client // from the config (configureHTTP)
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	// The client secret is read once and taken out of the process's
	// environment, so no child (the browser opener, systemctl, a daemon)
	// inherits it.
	secret := os.Getenv("SFMCP_CLIENT_SECRET")
	os.Unsetenv("SFMCP_CLIENT_SECRET")
	getenv := func(k string) string {
		if k == "SFMCP_CLIENT_SECRET" {
			return secret
		}
		return os.Getenv(k)
	}
	return Env{Getenv: getenv, Stdout: os.Stdout, Stderr: os.Stderr, Args: os.Args[1:], Stdin: os.Stdin}
}

// Main runs one command line and returns its exit code.
func Main(ctx context.Context, e Env) int {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	root := NewCommand(&e)
	markRunErrors(root)
	root.SetArgs(doubleDash(root, e.Args))
	cmd, err := root.ExecuteContextC(ctx)
	var ran *runError
	if err != nil && !errors.As(err, &ran) {
		// Cobra refused the command line before any command ran: an
		// unknown command or flag, a bad value, a missing required flag.
		fmt.Fprintf(e.Stderr, "sfmcp: %s\n", err)
		var unknown *unknownCommandError
		if errors.As(err, &unknown) && len(unknown.suggestions) > 0 {
			fmt.Fprintf(e.Stderr, "Did you mean this?\n\t%s\n", strings.Join(unknown.suggestions, "\n\t"))
		}
		fmt.Fprintf(e.Stderr, "usage: %s\n", cmd.UseLine())
		fmt.Fprintf(e.Stderr, "see: %s --help\n", cmd.CommandPath())
		return exitcode.Usage
	}
	if ran != nil {
		err = ran.err
	}
	return report(e.Stderr, err)
}

// doubleDash turns -name into --name for the command tree's long flags:
// releases before the move to cobra parsed flags with Go's flag package,
// which takes both, and users' scripts and MCP client entries still say
// -profile. Nothing after "--" is touched.
func doubleDash(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	long["help"], long["version"] = true, true
	out := make([]string, len(args))
	for i, a := range args {
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && long[name] {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// runError is what a command's own code returned, as opposed to cobra's
// refusal of the command line.
type runError struct{ err error }

func (r *runError) Error() string { return r.err.Error() }

func markRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := run(cmd, args); err != nil {
				return &runError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markRunErrors(sub)
	}
}

// NewCommand is the whole command tree, bound to e. The docs generator
// walks it too.
func NewCommand(e *Env) *cobra.Command {
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	root := &cobra.Command{
		// COMMAND, as the groups say it: the usage line of a mistyped
		// command names what is missing, not just [flags].
		Use:   "sfmcp-token COMMAND",
		Short: "Fresh Snowflake tokens for MCP clients",
		Long: `sfmcp-token signs you in to Snowflake once, keeps short-lived access tokens
fresh in a per-user daemon, and gives them to MCP clients: as a Claude Code
headersHelper (headers), or through a stdio bridge (mcp-proxy).

Exit codes: 0 ok; 1 unexpected error; 2 usage, configuration or
installation error; 3 sign-in required; 4 keychain, network, Snowflake or
daemon unavailable; 5 doctor found a failing check; 130 interrupted.
Errors go to stderr as "sfmcp: what happened" and "sfmcp: what to do next".`,
		Example: `  sfmcp-token profile add prod --account myorg-myaccount
  sfmcp-token login prod
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.MY_MCP
  sfmcp-token doctor`,
		Version:       version.String(),
		Args:          noArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Bare `sfmcp-token` shows the help, as gh and kubectl do.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("sfmcp-token {{.Version}}\n")
	root.SetIn(e.Stdin)
	root.SetOut(e.Stdout)
	root.SetErr(e.Stderr)
	root.AddGroup(
		&cobra.Group{ID: "use", Title: "Everyday commands:"},
		&cobra.Group{ID: "setup", Title: "Setting up:"},
		&cobra.Group{ID: "admin", Title: "For administrators:"},
	)
	for _, c := range []*cobra.Command{
		newLoginCommand(e), newLogoutCommand(e), newStatusCommand(e), newDoctorCommand(e),
		newHotCommand(e, "headers"), newHotCommand(e, "token"), newMCPProxyCommand(e),
	} {
		c.GroupID = "use"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newSetupCommand(e), newProfileCommand(e), newMCPCommand(e), newServiceCommand(e), newDaemonCommand(e)} {
		c.GroupID = "setup"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newAdminCommand(e), newPATCommand(e)} {
		c.GroupID = "admin"
		root.AddCommand(c)
	}
	root.AddCommand(newVersionCommand(e))
	root.SetHelpCommand(newHelpCommand())
	root.SetHelpCommandGroupID("use")
	root.SetCompletionCommandGroupID("setup")
	return root
}

func newVersionCommand(e *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  sfmcp-token version",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(e.Stdout, "sfmcp-token", version.String())
			return nil
		},
	}
}

// newHelpCommand is `help [command]`: cobra's, except that an unknown
// topic is a mistake (exit 2), not the general help.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help for any command: sfmcp-token help mcp add.",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return unknownHelpTopic(cmd, args, rest)
			}
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil || cmd == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

// group is a command that only holds subcommands: bare, it shows its help;
// with an unknown subcommand it is a usage error (cobra would show the
// help and exit 0).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, "unknown subcommand %q for %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(subs...)
	return c
}

// longRunning commands stop cleanly on SIGINT/SIGTERM. The others
// (headers above all) skip signal set-up and just die on a signal.
func longRunning(run func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, args)
	}
}

// noArgs refuses positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return unknownCommand(cmd, "unknown command %q for %q", args[0])
		}
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

// unknownCommandError is a mistyped command or subcommand, with the
// commands it may have meant (cobra's "Did you mean this?").
type unknownCommandError struct {
	msg         string
	suggestions []string
}

func (u *unknownCommandError) Error() string { return u.msg }

func unknownCommand(cmd *cobra.Command, format, name string) error {
	return &unknownCommandError{fmt.Sprintf(format, name, cmd.CommandPath()), suggestionsFor(cmd, name)}
}

// suggestionsFor are cmd's subcommands that name may be a typo of.
func suggestionsFor(cmd *cobra.Command, name string) []string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default for its own suggestions
	}
	return cmd.SuggestionsFor(name)
}

// unknownHelpTopic is a `help` topic that names no command, with the
// ones its first unknown word may be a typo of (`help mcp ad`: add).
func unknownHelpTopic(parent *cobra.Command, args, rest []string) error {
	u := &unknownCommandError{msg: fmt.Sprintf("unknown help topic %q", strings.Join(args, " "))}
	if parent != nil && len(rest) > 0 {
		u.suggestions = suggestionsFor(parent, rest[0])
	}
	return u
}

// exactArgs wants n positional arguments, named in the usage line.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// profileArg takes the profile from `--profile` or an optional positional
// argument (`login prod`); both at once must agree.
func profileArg(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) > 1:
		return fmt.Errorf("unexpected argument %q", args[1])
	case len(args) == 1 && cmd.Flags().Changed("profile"):
		if f := cmd.Flags().Lookup("profile"); f.Value.String() != args[0] {
			return fmt.Errorf("profile given twice: %q and --profile %q", args[0], f.Value.String())
		}
	}
	return nil
}

// profileFrom is the profile a command named: the argument, else --profile.
func profileFrom(flagValue string, args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return flagValue
}

// addProfileFlag declares --profile with its completion.
func addProfileFlag(cmd *cobra.Command, e *Env, dst *string, usage string) {
	cmd.Flags().StringVar(dst, "profile", "", usage)
	_ = cmd.RegisterFlagCompletionFunc("profile", completeProfiles(e))
}

// completeProfiles offers the configured profile names.
func completeProfiles(e *Env) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := loadConfig(e)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return cfg.Names(), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeProfileArg completes a positional profile argument.
func completeProfileArg(e *Env) cobra.CompletionFunc {
	profiles := completeProfiles(e)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return profiles(cmd, args, toComplete)
	}
}

// usageError is a mistake on the command line or in the config: exit 2.
type usageError struct{ msg, hint string }

func (u usageError) Error() string { return u.msg }

func usagef(hint, format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...), hint}
}

// adviceError carries an exit code and a next step for an error.
type adviceError struct {
	err  error
	code int
	hint string
}

func (a *adviceError) Error() string { return a.err.Error() }
func (a *adviceError) Unwrap() error { return a.err }

func withAdvice(err error, code int, hint string) error {
	if err == nil {
		return nil
	}
	return &adviceError{err: err, code: code, hint: hint}
}

// report prints err as one or two lines and returns the exit code.
func report(w io.Writer, err error) int {
	if err == nil {
		return exitcode.OK
	}
	code, hint := classify(err)
	if code == exitcode.Interrupted {
		// The user pressed Ctrl-C (or the command got SIGTERM): no Go
		// error text ("context canceled"), only what happened.
		io.WriteString(w, "sfmcp: interrupted\n")
		return code
	}
	exitcode.Report(w, err, hint)
	return code
}

// stringsFlag declares a repeatable string flag (no comma splitting: an
// identifier may hold commas inside quotes).
func stringsFlag(fs *pflag.FlagSet, dst *[]string, name, usage string) {
	fs.StringArrayVar(dst, name, nil, usage)
}
