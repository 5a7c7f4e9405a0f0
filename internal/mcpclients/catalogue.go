package mcpclients

import (
	"os"
	"path/filepath"

	"github.com/sfmcp/sfmcp/internal/mcpjson"
)

// clients is the catalogue, in the order clients are listed.
var clients = []Client{
	{
		ID: "claude-code", Name: "Claude Code", Key: []string{"mcpServers"}, open: openJSON,
		userDir: func(e Env) string { return filepath.Join(e.Home, ".claude") },
		// ~/.claude.json sits beside ~/.claude, not in it.
		userFile:    func(dir string) string { return dir + ".json" },
		projectFile: at(".mcp.json"),
		stdio:       typedStdio, headers: claudeHeaders,
		binaries: []string{"claude"},
	},
	{
		ID: "claude-desktop", Name: "Claude Desktop", Key: []string{"mcpServers"}, open: openJSON,
		userDir:  func(e Env) string { return filepath.Join(userConfigDir(e), "Claude") },
		userFile: at("claude_desktop_config.json"),
		stdio:    plainStdio,
	},
	{
		ID: "cursor", Name: "Cursor", Key: []string{"mcpServers"}, open: openJSON,
		userDir:  func(e Env) string { return filepath.Join(e.Home, ".cursor") },
		userFile: at("mcp.json"), projectFile: at(".cursor", "mcp.json"),
		stdio:    typedStdio,
		binaries: []string{"cursor", "cursor-agent"},
	},
	{
		ID: "vscode", Name: "VS Code (Copilot agent mode)", Key: []string{"servers"}, open: openJSON,
		userDir:  func(e Env) string { return filepath.Join(userConfigDir(e), "Code") },
		userFile: at("User", "mcp.json"), projectFile: at(".vscode", "mcp.json"),
		stdio:    typedStdio,
		binaries: []string{"code"},
	},
	{
		ID: "windsurf", Name: "Windsurf", Key: []string{"mcpServers"}, open: openJSON,
		userDir:  func(e Env) string { return filepath.Join(e.Home, ".codeium", "windsurf") },
		userFile: at("mcp_config.json"),
		stdio:    plainStdio,
		binaries: []string{"windsurf"},
	},
	{
		ID: "codex", Name: "Codex CLI", open: openTOML,
		userDir:  func(e Env) string { return e.dirOverride("CODEX_HOME", filepath.Join(e.Home, ".codex")) },
		userFile: at("config.toml"), projectFile: at(".codex", "config.toml"),
		stdio: codexStdio, headers: codexHeaders,
		binaries: []string{"codex"},
	},
	{
		ID: "gemini", Name: "Gemini CLI", Key: []string{"mcpServers"}, open: openJSON,
		userDir:  func(e Env) string { return filepath.Join(e.dirOverride("GEMINI_CLI_HOME", e.Home), ".gemini") },
		userFile: at("settings.json"), projectFile: at(".gemini", "settings.json"),
		stdio:    plainStdio,
		binaries: []string{"gemini"},
	},
	{
		ID: "copilot", Name: "GitHub Copilot CLI", Key: []string{"mcpServers"}, open: openJSON,
		userDir:  func(e Env) string { return e.dirOverride("COPILOT_HOME", filepath.Join(e.Home, ".copilot")) },
		userFile: at("mcp-config.json"), projectFile: at(".github", "mcp.json"),
		stdio:    copilotStdio,
		binaries: []string{"copilot"},
	},
	{
		ID: "opencode", Name: "opencode", Key: []string{"mcp"}, open: openJSON,
		userDir:  func(e Env) string { return filepath.Join(xdgConfigHome(e), "opencode") },
		userFile: jsoncOrJSON, projectFile: jsoncOrJSON,
		stdio:    opencodeStdio,
		binaries: []string{"opencode"},
	},
	{
		ID: "qwen", Name: "Qwen Code", Key: []string{"mcpServers"}, open: openJSON,
		userDir:  func(e Env) string { return e.dirOverride("QWEN_HOME", filepath.Join(e.Home, ".qwen")) },
		userFile: at("settings.json"), projectFile: at(".qwen", "settings.json"),
		stdio:    plainStdio,
		binaries: []string{"qwen"},
	},
	{
		ID: "zed", Name: "Zed", Key: []string{"context_servers"}, open: openJSON,
		userDir:  zedDir,
		userFile: at("settings.json"), projectFile: at(".zed", "settings.json"),
		stdio:    plainStdio,
		binaries: []string{"zed", "zeditor"},
	},
}

// at is the file rel inside a directory.
func at(rel ...string) func(dir string) string {
	return func(dir string) string { return filepath.Join(append([]string{dir}, rel...)...) }
}

// jsoncOrJSON is opencode's file in dir: opencode.jsonc when it exists
// (opencode reads either), else opencode.json.
func jsoncOrJSON(dir string) string {
	base := filepath.Join(dir, "opencode")
	if _, err := os.Stat(base + ".jsonc"); err == nil {
		return base + ".jsonc"
	}
	return base + ".json"
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
	return e.dirOverride("XDG_CONFIG_HOME", filepath.Join(e.Home, ".config"))
}

// zedDir is Zed's settings directory: %APPDATA%\Zed on Windows, else
// $XDG_CONFIG_HOME/zed (~/.config/zed, macOS included).
func zedDir(e Env) string {
	if e.GOOS == "windows" {
		return filepath.Join(e.AppData, "Zed")
	}
	return filepath.Join(xdgConfigHome(e), "zed")
}

// dirOverride is the absolute directory that k, a variable the client
// itself honours, names; else def.
func (e Env) dirOverride(k, def string) string {
	if e.Getenv == nil {
		return def
	}
	if d := e.Getenv(k); filepath.IsAbs(d) {
		return d
	}
	return def
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

// headersEntry is Claude Code's HTTP server with a headersHelper.
type headersEntry struct {
	Type          string `json:"type"`
	URL           string `json:"url"`
	HeadersHelper string `json:"headersHelper"`
}

func claudeHeaders(url, helper string) any {
	return headersEntry{Type: "http", URL: url, HeadersHelper: helper}
}

func codexStdio(bin string, args []string) any {
	return []tomlKey{{"command", bin}, {"args", args}}
}

func codexHeaders(url, helper string) any {
	return []tomlKey{{"url", url}, {"http_headers_helper", helper}}
}

func copilotStdio(bin string, args []string) any {
	return struct {
		Type    string   `json:"type"`
		Command string   `json:"command"`
		Args    []string `json:"args"`
		Tools   []string `json:"tools"`
	}{"local", bin, args, []string{"*"}}
}

func opencodeStdio(bin string, args []string) any {
	return struct {
		Type    string   `json:"type"`
		Command []string `json:"command"`
		Enabled bool     `json:"enabled"`
	}{"local", append([]string{bin}, args...), true}
}

// openJSON reads a JSON or JSONC file, keeping its comments and layout.
func openJSON(path string, key []string, follow bool) (store, error) {
	f, err := mcpjson.Open(path, mcpjson.Options{Key: key, Follow: follow})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// openTOML reads Codex's config.toml, whose servers are [mcp_servers.NAME].
func openTOML(path string, _ []string, follow bool) (store, error) {
	f, err := loadTOML(path, "mcp_servers", follow)
	if err != nil {
		return nil, err
	}
	return f, nil
}
