package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/mcpjson"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

func newMCPCommand(e *Env) *cobra.Command {
	c := group("mcp COMMAND", "Write MCP client configuration (.mcp.json)", newMCPAddCommand(e), newMCPRemoveCommand(e), newMCPListCommand(e))
	c.Long = `Add, remove and list the MCP servers in Claude Code's configuration: the
project's .mcp.json, or ~/.claude.json with --user. Other entries, keys and
their order are kept.`
	return c
}

// mcpFileFlags are the flags that choose the file to edit.
type mcpFileFlags struct {
	file string
	user bool
}

func (m *mcpFileFlags) register(c *cobra.Command, verb string) {
	c.Flags().StringVar(&m.file, "file", ".mcp.json", "MCP configuration file to "+verb)
	c.Flags().BoolVar(&m.user, "user", false, verb+" Claude Code's user configuration (~/.claude.json) instead")
}

func (m *mcpFileFlags) path(e *Env) string {
	if m.user {
		home := e.Getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		return filepath.Join(home, ".claude.json")
	}
	return m.file
}

type mcpAddOptions struct {
	where                          mcpFileFlags
	profile, server, mode, command string
}

func newMCPAddCommand(e *Env) *cobra.Command {
	var o mcpAddOptions
	c := &cobra.Command{
		Use:   "add NAME --server DB.SCHEMA.NAME [--profile P]",
		Short: "Add a Snowflake MCP server for Claude Code",
		Long: `Add a Snowflake MCP server to .mcp.json (or ~/.claude.json with --user).
The default proxy mode runs the stdio bridge (sfmcp-token mcp-proxy), which
gets a fresh token for every request; headers mode writes an HTTP entry
whose headersHelper is sfmcp-token headers. No token is ever written.`,
		Example: `  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP
  sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP --mode headers --user`,
		Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return runMCPAdd(e, o, args[0]) },
	}
	o.where.register(c, "edit")
	addProfileFlag(c, e, &o.profile, "profile whose token the server gets (default: default_profile)")
	c.Flags().StringVar(&o.server, "server", "", "the MCP server: DATABASE.SCHEMA.NAME or its full URL (required)")
	c.Flags().StringVar(&o.mode, "mode", "proxy", "proxy (stdio bridge; tokens stay fresh all session) or headers (HTTP + headersHelper)")
	c.Flags().StringVar(&o.command, "command", "", "path of sfmcp-token to write (default: this binary)")
	_ = c.MarkFlagRequired("server")
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]cobra.Completion{"proxy", "headers"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runMCPAdd(e *Env, o mcpAddOptions, name string) error {
	where, server, mode := o.where, &o.server, &o.mode
	p, serverURL, err := profileAndServer(e, o.profile, *server)
	if err != nil {
		return err
	}
	bin := o.command
	if bin == "" {
		if bin, err = clientBinary(); err != nil {
			return fmt.Errorf("find this program's path (pass --command): %w", err)
		}
	}
	var entry any
	switch *mode {
	case "proxy":
		entry = mcpjson.NewProxyEntry(bin, p.Name, *server)
	case "headers":
		entry = mcpjson.NewHeadersEntry(bin, serverURL, p.Name)
	default:
		return usagef("", "--mode %q: use proxy or headers", *mode)
	}
	f, err := mcpjson.Load(where.path(e))
	if err != nil {
		return usagef("", "%v", err)
	}
	if err := f.Set(name, entry); err != nil {
		return err
	}
	if err := f.Save(); err != nil {
		return err
	}
	data, _ := json.Marshal(entry)
	fmt.Fprintf(e.Stdout, "Added MCP server %q (%s mode, profile %s) to %s.\n", name, *mode, p.Name, f.Path)
	fmt.Fprintf(e.Stdout, "The same with the Claude Code CLI:\n  claude mcp add-json %s %s\n", mcpjson.ShellQuote(name), mcpjson.ShellQuote(string(data)))
	return nil
}

func newMCPRemoveCommand(e *Env) *cobra.Command {
	var where mcpFileFlags
	c := &cobra.Command{
		Use:               "remove NAME",
		Short:             "Remove an MCP server entry",
		Example:           "  sfmcp-token mcp remove snowflake",
		Args:              exactArgs(1),
		ValidArgsFunction: completeMCPServers(e, &where),
		RunE:              func(_ *cobra.Command, args []string) error { return runMCPRemove(e, where, args[0]) },
	}
	where.register(c, "edit")
	return c
}

// completeMCPServers offers the server names in the chosen MCP file.
func completeMCPServers(e *Env, where *mcpFileFlags) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f, err := mcpjson.Load(where.path(e))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, _, _ := f.Entries()
		// A project's file is anyone's: offer only names a shell takes
		// literally.
		names = slices.DeleteFunc(names, func(n string) bool { return !config.ValidProfileName(n) })
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func runMCPRemove(e *Env, where mcpFileFlags, name string) error {
	f, err := mcpjson.Load(where.path(e))
	if err != nil {
		return usagef("", "%v", err)
	}
	ok, err := f.Remove(name)
	if err != nil {
		return err
	}
	if !ok {
		return usagef("run: sfmcp-token mcp list", "no MCP server %q in %s", name, f.Path)
	}
	if err := f.Save(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "Removed MCP server %q from %s.\n", name, f.Path)
	return nil
}

func newMCPListCommand(e *Env) *cobra.Command {
	var where mcpFileFlags
	var asJSON bool
	c := &cobra.Command{
		Use:     "list",
		Short:   "List the MCP servers and which are sfmcp's",
		Example: "  sfmcp-token mcp list --user",
		Args:    noArgs,
		RunE:    func(*cobra.Command, []string) error { return runMCPList(e, where, asJSON) },
	}
	where.register(c, "read")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func runMCPList(e *Env, where mcpFileFlags, asJSON bool) error {
	f, err := mcpjson.Load(where.path(e))
	if err != nil {
		return usagef("", "%v", err)
	}
	names, entries, err := f.Entries()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e, entries)
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tTARGET")
	for _, n := range names {
		kind, target := "other", ""
		if ours, ok := mcpjson.Parse(entries[n]); ok {
			kind, target = "sfmcp "+ours.Mode, "profile "+orNone(ours.Profile)+" → "+ours.URL+ours.Server
		} else {
			var v struct{ URL, Command string }
			_ = json.Unmarshal(entries[n], &v)
			target = v.URL + v.Command
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, kind, target)
	}
	return tw.Flush()
}

// orNone names an empty profile for people.
func orNone(profile string) string {
	if profile == "" {
		return "(selected by URL)"
	}
	return profile
}

// clientBinary is the path MCP clients should run: the fast sfmcp-token
// beside this sfmcp-token-full, else this binary.
func clientBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if strings.TrimSuffix(filepath.Base(exe), ".exe") == tokencmd.FullName {
		light := filepath.Join(filepath.Dir(exe), strings.Replace(filepath.Base(exe), tokencmd.FullName, "sfmcp-token", 1))
		if _, err := os.Stat(light); err == nil {
			return light, nil
		}
	}
	return exe, nil
}
