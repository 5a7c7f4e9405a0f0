package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func TestMCPAddListRemove(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-my_acct")
	file := filepath.Join(h.dir, ".mcp.json")
	os.WriteFile(file, []byte(`{"mcpServers":{"other":{"type":"http","url":"https://x.example/mcp"}},"keep":true}`), 0o644)
	out := h.mustRun("mcp", "add", "snowflake", "--file", file, "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token")
	if !strings.Contains(out, "claude mcp add-json snowflake '") {
		t.Fatalf("no claude mcp add-json line: %s", out)
	}
	h.mustRun("mcp", "add", "sf-headers", "--file", file, "--profile", "prod", "--server", "db.public.gong_mcp", "--mode", "headers", "--command", "/opt/my tools/sfmcp-token")
	var doc struct {
		Keep       bool                       `json:"keep"`
		MCPServers map[string]json.RawMessage `json:"mcpServers"`
	}
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &doc); err != nil || !doc.Keep || doc.MCPServers["other"] == nil {
		t.Fatalf("foreign content lost: %s", data)
	}
	var proxy struct {
		Type, Command string
		Args          []string
	}
	json.Unmarshal(doc.MCPServers["snowflake"], &proxy)
	if proxy.Type != "stdio" || proxy.Command != "/usr/local/bin/sfmcp-token" || strings.Join(proxy.Args, " ") != "mcp-proxy --profile prod --server DB.PUBLIC.GONG_MCP" {
		t.Fatalf("proxy entry = %+v", proxy)
	}
	var hdr struct{ Type, URL, HeadersHelper string }
	json.Unmarshal(doc.MCPServers["sf-headers"], &hdr)
	if hdr.Type != "http" || hdr.URL != "https://myorg-my-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP" ||
		hdr.HeadersHelper != "'/opt/my tools/sfmcp-token' headers --profile prod" {
		t.Fatalf("headers entry = %+v", hdr)
	}
	list := h.mustRun("mcp", "list", "--file", file)
	if !strings.Contains(list, "sfmcp proxy") || !strings.Contains(list, "sfmcp headers") || !strings.Contains(list, "other") {
		t.Fatalf("list:\n%s", list)
	}
	h.mustRun("mcp", "remove", "snowflake", "--file", file)
	if code, _, _ := h.run("", "mcp", "remove", "snowflake", "--file", file); code != exitcode.Usage {
		t.Fatal("removing a missing entry should be a usage error")
	}
	h.env["HOME"] = h.dir
	h.mustRun("mcp", "add", "snowflake", "--user", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/bin/sfmcp-token")
	if data, err := os.ReadFile(filepath.Join(h.dir, ".claude.json")); err != nil || !strings.Contains(string(data), "mcp-proxy") {
		t.Fatalf("--user did not write ~/.claude.json: %v %s", err, data)
	}
}

// Security issue, item 13: a hand-edited profile name that is shell is
// refused when the config loads, so it never reaches a headersHelper.
func TestHostileProfileNameNeverWrittenAsShell(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	pwned := filepath.Join(h.dir, "pwned")
	os.WriteFile(h.env["SFMCP_CONFIG"], []byte("[profiles.\"x; touch "+pwned+"\"]\naccount = \"myorg-acct\"\n"), 0o600)
	file := filepath.Join(h.dir, ".mcp.json")
	code, _, errOut := h.run("", "mcp", "add", "snowflake", "--file", file, "--profile", "x; touch "+pwned, "--server", "DB.PUBLIC.GONG_MCP", "--mode", "headers", "--command", "sfmcp-token")
	if code != exitcode.Usage || !strings.Contains(errOut, "profile name") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal(".mcp.json was written")
	}
}

