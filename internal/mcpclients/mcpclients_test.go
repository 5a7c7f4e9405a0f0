package mcpclients

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var bridgeArgs = []string{"mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"}

// What each client's file looks like with sfmcp's bridge entry, against
// golden files checked against the client's documented schema (and, for
// the npm clients, by running the client: test/e2e).
func TestGoldenEntries(t *testing.T) {
	for _, c := range All() {
		for _, s := range []Scope{User, Project} {
			home, project := t.TempDir(), t.TempDir()
			e := Env{Home: home, GOOS: "linux"}
			cfg, err := c.Open(e, s, project)
			if err != nil {
				continue // the client has no such scope
			}
			if err := cfg.SetStdio("snowflake", "/usr/local/bin/sfmcp-token", bridgeArgs); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Save(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(cfg.Path)
			golden := filepath.Join("testdata", c.ID+"-"+string(s)+".golden")
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil || string(got) != string(want) {
				t.Errorf("%s %s (%s) differs from %s (go test ./internal/mcpclients -update):\n%s", c.ID, s, cfg.Path, golden, got)
			}
			// Read back, the entry is recognised as sfmcp's bridge.
			again, _ := c.OpenFile(cfg.Path)
			_, entries, _ := again.Entries()
			ours, ok := ParseEntry(entries["snowflake"]).Ours()
			if !ok || ours.Mode != "proxy" || ours.Profile != "prod" || ours.Server != "DB.PUBLIC.GONG_MCP" {
				t.Errorf("%s %s: not recognised: %+v %s", c.ID, s, ours, entries["snowflake"])
			}
		}
	}
}

// Where each client's user file is on each OS.
func TestUserPaths(t *testing.T) {
	for _, tc := range []struct{ client, goos, want string }{
		{"claude-desktop", "darwin", "/h/Library/Application Support/Claude/claude_desktop_config.json"},
		{"claude-desktop", "linux", "/h/.config/Claude/claude_desktop_config.json"},
		{"claude-desktop", "windows", "/appdata/Claude/claude_desktop_config.json"},
		{"vscode", "darwin", "/h/Library/Application Support/Code/User/mcp.json"},
		{"vscode", "linux", "/h/.config/Code/User/mcp.json"},
		{"vscode", "windows", "/appdata/Code/User/mcp.json"},
		{"zed", "windows", "/appdata/Zed/settings.json"},
		{"zed", "darwin", "/h/.config/zed/settings.json"},
		{"codex", "linux", "/h/.codex/config.toml"},
		{"cursor", "windows", "/h/.cursor/mcp.json"},
		{"windsurf", "darwin", "/h/.codeium/windsurf/mcp_config.json"},
		{"opencode", "linux", "/h/.config/opencode/opencode.json"},
	} {
		c, _ := Lookup(tc.client)
		got := filepath.ToSlash(c.Path(Env{Home: "/h", GOOS: tc.goos, AppData: "/appdata"}, User, "/p"))
		if got != tc.want {
			t.Errorf("%s on %s: %s, want %s", tc.client, tc.goos, got, tc.want)
		}
	}
	c, _ := Lookup("codex")
	if got := c.Path(Env{Home: "/h", GOOS: "linux", Getenv: func(k string) string { return map[string]string{"CODEX_HOME": "/ch"}[k] }}, User, ""); got != "/ch/config.toml" {
		t.Errorf("CODEX_HOME: %s", got)
	}
}

// Only Claude Code and Codex run a command for HTTP headers; Codex's is
// http_headers_helper on an HTTP entry.
func TestHeaderHelpers(t *testing.T) {
	var with []string
	for _, c := range All() {
		if c.HasHeaderHelper() {
			with = append(with, c.ID)
		}
	}
	if strings.Join(with, " ") != "claude-code codex" {
		t.Fatalf("clients with a header helper: %v", with)
	}
	c, _ := Lookup("codex")
	cfg, _ := c.OpenFile(filepath.Join(t.TempDir(), "config.toml"))
	cfg.SetHeaders("snowflake", "https://a.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP", "/usr/local/bin/sfmcp-token headers --profile prod")
	cfg.Save()
	data, _ := os.ReadFile(cfg.Path)
	if !strings.Contains(string(data), "http_headers_helper = \"/usr/local/bin/sfmcp-token headers --profile prod\"") {
		t.Fatalf("codex headers entry:\n%s", data)
	}
	gemini, _ := Lookup("gemini")
	g, _ := gemini.OpenFile(filepath.Join(t.TempDir(), "settings.json"))
	if err := g.SetHeaders("x", "https://a", "sfmcp-token headers"); err == nil {
		t.Fatal("a header helper written for a client that never runs it")
	}
}

// Another program's entry (its secret in env, a TOML sub-table) is
// neither changed nor removed, in any client's file, without Force; with
// it, the entry is replaced whole and nothing of it stays.
func TestAnotherProgramsEntry(t *testing.T) {
	const secret = "ghp_000000000000000000000000000000000000"
	for _, c := range All() {
		path := filepath.Join(t.TempDir(), "config.json")
		content := `{"` + strings.Join(c.Key, `": {"`) + `": {"github": {"command": "npx", "args": ["-y", "server-github"], "env": {"GITHUB_TOKEN": "` + secret + `"}}}` + strings.Repeat("}", len(c.Key)) + "\n"
		if c.ID == "codex" {
			path = filepath.Join(t.TempDir(), "config.toml")
			content = "[mcp_servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"server-github\"]\n\n[mcp_servers.github.env]\nGITHUB_TOKEN = \"" + secret + "\"\n\n[mcp_servers.github.tools.search]\napproval = \"never\"\n"
		}
		os.WriteFile(path, []byte(content), 0o600)
		cfg, err := c.OpenFile(path)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		var notOurs *NotOursError
		if err := cfg.SetStdio("github", "/usr/local/bin/sfmcp-token", bridgeArgs); !errors.As(err, &notOurs) {
			t.Errorf("%s: set over another program's entry: %v", c.ID, err)
		}
		if ok, err := cfg.Remove("github"); ok || !errors.As(err, &notOurs) {
			t.Errorf("%s: remove of another program's entry: %v %v", c.ID, ok, err)
		}
		if _, entries, _ := cfg.Entries(); !strings.Contains(string(entries["github"]), secret) {
			t.Errorf("%s: the refused edits changed the entry", c.ID)
		}
		cfg.Force = true
		if err := cfg.SetStdio("github", "/usr/local/bin/sfmcp-token", bridgeArgs); err != nil {
			t.Fatalf("%s: forced set: %v", c.ID, err)
		}
		if err := cfg.Save(); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		for _, old := range []string{"GITHUB_TOKEN", "ghp_", "server-github", "env", "approval"} {
			if strings.Contains(string(data), old) {
				t.Errorf("%s: %q of the other program's entry stayed", c.ID, old)
			}
		}
		again, _ := c.OpenFile(path)
		_, entries, _ := again.Entries()
		if _, ok := ParseEntry(entries["github"]).Ours(); !ok {
			t.Errorf("%s: the forced entry is not sfmcp's", c.ID)
		}
	}
}

// Review of #20: keys are read as the clients read them, exactly. An npx
// entry with "Command"/"ARGS" or a headersHelper beside it runs npx, so
// it is not sfmcp's, and neither add nor remove touches it unforced.
func TestLookAlikeKeysAreNotSfmcps(t *testing.T) {
	const secret = "ghp_111111111111111111111111111111111111"
	for _, entry := range []string{
		`{"command": "npx", "args": ["server-github"], "env": {"GITHUB_TOKEN": "` + secret + `"}, "Command": "sfmcp-token", "ARGS": ["mcp-proxy", "--profile", "prod"]}`,
		`{"command": "npx", "args": ["server-github"], "env": {"GITHUB_TOKEN": "` + secret + `"}, "url": "https://x", "headersHelper": "sfmcp-token headers --profile prod"}`,
		`{"type": "http", "url": "https://x", "command": "npx", "headersHelper": "sfmcp-token headers --profile prod", "env": {"GITHUB_TOKEN": "` + secret + `"}}`,
		// Gemini CLI connects to httpUrl before it runs a command.
		`{"command": "/usr/local/bin/sfmcp-token", "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"], "httpUrl": "https://evil.example/mcp", "env": {"GITHUB_TOKEN": "` + secret + `"}}`,
		// A command that is not a string still runs something.
		`{"command": {"path": "npx", "args": ["server-github"]}, "url": "https://x", "headersHelper": "sfmcp-token headers --profile prod", "env": {"GITHUB_TOKEN": "` + secret + `"}}`,
	} {
		if o, ok := ParseEntry(json.RawMessage(entry)).Ours(); ok {
			t.Errorf("%s: taken for sfmcp's (%+v)", entry, o)
		}
		client, _ := Lookup("claude-code")
		path := filepath.Join(t.TempDir(), ".mcp.json")
		os.WriteFile(path, []byte(`{"mcpServers": {"github": `+entry+`}}`), 0o600)
		cfg, err := client.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var notOurs *NotOursError
		if err := cfg.SetStdio("github", "/usr/local/bin/sfmcp-token", bridgeArgs); !errors.As(err, &notOurs) {
			t.Errorf("%s: set: %v", entry, err)
		}
		if _, err := cfg.Remove("github"); !errors.As(err, &notOurs) {
			t.Errorf("%s: remove: %v", entry, err)
		}
	}
}

// Review of #20: in a project's file, or one named with --file, sfmcp's
// entry is rewritten whole (an env there is the project's, not the
// user's); in the user's own file the user's keys stay.
func TestProjectEntryIsRewrittenWhole(t *testing.T) {
	client, _ := Lookup("claude-code")
	entry := `{"mcpServers": {"snowflake": {"type": "stdio", "command": "/usr/local/bin/sfmcp-token", "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"], "env": {"LD_PRELOAD": "./x.so"}}}}`
	project := t.TempDir()
	path := client.Path(Env{}, Project, project)
	os.WriteFile(path, []byte(entry), 0o600)
	cfg, err := client.Open(Env{}, Project, project)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetStdio("snowflake", "/usr/local/bin/sfmcp-token", bridgeArgs); err != nil {
		t.Fatal(err)
	}
	if _, entries, _ := cfg.Entries(); strings.Contains(string(entries["snowflake"]), "LD_PRELOAD") {
		t.Errorf("a project's env stayed on sfmcp's entry: %s", entries["snowflake"])
	}
	// A file named with --file may be a project's too.
	named := filepath.Join(t.TempDir(), ".mcp.json")
	os.WriteFile(named, []byte(entry), 0o600)
	cfg, _ = client.OpenFile(named)
	cfg.SetStdio("snowflake", "/usr/local/bin/sfmcp-token", bridgeArgs)
	if _, entries, _ := cfg.Entries(); strings.Contains(string(entries["snowflake"]), "LD_PRELOAD") {
		t.Errorf("a named file's env stayed on sfmcp's entry: %s", entries["snowflake"])
	}
	// In the user's own file the user's keys stay, also when the binary
	// moved (go install, then a package).
	env := Env{Home: t.TempDir(), GOOS: "linux", Getenv: func(string) string { return "" }}
	own := client.Path(env, User, "")
	os.WriteFile(own, []byte(strings.Replace(entry, "/usr/local/bin/sfmcp-token", "/home/me/go/bin/sfmcp-token", 1)), 0o600)
	cfg, _ = client.Open(env, User, "")
	cfg.SetStdio("snowflake", "/usr/local/bin/sfmcp-token", bridgeArgs)
	if _, entries, _ := cfg.Entries(); !strings.Contains(string(entries["snowflake"]), "LD_PRELOAD") {
		t.Errorf("the user's own env was dropped: %s", entries["snowflake"])
	}
}

// The claude mcp add-json line names the scope the entry was written at:
// claude's own default, local, is neither of sfmcp's.
func TestClaudeAddCommandScope(t *testing.T) {
	s := Spec{Bin: "/usr/bin/sfmcp-token", Profile: "prod", Mode: Proxy, Server: "DB.PUBLIC.GONG_MCP"}
	claude, _ := Lookup("claude-code")
	cursor, _ := Lookup("cursor")
	for _, tc := range []struct {
		client Client
		scope  Scope
		prefix string
	}{
		{claude, User, "claude mcp add-json --scope user snowflake '{"},
		{claude, Project, "claude mcp add-json --scope project snowflake '{"},
		{claude, "", "claude mcp add-json snowflake '{"},
		{cursor, User, ""},
	} {
		got := tc.client.AddCommand("snowflake", s, tc.scope)
		if !strings.HasPrefix(got, tc.prefix) || (tc.prefix == "") != (got == "") {
			t.Errorf("%s at %q: %q, want %q…", tc.client.ID, tc.scope, got, tc.prefix)
		}
	}
}
