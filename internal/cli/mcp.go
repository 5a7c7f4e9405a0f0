package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/mcpjson"
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
	user    bool   // --user: Claude Code's user scope, as before --scope
	file    string // an explicit file (one client)
}

func (m *mcpTarget) register(c *cobra.Command, verb string) {
	f := c.Flags()
	f.StringArrayVar(&m.clients, "client", nil, "the MCP client: "+strings.Join(mcpclients.IDs(), ", ")+" (repeatable; default claude-code)")
	f.StringVar(&m.scope, "scope", "", "user or project (default: user; Claude Code: project, its .mcp.json)")
	f.BoolVar(&m.user, "user", false, "user scope (the same as --scope user)")
	f.StringVar(&m.file, "file", "", "the configuration file to "+verb+" (one client; default: the client's own)")
	_ = c.RegisterFlagCompletionFunc("client", cobra.FixedCompletions(append(mcpclients.IDs(), "detect"), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("scope", cobra.FixedCompletions([]cobra.Completion{"user", "project"}, cobra.ShellCompDirectiveNoFileComp))
}

// clientEnv is where this user's client files are.
func clientEnv(e *Env) mcpclients.Env {
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	appData := e.Getenv("APPDATA")
	if !filepath.IsAbs(appData) {
		appData = filepath.Join(home, "AppData", "Roaming")
	}
	return mcpclients.Env{Home: home, GOOS: runtime.GOOS, AppData: appData, Getenv: e.Getenv}
}

// configs opens the chosen clients' files.
func (m *mcpTarget) configs(e *Env, ids []string) ([]*mcpclients.Config, error) {
	if len(ids) == 0 {
		ids = []string{"claude-code"}
	}
	if m.file != "" && len(ids) > 1 {
		return nil, usagef("", "--file names one file: give one --client with it")
	}
	var out []*mcpclients.Config
	for _, id := range ids {
		c, ok := mcpclients.Lookup(id)
		if !ok {
			return nil, usagef("one of: "+strings.Join(mcpclients.IDs(), ", "), "unknown MCP client %q", id)
		}
		var cfg *mcpclients.Config
		var err error
		if m.file != "" {
			cfg, err = c.OpenFile(m.file)
		} else {
			cfg, err = c.Open(clientEnv(e), m.scopeFor(c), ".")
		}
		if err != nil {
			return nil, usagef("", "%v", err)
		}
		out = append(out, cfg)
	}
	return out, nil
}

// scopeFor: --scope or --user, else user; Claude Code keeps its old
// default, the project's .mcp.json.
func (m *mcpTarget) scopeFor(c mcpclients.Client) mcpclients.Scope {
	switch {
	case m.user:
		return mcpclients.User
	case m.scope != "":
		return mcpclients.Scope(m.scope)
	case c.ID == "claude-code":
		return mcpclients.Project
	}
	return mcpclients.User
}

func (m *mcpTarget) check() error {
	if m.scope != "" && m.scope != string(mcpclients.User) && m.scope != string(mcpclients.Project) {
		return usagef("", "--scope %q: use user or project", m.scope)
	}
	if m.user && m.scope == string(mcpclients.Project) {
		return usagef("", "--user and --scope project contradict each other")
	}
	return nil
}

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
		Example: `  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --user
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --client cursor --client codex
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --client detect
  sfmcp-token mcp add github --profile prod --server DB.PUBLIC.GONG_MCP --force   # replace another program's "github"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMCPAdd(cmd.Context(), e, o, args[0]) },
	}
	o.where.register(c, "edit")
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
	if err := o.where.check(); err != nil {
		return err
	}
	if o.mode != "proxy" && o.mode != "headers" {
		return usagef("", "--mode %q: use proxy or headers", o.mode)
	}
	if !utf8.ValidString(name) {
		return usagef("choose a name that is UTF-8 text", "the MCP server name %q is not UTF-8 text", name)
	}
	p, serverURL, err := profileAndServer(e, o.profile, o.server)
	if err != nil {
		return err
	}
	bin := o.command
	if bin == "" {
		if bin, err = clientBinary(); err != nil {
			return fmt.Errorf("find this program's path (pass --command): %w", err)
		}
	}
	ids := o.where.clients
	if slices.Contains(ids, "detect") {
		var lines *lineReader
		if f, ok := terminalStdin(e); ok {
			lines = newLineReader(f)
		}
		chosen, err := detectClients(ctx, e, lines)
		if err != nil {
			return err
		}
		ids = slices.Compact(slices.Sorted(slices.Values(append(slices.DeleteFunc(ids, func(id string) bool { return id == "detect" }), chosen...))))
		if len(ids) == 0 {
			return nil
		}
	}
	configs, err := o.where.configs(e, ids)
	if err != nil {
		return err
	}
	// Check every client before writing any: all or nothing.
	if o.mode == "headers" {
		for _, cfg := range configs {
			if !cfg.Client.HasHeaderHelper() {
				return usagef("use the bridge for "+cfg.Client.Name+": drop --mode headers", "%s runs no command for HTTP headers, so a token it was given once would expire mid-session", cfg.Client.Name)
			}
		}
	}
	args := []string{"mcp-proxy", "--profile", p.Name, "--server", o.server}
	helper := mcpjson.ShellQuote(bin) + " headers --profile " + mcpjson.ShellQuote(p.Name)
	// Every file is edited in memory first, and written only when all
	// could be: all or nothing.
	verbs := make([]string, len(configs))
	for i, cfg := range configs {
		cfg.Force = o.force
		before := entryOf(cfg, name)
		if o.mode == "headers" {
			err = cfg.SetHeaders(name, serverURL, helper)
		} else {
			err = cfg.SetStdio(name, bin, args)
		}
		if errors.As(err, new(*mcpclients.NotOursError)) {
			return usagef("to replace it whole, run: "+commandWith(e, "--force")+"; or choose another name", "%s (%s): %v", cfg.Client.Name, cfg.Path, err)
		} else if err != nil {
			return usagef("fix the file, or leave that client out; nothing was changed", "%s (%s): %v", cfg.Client.Name, cfg.Path, err)
		}
		_, ours := mcpclients.ParseEntry(before).Ours()
		switch {
		case before == nil:
			verbs[i] = "Added"
		case sameJSON(before, entryOf(cfg, name)):
			verbs[i] = "" // nothing to write
		case !ours:
			verbs[i] = "Replaced another program's"
		default:
			verbs[i] = "Updated"
		}
	}
	for i, cfg := range configs {
		if verbs[i] == "" {
			fmt.Fprintf(e.Stdout, "MCP server %q is already configured for %s in %s.\n", name, cfg.Client.Name, cfg.Path)
			continue
		}
		if err := cfg.Save(); err != nil {
			return fmt.Errorf("%s (%s): %w", cfg.Client.Name, cfg.Path, err)
		}
		fmt.Fprintf(e.Stdout, "%s MCP server %q (%s mode, profile %s) for %s: %s\n", verbs[i], name, o.mode, p.Name, cfg.Client.Name, cfg.Path)
		if cfg.Client.ID == "claude-code" {
			entry := any(mcpjson.NewProxyEntry(bin, p.Name, o.server))
			if o.mode == "headers" {
				entry = mcpjson.NewHeadersEntry(bin, serverURL, p.Name)
			}
			data, _ := json.Marshal(entry)
			fmt.Fprintf(e.Stdout, "The same with the Claude Code CLI:\n  claude mcp add-json %s %s\n", mcpjson.ShellQuote(name), mcpjson.ShellQuote(string(data)))
		}
	}
	return nil
}

// entryOf is name's entry in cfg, as JSON (nil when there is none).
func entryOf(cfg *mcpclients.Config, name string) json.RawMessage {
	_, entries, _ := cfg.Entries()
	return entries[name]
}

// sameJSON reports whether a and b are the same JSON value: an entry that
// reads the same is left as it is, whatever its formatting.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// commandWith is this command line with flag added, for a hint.
func commandWith(e *Env, flag string) string {
	words := []string{"sfmcp-token"}
	for _, a := range e.Args {
		words = append(words, mcpjson.ShellQuote(a))
	}
	return strings.Join(append(words, flag), " ")
}

// installedClients are the MCP clients that look installed here.
func installedClients(e *Env) []mcpclients.Client {
	var found []mcpclients.Client
	for _, c := range mcpclients.All() {
		if c.Installed(clientEnv(e), exec.LookPath) {
			found = append(found, c)
		}
	}
	return found
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

func newMCPRemoveCommand(e *Env) *cobra.Command {
	var where mcpTarget
	var force bool
	c := &cobra.Command{
		Use:   "remove NAME [--client X]...",
		Short: "Remove an MCP server entry from MCP clients",
		Long: `Remove an MCP server entry from the configuration of one or more MCP
clients. An entry that is not sfmcp's (another program's server) is
removed only with --force.`,
		Example:           "  sfmcp-token mcp remove snowflake --user\n  sfmcp-token mcp remove snowflake --client cursor --client codex\n  sfmcp-token mcp remove github --force   # another program's entry",
		Args:              exactArgs(1),
		ValidArgsFunction: completeMCPServers(e, &where),
		RunE:              func(_ *cobra.Command, args []string) error { return runMCPRemove(e, where, args[0], force) },
	}
	where.register(c, "edit")
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
	if err := where.check(); err != nil {
		return err
	}
	configs, err := where.configs(e, where.clients)
	if err != nil {
		return err
	}
	// As for add: every file is edited in memory first, then written.
	found := make([]bool, len(configs))
	for i, cfg := range configs {
		cfg.Force = force
		ok, err := cfg.Remove(name)
		if errors.As(err, new(*mcpclients.NotOursError)) {
			return usagef("to remove it anyway, run: "+commandWith(e, "--force"), "%s (%s): %v", cfg.Client.Name, cfg.Path, err)
		} else if err != nil {
			return usagef("fix the file by hand", "%s (%s): %v", cfg.Client.Name, cfg.Path, err)
		}
		found[i] = ok
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
	where.register(c, "read")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// listedEntry is one line of mcp list.
type listedEntry struct {
	Client  string `json:"client"`
	Scope   string `json:"scope,omitempty"`
	File    string `json:"file"`
	Name    string `json:"name"`
	Kind    string `json:"kind"` // "sfmcp proxy", "sfmcp headers" or "other"
	Profile string `json:"profile,omitempty"`
	Target  string `json:"target"`
}

func runMCPList(e *Env, where mcpTarget, asJSON bool) error {
	if err := where.check(); err != nil {
		return err
	}
	var listed []listedEntry
	if len(where.clients) > 0 || where.file != "" {
		configs, err := where.configs(e, where.clients)
		if err != nil {
			return err
		}
		for _, cfg := range configs {
			listed = append(listed, entriesOf(cfg, "", true)...)
		}
	} else {
		seen := map[string]bool{}
		for _, c := range mcpclients.All() {
			for _, s := range c.Scopes(clientEnv(e)) {
				if where.user && s != mcpclients.User || where.scope != "" && string(s) != where.scope {
					continue
				}
				cfg, err := c.Open(clientEnv(e), s, ".")
				if err != nil {
					continue // an unreadable file of a client not in use
				}
				if abs, _ := filepath.Abs(cfg.Path); seen[abs] {
					continue // a project file that is the user file (in HOME)
				} else {
					seen[abs] = true
				}
				listed = append(listed, entriesOf(cfg, string(s), false)...)
			}
		}
	}
	if asJSON {
		if listed == nil {
			listed = []listedEntry{}
		}
		return writeJSON(e, listed)
	}
	if len(listed) == 0 {
		fmt.Fprintln(e.Stderr, "No sfmcp MCP servers in any client's configuration. Add one: sfmcp-token mcp add NAME --profile P --server DB.SCHEMA.NAME --client X")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tNAME\tKIND\tTARGET\tFILE")
	for _, l := range listed {
		// A project's file is anyone's: nothing in it reaches the
		// terminal unescaped.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Client, printable(l.Name), l.Kind, printable(l.Target), printable(l.File))
	}
	return tw.Flush()
}

// entriesOf lists a file's entries: all of them, or only sfmcp's.
func entriesOf(cfg *mcpclients.Config, scope string, all bool) []listedEntry {
	names, entries, err := cfg.Entries()
	if err != nil {
		return nil
	}
	var out []listedEntry
	for _, n := range names {
		entry := mcpclients.ParseEntry(entries[n])
		l := listedEntry{Client: cfg.Client.ID, Scope: scope, File: cfg.Path, Name: n, Kind: "other", Target: entry.Describe()}
		if ours, ok := entry.Ours(); ok {
			l.Kind, l.Profile = "sfmcp "+ours.Mode, ours.Profile
			l.Target = "profile " + orNone(ours.Profile) + " → " + ours.URL + ours.Server
			// The name alone proves nothing: say when the entry runs
			// another program than this installation's.
			if bin, err := clientBinary(); ours.Mode == "proxy" && (err != nil || !sameProgram(entry.Command, bin)) {
				l.Target += " (runs " + entry.Command + ", not " + bin + ")"
			}
		} else if !all {
			continue
		}
		out = append(out, l)
	}
	return out
}

// sameProgram reports whether command is bin or its sibling
// sfmcp-token-full.
func sameProgram(command, bin string) bool {
	if !filepath.IsAbs(command) {
		return false
	}
	full := filepath.Join(filepath.Dir(bin), client.FullName)
	return filepath.Clean(command) == filepath.Clean(bin) || filepath.Clean(command) == full
}

// printable quotes s when it holds anything a terminal would act on.
func printable(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// orNone names an empty profile for people.
func orNone(profile string) string {
	if profile == "" {
		return "(default)"
	}
	return profile
}

// clientBinary is the sfmcp-token to write into MCP client configs: the
// fast binary beside this one when this is sfmcp-token-full.
func clientBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if strings.TrimSuffix(filepath.Base(exe), ".exe") == client.FullName {
		light := filepath.Join(filepath.Dir(exe), strings.Replace(filepath.Base(exe), client.FullName, "sfmcp-token", 1))
		if _, err := os.Stat(light); err == nil {
			return light, nil
		}
	}
	return exe, nil
}