// Issue #20, item 9: another program's entry, its secret in env, is
// neither replaced nor removed without --force (exit 2, the file as it
// was); with --force it goes whole, so its secret never reaches sfmcp's
// bridge. The same for Claude Code's JSON and Codex's TOML.
func TestMCPAnotherProgramsEntry(t *testing.T) {
	const secret = "ghp_000000000000000000000000000000000000"
	for _, tc := range []struct{ client, file, content string }{
		{"claude-code", ".mcp.json", `{"mcpServers": {"github": {"command": "npx", "args": ["-y", "server-github"], "env": {"GITHUB_TOKEN": "` + secret + `"}}}}` + "\n"},
		{"codex", "codex.toml", "[mcp_servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"server-github\"]\n\n[mcp_servers.github.env]\nGITHUB_TOKEN = \"" + secret + "\"\n\n[mcp_servers.github.tools.search]\napproval = \"never\"\n"},
	} {
		t.Run(tc.client, func(t *testing.T) {
			h := newHarness(t, snowflaketest.Options{})
			h.leaks.Secret(secret)
			h.mustRun("profile", "add", "prod", "--account", "myorg-acct")
			file := filepath.Join(h.dir, tc.file)
			os.WriteFile(file, []byte(tc.content), 0o600)
			add := []string{"mcp", "add", "github", "--client", tc.client, "--file", file, "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token"}
			remove := []string{"mcp", "remove", "github", "--client", tc.client, "--file", file}
			for _, args := range [][]string{add, remove} {
				code, _, errOut := h.run("", args...)
				lines := strings.Split(strings.TrimSpace(errOut), "\n")
				if code != exitcode.Usage || len(lines) != 2 || !strings.Contains(lines[0], `MCP server "github" is not sfmcp's; nothing was changed`) ||
					!strings.Contains(lines[1], "run: sfmcp-token "+strings.Join(args, " ")+" --force") {
					t.Errorf("mcp %s without --force: exit %d\n%s", args[1], code, errOut)
				}
				if data, _ := os.ReadFile(file); string(data) != tc.content {
					t.Errorf("mcp %s without --force changed the file", args[1])
				}
			}
			if out := h.mustRun(append(remove, "--force")...); !strings.Contains(out, `Removed MCP server "github"`) {
				t.Errorf("remove --force: %s", out)
			}
			if data, _ := os.ReadFile(file); strings.Contains(string(data), "github") {
				t.Errorf("remove --force left the entry")
			}
			os.WriteFile(file, []byte(tc.content), 0o600)
			if out := h.mustRun(append(add, "--force")...); !strings.Contains(out, `Replaced another program's MCP server "github"`) {
				t.Errorf("add --force: %s", out)
			}
			data, _ := os.ReadFile(file)
			h.leaks.Record(tc.file+" after mcp add --force", string(data))
			for _, old := range []string{"GITHUB_TOKEN", "ghp_", "server-github", "env", "approval"} {
				if strings.Contains(string(data), old) {
					t.Errorf("%q of the other program's entry stayed after add --force", old)
				}
			}
			if list := h.mustRun("mcp", "list", "--client", tc.client, "--file", file); !strings.Contains(list, "sfmcp proxy") {
				t.Errorf("the forced entry is not sfmcp's:\n%s", list)
			}
		})
	}
}

// mcp add says what it did: added, updated (sfmcp's entry, the user's own
// keys kept in the user's own file), or nothing when the entry already
// reads as it would write it, however it is formatted; then the file is
// not written at all.
func TestMCPAddSaysWhatItDid(t *testing.T) {
	for _, tc := range []struct{ client, file, userKey string }{
		{"claude-code", ".claude.json", `"HTTPS_PROXY"`},
		{"codex", ".codex/config.toml", "HTTPS_PROXY ="},
	} {
		t.Run(tc.client, func(t *testing.T) {
			h := newHarness(t, snowflaketest.Options{})
			h.mustRun("profile", "add", "prod", "--account", "myorg-acct")
			file := filepath.Join(h.dir, tc.file)
			add := []string{"mcp", "add", "snowflake", "--client", tc.client, "--scope", "user", "--profile", "prod", "--command", "/usr/local/bin/sfmcp-token", "--server"}
			if out := h.mustRun(append(add, "DB.PUBLIC.GONG_MCP")...); !strings.HasPrefix(out, `Added MCP server "snowflake"`) {
				t.Fatalf("first add: %s", out)
			}
			// The user reformats the file and gives the entry a key of
			// their own.
			data, _ := os.ReadFile(file)
			if tc.client == "codex" {
				data = []byte(strings.ReplaceAll(string(data), "\n", "\n\n") + "[mcp_servers.snowflake.env]\nHTTPS_PROXY = \"http://proxy.corp:8080\"\n")
			} else {
				var doc map[string]map[string]map[string]any
				json.Unmarshal(data, &doc)
				doc["mcpServers"]["snowflake"]["env"] = map[string]string{"HTTPS_PROXY": "http://proxy.corp:8080"}
				data, _ = json.Marshal(doc)
			}
			os.WriteFile(file, data, 0o600)
			before, _ := os.Stat(file)
			out := h.mustRun(append(add, "DB.PUBLIC.GONG_MCP")...)
			if want := fmt.Sprintf("MCP server %q is already configured for %s in %s.\n", "snowflake", map[string]string{"claude-code": "Claude Code", "codex": "Codex CLI"}[tc.client], file); out != want {
				t.Errorf("identical add said %q, want %q", out, want)
			}
			if again, _ := os.ReadFile(file); string(again) != string(data) {
				t.Errorf("an identical add changed the file:\n%s", again)
			}
			if after, _ := os.Stat(file); !os.SameFile(before, after) {
				t.Error("an identical add rewrote the file")
			}
			if out := h.mustRun(append(add, "DB.PUBLIC.OTHER_MCP")...); !strings.HasPrefix(out, `Updated MCP server "snowflake"`) {
				t.Errorf("changed add: %s", out)
			}
			data, _ = os.ReadFile(file)
			if !strings.Contains(string(data), "OTHER_MCP") || !strings.Contains(string(data), tc.userKey) {
				t.Errorf("after the update:\n%s", data)
			}
			// A file named with --file may be a project's: sfmcp's entry
			// there is rewritten whole, as in a project's own file.
			other := []string{"mcp", "add", "snowflake", "--client", tc.client, "--file", file, "--profile", "prod", "--command", "/usr/local/bin/sfmcp-token", "--server", "DB.PUBLIC.OTHER_MCP"}
			if out := h.mustRun(other...); !strings.HasPrefix(out, `Updated MCP server "snowflake"`) {
				t.Errorf("add --file: %s", out)
			}
			if data, _ = os.ReadFile(file); strings.Contains(string(data), tc.userKey) {
				t.Errorf("--file kept a key beside sfmcp's entry:\n%s", data)
			}
		})
	}
}

