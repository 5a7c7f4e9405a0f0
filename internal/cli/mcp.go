package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/shellword"
)

func newMCPCommand(e *Env) *cobra.Command {
	c := group("mcp COMMAND", "Configure MCP clients (Claude Code, Cursor, VS Code, Codex, Gemini, …)", newMCPAddCommand(e), newMCPRemoveCommand(e), newMCPListCommand(e))
	c.Long = `Add, remove and list Snowflake MCP servers in the configuration of the MCP
clients you use: ` + strings.Join(mcpclients.IDs(), ", ") + `.
Each client's file is edited in place: its other entries, keys, order,
comments and formatting are kept. No token or secret is ever written.`
	return c
}

// mcpTarget are the flags that choose the clients and files.
type mcpTarget struct {
	clients []string
	scope   string
	user    bool   // --user: the same as --scope user, from before --scope
	file    string // an explicit file (one client)
}

// register declares the flags; scopeUsage says what --scope does here.
func (m *mcpTarget) register(c *cobra.Command, verb, scopeUsage string) {
	f := c.Flags()
	f.StringArrayVar(&m.clients, "client", nil, "the MCP client: "+strings.Join(mcpclients.IDs(), ", ")+" (repeatable; default claude-code)")
	f.StringVar(&m.scope, "scope", "", scopeUsage)
	// --user was a yes/no scope switch, while elsewhere (profile add, pat)
	// --user names a Snowflake user: kept for old scripts, out of sight.
	// Not cobra's MarkDeprecated: its notice goes to stdout, which
	// `mcp list --json` readers parse; check says it on stderr.
	f.BoolVar(&m.user, "user", false, "the same as --scope user (deprecated)")
	_ = f.MarkHidden("user")
	f.StringVar(&m.file, "file", "", "the configuration file to "+verb+" (one client; default: the client's own)")
	_ = c.RegisterFlagCompletionFunc("client", cobra.FixedCompletions(append(mcpclients.IDs(), "detect"), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("scope", cobra.FixedCompletions([]cobra.Completion{"user", "project"}, cobra.ShellCompDirectiveNoFileComp))
}

// clientEnv is where this user's client files are.
func clientEnv(e *Env) mcpclients.Env { return mcpclients.EnvFrom(e.Getenv, runtime.GOOS) }

// scopeValue is --scope or --user; "" leaves each client its default.
func (m *mcpTarget) scopeValue() mcpclients.Scope {
	if m.user {
		return mcpclients.User
	}
	return mcpclients.Scope(m.scope)
}

// target is the files of the clients ids the flags choose.
func (m *mcpTarget) target(ids []string) mcpclients.Target {
	return mcpclients.Target{Clients: ids, Scope: m.scopeValue(), File: m.file}
}

// configs opens the chosen clients' files.
func (m *mcpTarget) configs(e *Env, ids []string) ([]*mcpclients.Config, error) {
	configs, err := m.target(ids).Open(clientEnv(e), ".")
	return configs, targetError(err)
}

// targetError words a choice of clients and files that cannot be opened.
func targetError(err error) error {
	var unknown *mcpclients.UnknownClientError
	switch {
	case errors.Is(err, mcpclients.ErrOneClientFile):
		return usagef("", "--file names one file: give one --client with it")
	case errors.As(err, &unknown):
		return usagef("one of: "+strings.Join(mcpclients.IDs(), ", "), "unknown MCP client %q", unknown.ID)
	case err != nil:
		return usagef("", "%v", err)
	}
	return nil
}

// check refuses a scope that is neither, and notes the old --user on w.
func (m *mcpTarget) check(w io.Writer) error {
	if m.user {
		fmt.Fprintln(w, "sfmcp: --user is deprecated: use --scope user")
	}
	if m.scope != "" && m.scope != string(mcpclients.User) && m.scope != string(mcpclients.Project) {
		return usagef("", "--scope %q: use user or project", m.scope)
	}
	if m.user && m.scope == string(mcpclients.Project) {
		return usagef("", "--user and --scope project contradict each other")
	}
	return nil
}

// editScopeUsage is --scope of mcp add and remove.
const editScopeUsage = "user (your configuration, e.g. ~/.claude.json) or project (this directory's, e.g. .mcp.json) (default: user)"

type mcpAddOptions struct {
	where                          mcpTarget
	profile, server, mode, command string
	force                          bool
}

func newMCPAddCommand(e *Env) *cobra.Command {
	var o mcpAddOptions
	c := &cobra.Command{
		Use:   "add NAME --server DB.SCHEMA.NAME [--profile P] [--client X]...",
		Short: "Add a Snowflake MCP server to MCP clients",
		Long: `Add a Snowflake MCP server to the configuration of one or more MCP clients.
The default proxy mode runs the stdio bridge (sfmcp-token mcp-proxy), which
gets a fresh token for every request and works with every client. Headers
mode writes an HTTP entry whose headers come from sfmcp-token headers; only
Claude Code (headersHelper) and Codex (http_headers_helper) run such a
command. --client detect lists the clients installed here and offers them.
No token is ever written.

An entry of that name that sfmcp wrote is updated (keys you added to it,
and an "enabled" you set, stay); one that is another program's is left
alone unless you give --force, which replaces it whole.`,
		Example: `  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --scope project   # this project's .mcp.json
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --client cursor --client codex
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --client detect
  sfmcp-token mcp add github --profile prod --server DB.PUBLIC.GONG_MCP --force   # replace another program's "github"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMCPAdd(cmd.Context(), e, o, args[0]) },
	}
	o.where.register(c, "edit", editScopeUsage)
	addProfileFlag(c, e, &o.profile, "profile whose token the server gets (default: default_profile)")
	c.Flags().StringVar(&o.server, "server", "", "the MCP server: DATABASE.SCHEMA.NAME or its full URL (required)")
	c.Flags().StringVar(&o.mode, "mode", "proxy", "proxy (stdio bridge; tokens stay fresh all session) or headers (HTTP + a header command)")
	c.Flags().StringVar(&o.command, "command", "", "path of sfmcp-token to write (default: this binary)")
	c.Flags().BoolVar(&o.force, "force", false, "replace an entry of that name that is not sfmcp's (another program's server) whole")
	_ = c.MarkFlagRequired("server")
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]cobra.Completion{"proxy", "headers"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runMCPAdd(ctx context.Context, e *Env, o mcpAddOptions, name string) error {
	if err := o.where.check(e.Stderr); err != nil {
		return err
	}
	if mode := mcpclients.Mode(o.mode); mode != mcpclients.Proxy && mode != mcpclients.Headers {
		return usagef("", "--mode %q: use proxy or headers", o.mode)
	}
	if !utf8.ValidString(name) {
		return usagef("choose a name that is UTF-8 text", "the MCP server name %q is not UTF-8 text", name)
	}
	p, serverURL, err := profileAndServer(e, o.profile, o.server)
	if err != nil {
		return err
	}
	spec := mcpclients.Spec{Bin: o.command, Profile: p.Name, Mode: mcpclients.Mode(o.mode), Server: o.server, URL: serverURL}
	if spec.Bin == "" {
		if spec.Bin, err = mcpclients.ThisBinary(); err != nil {
			return fmt.Errorf("find this program's path (pass --command): %w", err)
		}
	}
	ids := o.where.clients
	if slices.Contains(ids, "detect") {
		if ids, err = withDetected(ctx, e, ids); err != nil || len(ids) == 0 {
			return err
		}
	}
	configs, err := o.where.configs(e, ids)
	if err != nil {
		return err
	}
	changes, err := mcpclients.Add(configs, name, spec, o.force)
	if err != nil {
		return mcpEditError(err, "to replace it whole, run: "+commandWith(e, "--force")+"; or choose another name", "fix the file, or leave that client out; nothing was changed")
	}
	return saveAdded(e, configs, changes, name, spec)
}

// withDetected is ids with "detect" replaced by the installed clients the
// user chooses.
func withDetected(ctx context.Context, e *Env, ids []string) ([]string, error) {
	var lines *lineReader
	if f, ok := terminalStdin(e); ok {
		lines = newLineReader(f)
	}
	chosen, err := detectClients(ctx, e, lines)
	if err != nil {
		return nil, err
	}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == "detect" })
	return slices.Compact(slices.Sorted(slices.Values(append(ids, chosen...)))), nil
}

// mcpEditError words an edit that a file refused: notOurs is the hint for
// another program's entry, other the one for a file sfmcp cannot edit.
func mcpEditError(err error, notOurs, other string) error {
	var noHelper *mcpclients.NoHeaderHelperError
	switch {
	case errors.As(err, &noHelper):
		return usagef("use the bridge for "+noHelper.Client.Name+": drop --mode headers", "%v", err)
	case errors.As(err, new(*mcpclients.NotOursError)):
		return usagef(notOurs, "%v", err)
	case errors.As(err, new(*mcpclients.EditError)):
		return usagef(other, "%v", err)
	}
	return err
}

var addedVerbs = map[mcpclients.Change]string{mcpclients.Added: "Added", mcpclients.Updated: "Updated", mcpclients.Replaced: "Replaced another program's"}

// saveAdded writes the files mcp add changed and says what it did.
func saveAdded(e *Env, configs []*mcpclients.Config, changes []mcpclients.Change, name string, s mcpclients.Spec) error {
	for i, cfg := range configs {
		if changes[i] == mcpclients.Unchanged {
			fmt.Fprintf(e.Stdout, "MCP server %q is already configured for %s in %s.\n", name, cfg.Client.Name, cfg.Path)
			continue
		}
		if err := cfg.Save(); err != nil {
			return fmt.Errorf("%s (%s): %w", cfg.Client.Name, cfg.Path, err)
		}
		fmt.Fprintf(e.Stdout, "%s MCP server %q (%s mode, profile %s) for %s: %s\n", addedVerbs[changes[i]], name, s.Mode, s.Profile, cfg.Client.Name, cfg.Path)
		if add := cfg.Client.AddCommand(name, s, cfg.Scope); add != "" {
			fmt.Fprintf(e.Stdout, "The same with the %s CLI:\n  %s\n", cfg.Client.Name, add)
		}
	}
	return nil
}

// commandWith is this command line with flag added, for a hint.
func commandWith(e *Env, flag string) string {
	return shellword.Join(append([]string{"sfmcp-token"}, e.Args...)...) + " " + flag
}

// installedClients are the MCP clients that look installed here.
func installedClients(e *Env) []mcpclients.Client {
	return mcpclients.Installed(clientEnv(e), exec.LookPath)
}

// detectClients lists the clients installed here and, on a terminal
// (lines), asks which to configure; without one it only lists them.
func detectClients(ctx context.Context, e *Env, lines *lineReader) ([]string, error) {
	found := installedClients(e)
	if len(found) == 0 {
		return nil, usagef("name one with --client: "+strings.Join(mcpclients.IDs(), ", "), "no MCP client found on this machine")
	}
	fmt.Fprintln(e.Stderr, "MCP clients found here:")
	for _, c := range found {
		fmt.Fprintf(e.Stderr, "  %-15s %s\n", c.ID, c.Name)
	}
	if lines == nil {
		ids := make([]string, len(found))
		for i, c := range found {
			ids[i] = "--client " + c.ID
		}
		return nil, usagef("choose: "+strings.Join(ids, " "), "--client detect asks which to configure, and there is no terminal to ask on")
	}
	var chosen []string
	for _, c := range found {
		fmt.Fprintf(e.Stderr, "Add it to %s? [y/N] ", c.Name)
		answer, err := lines.next(ctx)
		if err != nil {
			return nil, err
		}
		if yes(strings.TrimSpace(answer)) {
			chosen = append(chosen, c.ID)
		}
	}
	if len(chosen) == 0 {
		fmt.Fprintln(e.Stderr, "Nothing chosen; nothing was changed.")
	}
	return chosen, nil
}

// printNoneFound says that mcp list found nothing, and where it looked:
// the clients, the scope and the files.
func printNoneFound(e *Env, where mcpTarget, searched []mcpclients.Searched) {
	what := "No sfmcp MCP servers"
	if len(where.clients) > 0 || where.file != "" {
		what = "No MCP servers" // with --client, every entry is listed
	}
	switch len(searched) {
	case 0:
		fmt.Fprintf(e.Stderr, "%s: no client's file could be read.\n", what)
	case 1:
		fmt.Fprintf(e.Stderr, "%s in the file searched:\n", what)
	default:
		fmt.Fprintf(e.Stderr, "%s in the %d files searched:\n", what, len(searched))
	}
	for _, s := range searched {
		scope := ""
		if s.Scope != "" {
			scope = ", " + string(s.Scope) + " scope"
		}
		fmt.Fprintf(e.Stderr, "  %s (%s%s)\n", mcpclients.Printable(s.File), s.Client, scope)
	}
	if len(where.clients) > 0 || where.file != "" || where.scopeValue() != "" {
		fmt.Fprintln(e.Stderr, "Without --client, --file or --scope, mcp list searches every client's user and project files.")
	}
	fmt.Fprintln(e.Stderr, "Add one: sfmcp-token mcp add NAME --profile P --server DB.SCHEMA.NAME --client X")
}

func newMCPRemoveCommand(e *Env) *cobra.Command {
	var where mcpTarget
	var force bool
	c := &cobra.Command{
		Use:   "remove NAME [--client X]...",
		Short: "Remove an MCP server entry from MCP clients",
		Long: `Remove an MCP server entry from the configuration of one or more MCP
clients. An entry that is not sfmcp's (another program's server) is
removed only with --force.`,
		Example:           "  sfmcp-token mcp remove snowflake\n  sfmcp-token mcp remove snowflake --scope project\n  sfmcp-token mcp remove snowflake --client cursor --client codex\n  sfmcp-token mcp remove github --force   # another program's entry",
		Args:              exactArgs(1),
		ValidArgsFunction: completeMCPServers(e, &where),
		RunE:              func(_ *cobra.Command, args []string) error { return runMCPRemove(e, where, args[0], force) },
	}
	where.register(c, "edit", editScopeUsage)
	c.Flags().BoolVar(&force, "force", false, "remove the entry also when it is not sfmcp's (another program's server)")
	return c
}

// completeMCPServers offers the server names in the chosen client's file.
func completeMCPServers(e *Env, where *mcpTarget) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		configs, err := where.configs(e, where.clients)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, cfg := range configs {
			n, _, _ := cfg.Entries()
			names = append(names, n...)
		}
		// A project's file is anyone's: offer only names a shell takes
		// literally.
		names = slices.DeleteFunc(names, func(n string) bool { return !config.ValidProfileName(n) })
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func runMCPRemove(e *Env, where mcpTarget, name string, force bool) error {
	if err := where.check(e.Stderr); err != nil {
		return err
	}
	configs, err := where.configs(e, where.clients)
	if err != nil {
		return err
	}
	// As for add: every file is edited in memory first, then written.
	found, err := mcpclients.Remove(configs, name, force)
	if err != nil {
		return mcpEditError(err, "to remove it anyway, run: "+commandWith(e, "--force"), "fix the file by hand")
	}
	removed := 0
	for i, cfg := range configs {
		if !found[i] {
			fmt.Fprintf(e.Stderr, "sfmcp: no MCP server %q for %s in %s\n", name, cfg.Client.Name, cfg.Path)
			continue
		}
		if err := cfg.Save(); err != nil {
			return err
		}
		removed++
		fmt.Fprintf(e.Stdout, "Removed MCP server %q for %s from %s.\n", name, cfg.Client.Name, cfg.Path)
	}
	if removed == 0 {
		return usagef("run: sfmcp-token mcp list", "no MCP server %q was found", name)
	}
	return nil
}

func newMCPListCommand(e *Env) *cobra.Command {
	var where mcpTarget
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--client X]...",
		Short: "List which clients have which sfmcp servers",
		Long: `Without --client, list the sfmcp servers of every client, in your user
configuration and in this directory's project files. With --client (or
--file), list every entry of those files, sfmcp's or not.`,
		Example: "  sfmcp-token mcp list\n  sfmcp-token mcp list --client cursor --json",
		Args:    noArgs,
		RunE:    func(*cobra.Command, []string) error { return runMCPList(e, where, asJSON) },
	}
	where.register(c, "read", "list only the user or the project files (default: both; with --client, user)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func runMCPList(e *Env, where mcpTarget, asJSON bool) error {
	if err := where.check(e.Stderr); err != nil {
		return err
	}
	bin, _ := mcpclients.ThisBinary()
	listed, searched, err := mcpclients.Search(clientEnv(e), ".", where.target(where.clients), bin)
	if err != nil {
		return targetError(err)
	}
	if asJSON {
		if listed == nil {
			listed = []mcpclients.Listed{}
		}
		return writeJSON(e, listed)
	}
	if len(listed) == 0 {
		printNoneFound(e, where, searched)
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tNAME\tKIND\tTARGET\tFILE")
	for _, l := range listed {
		// A project's file is anyone's: nothing in it reaches the
		// terminal unescaped.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Client, mcpclients.Printable(l.Name), l.Kind, mcpclients.Printable(l.Target), mcpclients.Printable(l.File))
	}
	return tw.Flush()
}
