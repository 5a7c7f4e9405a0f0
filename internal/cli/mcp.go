package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/sfmcp/sfmcp/internal/mcpjson"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

func runMCP(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("run: sfmcp-token mcp add|remove|list", "mcp: missing subcommand")
	}
	switch args[0] {
	case "add":
		return runMCPAdd(e, args[1:])
	case "remove":
		return runMCPRemove(e, args[1:])
	case "list":
		return runMCPList(e, args[1:])
	}
	return usagef("run: sfmcp-token mcp add|remove|list", "mcp: unknown subcommand %q", args[0])
}

// mcpFileFlags are the flags that choose the file to edit.
type mcpFileFlags struct {
	file string
	user bool
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

func runMCPAdd(e *Env, args []string) error {
	fs := newFlags(e, "mcp add NAME")
	var where mcpFileFlags
	fs.StringVar(&where.file, "file", ".mcp.json", "MCP configuration file to edit")
	fs.BoolVar(&where.user, "user", false, "edit Claude Code's user configuration (~/.claude.json) instead")
	profileName := fs.String("profile", "", "profile whose token the server gets")
	server := fs.String("server", "", "the MCP server: DATABASE.SCHEMA.NAME or its full URL")
	mode := fs.String("mode", "proxy", "proxy (stdio bridge; tokens stay fresh all session) or headers (HTTP + headersHelper)")
	command := fs.String("command", "", "path of sfmcp-token to write (default: this binary)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *server == "" {
		return usagef("e.g. sfmcp-token mcp add snowflake --profile prod --server DB.PUBLIC.GONG_MCP", "mcp add: give a NAME and --server")
	}
	p, serverURL, err := profileAndServer(e, *profileName, *server)
	if err != nil {
		return err
	}
	bin := *command
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
	if err := f.Set(pos[0], entry); err != nil {
		return err
	}
	if err := f.Save(); err != nil {
		return err
	}
	data, _ := json.Marshal(entry)
	fmt.Fprintf(e.Stdout, "Added MCP server %q (%s mode, profile %s) to %s.\n", pos[0], *mode, p.Name, f.Path)
	fmt.Fprintf(e.Stdout, "The same with the Claude Code CLI:\n  claude mcp add-json %s %s\n", mcpjson.ShellQuote(pos[0]), mcpjson.ShellQuote(string(data)))
	return nil
}

func runMCPRemove(e *Env, args []string) error {
	fs := newFlags(e, "mcp remove NAME")
	var where mcpFileFlags
	fs.StringVar(&where.file, "file", ".mcp.json", "MCP configuration file to edit")
	fs.BoolVar(&where.user, "user", false, "edit ~/.claude.json instead")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run: sfmcp-token mcp remove NAME", "mcp remove: give exactly one NAME")
	}
	f, err := mcpjson.Load(where.path(e))
	if err != nil {
		return usagef("", "%v", err)
	}
	ok, err := f.Remove(pos[0])
	if err != nil {
		return err
	}
	if !ok {
		return usagef("run: sfmcp-token mcp list", "no MCP server %q in %s", pos[0], f.Path)
	}
	if err := f.Save(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "Removed MCP server %q from %s.\n", pos[0], f.Path)
	return nil
}

func runMCPList(e *Env, args []string) error {
	fs := newFlags(e, "mcp list")
	var where mcpFileFlags
	fs.StringVar(&where.file, "file", ".mcp.json", "MCP configuration file to read")
	fs.BoolVar(&where.user, "user", false, "read ~/.claude.json instead")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	f, err := mcpjson.Load(where.path(e))
	if err != nil {
		return usagef("", "%v", err)
	}
	names, entries, err := f.Entries()
	if err != nil {
		return err
	}
	if *asJSON {
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
