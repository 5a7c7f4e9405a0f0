// Package mcpclients knows the MCP clients people use and what sfmcp
// writes into their configuration: where each client keeps its servers
// (Claude Code, Claude Desktop, Cursor, VS Code, Windsurf, Codex CLI,
// Gemini CLI, GitHub Copilot CLI, opencode, Qwen Code and Zed), the
// entry sfmcp writes there and how it recognises it again, which
// sfmcp-token an entry runs, and the rules of an edit: another program's
// entry is changed only when forced, a project's file gets sfmcp's entry
// whole, and a command edits every file or none. Each client's format is
// taken from its own documentation and, where the client is on npm, its
// code (the documentation of MCP clients says which were run here). JSON
// and JSONC files go through mcpjson, which keeps comments and
// formatting; Codex's TOML is edited as text and checked by decoding the
// result. It never writes a token, and never prints: the CLI words what
// it returns.
package mcpclients

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/sfmcp/sfmcp/internal/shellword"
)

// Scope says whose configuration an entry goes into.
type Scope string

const (
	User    Scope = "user"    // the user's own file
	Project Scope = "project" // a file in the project directory
)

// Env is where the user's files are: HOME and the OS, and Windows'
// %APPDATA%; Getenv reads client-specific overrides (CODEX_HOME).
type Env struct {
	Home    string
	GOOS    string
	AppData string
	Getenv  func(string) string
}

// Client is one MCP client's configuration.
type Client struct {
	ID   string // the --client value
	Name string // for people
	// Key is the path of the object holding the servers (JSON clients).
	Key []string
	// open reads the client's file format.
	open func(path string, key []string, follow bool) (store, error)
	// userDir is the client's own directory: its user file is found from
	// it, and its presence shows the client is installed.
	userDir func(Env) string
	// userFile is the user's file, given userDir; projectFile the
	// project's, given the project directory. nil: no file for that scope.
	userFile, projectFile func(dir string) string
	// stdio is the entry that runs bin with args.
	stdio func(bin string, args []string) any
	// headers is the HTTP entry whose headers come from helper, for the
	// clients that run such a command (nil elsewhere).
	headers func(url, helper string) any
	// binaries show the client is installed when on PATH.
	binaries []string
}

// Path is the client's configuration file for scope ("" when it has none
// there); project is the project directory for project scope.
func (c Client) Path(e Env, s Scope, project string) string {
	switch {
	case s == User && c.userFile != nil:
		return c.userFile(c.userDir(e))
	case s == Project && c.projectFile != nil:
		return c.projectFile(project)
	}
	return ""
}

// Scopes lists the scopes the client has on e's OS.
func (c Client) Scopes(e Env) []Scope {
	var out []Scope
	for _, s := range []Scope{User, Project} {
		if c.Path(e, s, ".") != "" {
			out = append(out, s)
		}
	}
	return out
}

// HasHeaderHelper reports whether the client runs a command for its
// HTTP headers (Claude Code's headersHelper, Codex's http_headers_helper).
func (c Client) HasHeaderHelper() bool { return c.headers != nil }

// AddCommand is the client's own command line that adds the entry s
// describes as name at scope, for the clients that have one (Claude
// Code's claude mcp add-json); "" for the others. Scope "" (a file the
// user named) leaves claude its own default.
func (c Client) AddCommand(name string, s Spec, scope Scope) string {
	if c.ID != "claude-code" {
		return ""
	}
	args := []string{"claude", "mcp", "add-json"}
	if scope != "" {
		// claude's own default is "local", which sfmcp never writes.
		args = append(args, "--scope", string(scope))
	}
	return shellword.Join(append(args, name, s.claudeJSON())...)
}

// Installed reports whether the client looks installed: its own
// directory or user file exists, or its binary is on PATH.
func (c Client) Installed(e Env, lookPath func(string) (string, error)) bool {
	for _, m := range []string{c.userDir(e), c.Path(e, User, "")} {
		if m == "" {
			continue
		}
		if _, err := os.Stat(m); err == nil {
			return true
		}
	}
	for _, b := range c.binaries {
		if _, err := lookPath(b); err == nil {
			return true
		}
	}
	return false
}

// All is every client, in the order they are listed.
func All() []Client { return slices.Clone(clients) }

// Lookup finds a client by its --client value.
func Lookup(id string) (Client, bool) {
	for _, c := range clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// IDs lists the --client values.
func IDs() []string {
	out := make([]string, len(clients))
	for i, c := range clients {
		out[i] = c.ID
	}
	return out
}

// EnvFrom is where this user's client files are, from the environment:
// HOME (else the OS's idea of it) and %APPDATA% (else its usual place).
func EnvFrom(getenv func(string) string, goos string) Env {
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	appData := getenv("APPDATA")
	if !filepath.IsAbs(appData) {
		appData = filepath.Join(home, "AppData", "Roaming")
	}
	return Env{Home: home, GOOS: goos, AppData: appData, Getenv: getenv}
}

// Installed lists the clients that look installed (see Client.Installed).
func Installed(e Env, lookPath func(string) (string, error)) []Client {
	var found []Client
	for _, c := range clients {
		if c.Installed(e, lookPath) {
			found = append(found, c)
		}
	}
	return found
}