// setup refuses another program's entry as mcp add does, with the same
// words, before it changes anything.
func TestSetupRefusesAnotherProgramsEntry(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	file := filepath.Join(h.dir, ".claude.json")
	content := `{"mcpServers": {"github": {"command": "npx", "env": {"GITHUB_TOKEN": "ghp_000000000000000000000000000000000000"}}}}`
	h.leaks.Secret("ghp_000000000000000000000000000000000000")
	os.WriteFile(file, []byte(content), 0o600)
	code, _, errOut := h.run("", "setup", "--yes", "--profile", "prod", "--account", "myorg-acct", "--server", "DB.PUBLIC.GONG_MCP", "--mcp-name", "github", "--client", "claude-code")
	if code != exitcode.Usage || !strings.Contains(errOut, `MCP server "github" is not sfmcp's; nothing was changed`) || !strings.Contains(errOut, "sfmcp-token mcp remove github --client claude-code --scope user --force") {
		t.Fatalf("setup over another program's entry: exit %d\n%s", code, errOut)
	}
	if data, _ := os.ReadFile(file); string(data) != content {
		t.Error("setup changed the file")
	}
	if _, err := os.Stat(h.env["SFMCP_CONFIG"]); err == nil {
		t.Error("setup added the profile although it refused")
	}
}

// mcp add and remove take --scope user|project. User scope is the default,
// for Claude Code too; the old --user still means user scope, with a notice
// on stderr only, and is out of the help.
func TestMCPScope(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct")
	h.env["HOME"] = h.dir
	project := t.TempDir()
	t.Chdir(project)
	user, proj := filepath.Join(h.dir, ".claude.json"), filepath.Join(project, ".mcp.json")
	has := func(file string) bool {
		data, _ := os.ReadFile(file)
		return strings.Contains(string(data), "DB.PUBLIC.GONG_MCP")
	}
	add := []string{"mcp", "add", "snowflake", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/bin/sfmcp-token"}
	for _, tc := range []struct {
		flags        []string
		file, notice string
	}{
		{nil, user, ""},
		{[]string{"--scope", "user"}, user, ""},
		{[]string{"--scope", "project"}, proj, ""},
		{[]string{"--user"}, user, "sfmcp: --user is deprecated: use --scope user\n"},
	} {
		code, out, errOut := h.run("", slices.Concat(add, tc.flags)...)
		if code != 0 || errOut != tc.notice || !has(tc.file) || has(user) == has(proj) {
			t.Fatalf("mcp add %v: exit %d, want the entry in %s only\nstdout: %s\nstderr: %s", tc.flags, code, tc.file, out, errOut)
		}
		code, out, errOut = h.run("", slices.Concat([]string{"mcp", "remove", "snowflake"}, tc.flags)...)
		if code != 0 || errOut != tc.notice || has(user) || has(proj) {
			t.Fatalf("mcp remove %v: exit %d\nstdout: %s\nstderr: %s", tc.flags, code, out, errOut)
		}
	}
	if code, _, errOut := h.run("", slices.Concat(add, []string{"--user", "--scope", "project"})...); code != exitcode.Usage || !strings.Contains(errOut, "contradict") {
		t.Errorf("--user --scope project: exit %d %s", code, errOut)
	}
	for _, cmd := range []string{"add", "remove", "list"} {
		if _, out, _ := h.run("", "mcp", cmd, "--help"); !strings.Contains(out, "--scope") || strings.Contains(out, "--user") {
			t.Errorf("mcp %s --help shows --user or lacks --scope:\n%s", cmd, out)
		}
	}
}

// mcp list that finds nothing says where it looked: outside a project,
// Claude Code's project scope is one file, not "any client's
// configuration", and the user's entries are elsewhere.
func TestMCPListNothingFoundSaysWhatWasSearched(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-my_acct")
	h.mustRun("mcp", "add", "snowflake", "--scope", "user", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token")
	project := t.TempDir()
	t.Chdir(project)
	code, out, errOut := h.run("", "mcp", "list", "--client", "claude-code", "--scope", "project")
	want := "No MCP servers in the file searched:\n  .mcp.json (Claude Code, project scope)\n" +
		"Without --client, --file or --scope, mcp list searches every client's user and project files.\n"
	if code != 0 || out != "" || !strings.HasPrefix(errOut, want) || strings.Contains(errOut, "any client") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant it to start:\n%s", code, out, errOut, want)
	}
	// Without a choice, every client's files are searched, and the
	// user's entry is found.
	if list := h.mustRun("mcp", "list"); !strings.Contains(list, "snowflake") || !strings.Contains(list, filepath.Join(h.dir, ".claude.json")) {
		t.Errorf("mcp list:\n%s", list)
	}
}
