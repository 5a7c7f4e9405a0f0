// Package mcpclients knows where each MCP client people use keeps its
// servers and what a stdio server entry looks like there, and edits those
// files: Claude Code, Claude Desktop, Cursor, VS Code, Windsurf, Codex CLI,
// Gemini CLI, GitHub Copilot CLI, opencode, Qwen Code and Zed. Each
// client's format is taken from its own documentation and, where the
// client is on npm, its code (the README's client table says which were
// run here). JSON and JSONC files go through mcpjson, which keeps
// comments and formatting; Codex's TOML is edited as text.
package mcpclients

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sfmcp/sfmcp/internal/mcpjson"
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
	// toml marks Codex's config.toml.
	toml bool
	// path returns the file for scope ("" when the client has none there).
	path func(e Env, s Scope, project string) string
	// stdio is the entry that runs bin with args.
	stdio func(bin string, args []string) any
	// headers is the HTTP entry whose headers come from helper, for the
	// clients that run such a command (nil elsewhere).
	headers func(url, helper string) any
	// installed lists files or directories whose presence shows the
	// client is installed, and binaries on PATH.
	markers  func(e Env) []string
	binaries []string
}

// Path is the client's configuration file for scope; project is the
// project directory for project scope.
func (c Client) Path(e Env, s Scope, project string) string { return c.path(e, s, project) }

// Scopes lists the scopes the client has on e's OS.
func (c Client) Scopes(e Env) []Scope {
	var out []Scope
	for _, s := range []Scope{User, Project} {
		if c.path(e, s, ".") != "" {
			out = append(out, s)
		}
	}
	return out
}

// HasHeaderHelper reports whether the client runs a command for its
// HTTP headers (Claude Code's headersHelper, Codex's http_headers_helper).
func (c Client) HasHeaderHelper() bool { return c.headers != nil }

// Installed reports whether the client looks installed: its configuration
// directory exists or its binary is on PATH.
func (c Client) Installed(e Env, lookPath func(string) (string, error)) bool {
	for _, m := range c.markers(e) {
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

// userConfigDir is the OS's per-user application settings directory, as
// the Electron and native apps use it ($XDG_CONFIG_HOME on Linux).
func userConfigDir(e Env) string {
	switch e.GOOS {
	case "darwin":
		return filepath.Join(e.Home, "Library", "Application Support")
	case "windows":
		return e.AppData
	}
	return xdgConfigHome(e)
}

// xdgConfigHome is $XDG_CONFIG_HOME when it is absolute, else ~/.config.
func xdgConfigHome(e Env) string {
	if d := e.env("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(e.Home, ".config")
}

// env reads an override the client itself honours.
func (e Env) env(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// dirOverride is the absolute directory a client's variable names, else
// def.
func (e Env) dirOverride(k, def string) string {
	if d := e.env(k); filepath.IsAbs(d) {
		return d
	}
	return def
}

func inProject(s Scope, project string, rel ...string) string {
	if s != Project {
		return ""
	}
	return filepath.Join(append([]string{project}, rel...)...)
}

// stdioEntry is the common {"type": "stdio", "command", "args"} shape.
type stdioEntry struct {
	Type    string   `json:"type,omitempty"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

func typedStdio(bin string, args []string) any {
	return stdioEntry{Type: "stdio", Command: bin, Args: args}
}
func plainStdio(bin string, args []string) any { return stdioEntry{Command: bin, Args: args} }

// All is every client, in the order they are listed.
func All() []Client {
	return []Client{
		{
			ID: "claude-code", Name: "Claude Code", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(e.Home, ".claude.json")
				}
				return filepath.Join(project, ".mcp.json")
			},
			stdio: typedStdio,
			headers: func(url, helper string) any {
				return mcpjson.HeadersEntry{Type: "http", URL: url, HeadersHelper: helper}
			},
			markers: func(e Env) []string {
				return []string{filepath.Join(e.Home, ".claude.json"), filepath.Join(e.Home, ".claude")}
			},
			binaries: []string{"claude"},
		},
		{
			ID: "claude-desktop", Name: "Claude Desktop", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, _ string) string {
				if s != User {
					return ""
				}
				return filepath.Join(userConfigDir(e), "Claude", "claude_desktop_config.json")
			},
			stdio:   plainStdio,
			markers: func(e Env) []string { return []string{filepath.Join(userConfigDir(e), "Claude")} },
		},
		{
			ID: "cursor", Name: "Cursor", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(e.Home, ".cursor", "mcp.json")
				}
				return inProject(s, project, ".cursor", "mcp.json")
			},
			stdio:    typedStdio,
			markers:  func(e Env) []string { return []string{filepath.Join(e.Home, ".cursor")} },
			binaries: []string{"cursor", "cursor-agent"},
		},
		{
			ID: "vscode", Name: "VS Code (Copilot agent mode)", Key: []string{"servers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(userConfigDir(e), "Code", "User", "mcp.json")
				}
				return inProject(s, project, ".vscode", "mcp.json")
			},
			stdio:    typedStdio,
			markers:  func(e Env) []string { return []string{filepath.Join(userConfigDir(e), "Code")} },
			binaries: []string{"code"},
		},
		{
			ID: "windsurf", Name: "Windsurf", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, _ string) string {
				if s != User {
					return ""
				}
				return filepath.Join(e.Home, ".codeium", "windsurf", "mcp_config.json")
			},
			stdio:    plainStdio,
			markers:  func(e Env) []string { return []string{filepath.Join(e.Home, ".codeium", "windsurf")} },
			binaries: []string{"windsurf"},
		},
		{
			ID: "codex", Name: "Codex CLI", toml: true,
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(codexHome(e), "config.toml")
				}
				return inProject(s, project, ".codex", "config.toml")
			},
			stdio: func(bin string, args []string) any {
				return []tomlKey{{"command", bin}, {"args", args}}
			},
			headers: func(url, helper string) any {
				return []tomlKey{{"url", url}, {"http_headers_helper", helper}}
			},
			markers:  func(e Env) []string { return []string{codexHome(e)} },
			binaries: []string{"codex"},
		},
		{
			ID: "gemini", Name: "Gemini CLI", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(e.dirOverride("GEMINI_CLI_HOME", e.Home), ".gemini", "settings.json")
				}
				return inProject(s, project, ".gemini", "settings.json")
			},
			stdio: plainStdio,
			markers: func(e Env) []string {
				return []string{filepath.Join(e.dirOverride("GEMINI_CLI_HOME", e.Home), ".gemini")}
			},
			binaries: []string{"gemini"},
		},
		{
			ID: "copilot", Name: "GitHub Copilot CLI", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(copilotHome(e), "mcp-config.json")
				}
				return inProject(s, project, ".github", "mcp.json")
			},
			stdio: func(bin string, args []string) any {
				return struct {
					Type    string   `json:"type"`
					Command string   `json:"command"`
					Args    []string `json:"args"`
					Tools   []string `json:"tools"`
				}{"local", bin, args, []string{"*"}}
			},
			markers:  func(e Env) []string { return []string{copilotHome(e)} },
			binaries: []string{"copilot"},
		},
		{
			ID: "opencode", Name: "opencode", Key: []string{"mcp"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return jsoncOrJSON(filepath.Join(xdgConfigHome(e), "opencode", "opencode"))
				}
				return jsoncOrJSON(filepath.Join(project, "opencode"))
			},
			stdio: func(bin string, args []string) any {
				return struct {
					Type    string   `json:"type"`
					Command []string `json:"command"`
					Enabled bool     `json:"enabled"`
				}{"local", append([]string{bin}, args...), true}
			},
			markers:  func(e Env) []string { return []string{filepath.Join(xdgConfigHome(e), "opencode")} },
			binaries: []string{"opencode"},
		},
		{
			ID: "qwen", Name: "Qwen Code", Key: []string{"mcpServers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(e.dirOverride("QWEN_HOME", filepath.Join(e.Home, ".qwen")), "settings.json")
				}
				return inProject(s, project, ".qwen", "settings.json")
			},
			stdio:    plainStdio,
			markers:  func(e Env) []string { return []string{e.dirOverride("QWEN_HOME", filepath.Join(e.Home, ".qwen"))} },
			binaries: []string{"qwen"},
		},
		{
			ID: "zed", Name: "Zed", Key: []string{"context_servers"},
			path: func(e Env, s Scope, project string) string {
				if s == User {
					return filepath.Join(zedDir(e), "settings.json")
				}
				return inProject(s, project, ".zed", "settings.json")
			},
			stdio:    plainStdio,
			markers:  func(e Env) []string { return []string{zedDir(e)} },
			binaries: []string{"zed", "zeditor"},
		},
	}
}

// zedDir is Zed's settings directory: %APPDATA%\Zed on Windows, else
// $XDG_CONFIG_HOME/zed (~/.config/zed, macOS included).
func zedDir(e Env) string {
	if e.GOOS == "windows" {
		return filepath.Join(e.AppData, "Zed")
	}
	return filepath.Join(xdgConfigHome(e), "zed")
}

func codexHome(e Env) string {
	if e.Getenv != nil {
		if h := e.Getenv("CODEX_HOME"); filepath.IsAbs(h) {
			return h
		}
	}
	return filepath.Join(e.Home, ".codex")
}

func copilotHome(e Env) string {
	if e.Getenv != nil {
		if h := e.Getenv("COPILOT_HOME"); filepath.IsAbs(h) {
			return h
		}
	}
	return filepath.Join(e.Home, ".copilot")
}

// jsoncOrJSON is base.jsonc when it exists (opencode reads either), else
// base.json.
func jsoncOrJSON(base string) string {
	if _, err := os.Stat(base + ".jsonc"); err == nil {
		return base + ".jsonc"
	}
	return base + ".json"
}

// Lookup finds a client by its --client value.
func Lookup(id string) (Client, bool) {
	for _, c := range All() {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// IDs lists the --client values.
func IDs() []string {
	var out []string
	for _, c := range All() {
		out = append(out, c.ID)
	}
	return out
}

// ErrNoScope: the client has no configuration file for that scope.
var ErrNoScope = errors.New("this client has no configuration file for that scope")

// Config is one client's configuration file, being edited.
type Config struct {
	Client Client
	Path   string
	// Force lets an edit replace or remove an entry that is not sfmcp's;
	// without it such an edit is a *NotOursError and changes nothing.
	Force bool
	// shared: a project's file, which anyone may have written. sfmcp's
	// entry there is rewritten whole, keeping no key beside what sfmcp
	// writes (an env with LD_PRELOAD, a GODEBUG), where a user's own
	// file keeps the user's.
	shared bool
	json   *mcpjson.File
	toml   *tomlFile
}

// NotOursError: the entry is another program's MCP server, which sfmcp
// changes only when forced.
type NotOursError struct{ Name string }

func (e *NotOursError) Error() string {
	return fmt.Sprintf("MCP server %q is not sfmcp's; nothing was changed", e.Name)
}

// Open reads the client's file for scope (missing is empty).
func (c Client) Open(e Env, s Scope, project string) (*Config, error) {
	path := c.path(e, s, project)
	if path == "" {
		return nil, fmt.Errorf("%s: %w (%s)", c.Name, ErrNoScope, s)
	}
	// A user's own file may be a symlink into their dotfiles; a project's
	// file is anyone's and is never followed.
	return c.open(path, s == User, s != User)
}

// OpenFile reads the client's configuration at path, which the user named
// (a symlink there is followed). It may be a project's file, so sfmcp's
// entry there is rewritten whole (see Config.shared).
func (c Client) OpenFile(path string) (*Config, error) { return c.open(path, true, true) }

func (c Client) open(path string, follow, shared bool) (*Config, error) {
	cfg := &Config{Client: c, Path: path, shared: shared}
	var err error
	if c.toml {
		cfg.toml, err = loadTOML(path, "mcp_servers", follow)
	} else {
		cfg.json, err = mcpjson.Open(path, mcpjson.Options{Key: c.Key, Follow: follow})
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// SetStdio adds the entry name that runs bin with args, or updates
// sfmcp's entry of that name (another program's only with Force).
func (cfg *Config) SetStdio(name, bin string, args []string) error {
	return cfg.set(name, cfg.Client.stdio(bin, args))
}

// SetHeaders adds or updates, as SetStdio does, an HTTP entry whose
// headers come from the command helper.
func (cfg *Config) SetHeaders(name, url, helper string) error {
	if cfg.Client.headers == nil {
		return fmt.Errorf("%s runs no command for HTTP headers; use the stdio bridge (--mode proxy)", cfg.Client.Name)
	}
	return cfg.set(name, cfg.Client.headers(url, helper))
}

func (cfg *Config) set(name string, entry any) error {
	foreign, err := cfg.foreign(name)
	if err != nil {
		return err
	}
	if foreign || cfg.shared {
		// Forced: another program's entry is replaced whole, so nothing of
		// it (an env holding its secret, headers, a sub-table) goes to
		// sfmcp's. sfmcp's own entry keeps the user's other keys, but only
		// in the user's own file: in a project's, they are the project's
		// (an env with LD_PRELOAD beside a ./sfmcp-token of its own).
		if _, err := cfg.remove(name); err != nil {
			return err
		}
	}
	if cfg.toml != nil {
		return cfg.toml.set(name, entry.([]tomlKey))
	}
	return cfg.json.Set(name, entry)
}

// foreign reports whether name is an entry that is not sfmcp's, which
// only Force lets an edit touch (else a *NotOursError). Entry.Ours
// decides, as it does for mcp list.
func (cfg *Config) foreign(name string) (bool, error) {
	_, entries, err := cfg.Entries()
	if err != nil {
		return false, err
	}
	raw, exists := entries[name]
	if _, ours := ParseEntry(raw).Ours(); !exists || ours {
		return false, nil
	}
	if !cfg.Force {
		return true, &NotOursError{Name: name}
	}
	return true, nil
}

// MayEdit returns a *NotOursError when name is another program's entry
// and Force is not set: what SetStdio, SetHeaders and Remove would refuse.
func (cfg *Config) MayEdit(name string) error {
	_, err := cfg.foreign(name)
	return err
}

// Remove deletes the entry name; it reports whether there was one.
func (cfg *Config) Remove(name string) (bool, error) {
	if err := cfg.MayEdit(name); err != nil {
		return false, err
	}
	return cfg.remove(name)
}

func (cfg *Config) remove(name string) (bool, error) {
	if cfg.toml != nil {
		return cfg.toml.remove(name)
	}
	return cfg.json.Remove(name)
}

// Entries returns every server entry, as JSON, by name.
func (cfg *Config) Entries() ([]string, map[string]json.RawMessage, error) {
	if cfg.toml != nil {
		names, values := cfg.toml.entries()
		return names, values, nil
	}
	return cfg.json.Entries()
}

// Save writes the file.
func (cfg *Config) Save() error {
	if cfg.toml != nil {
		return cfg.toml.save()
	}
	return cfg.json.Save()
}

// Entry is what an entry runs, in any client's shape: a command and its
// arguments (opencode's command array included), or a URL and a header
// helper.
type Entry struct {
	Command string
	Args    []string
	URL     string
	Helper  string
}

// ParseEntry reads an entry of any client's shape (see
// mcpjson.EntryFields).
func ParseEntry(raw json.RawMessage) Entry {
	var e Entry
	e.Command, e.Args, e.URL, e.Helper = mcpjson.EntryFields(raw)
	return e
}

// Ours tells whether the entry is sfmcp's, and for what.
func (e Entry) Ours() (mcpjson.Ours, bool) {
	return mcpjson.Recognise(e.Command, e.Args, e.URL, e.Helper)
}

// Describe says what an entry runs: its URL or its program. Never its
// arguments: another server's may carry a key.
func (e Entry) Describe() string {
	if e.URL != "" {
		return e.URL
	}
	return e.Command
}
