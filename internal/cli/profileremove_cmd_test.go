//go:build unix

package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// profile remove keeps a profile that MCP client entries use and lists
// them; --force removes sfmcp's entries with it and never another
// program's; doctor then names the profile that is missing.
func TestProfileRemoveInUse(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.privateDaemon()
	h.mustRun("profile", "add", "standin", "--account", "myorg-acct", "--host", h.sf.Host())
	h.mustRun("profile", "add", "other", "--account", "myorg-other")
	h.writeFile(".claude.json", `{"mcpServers":{"keep":{"command":"npx","args":["srv","--profile","standin"]}}}`)
	add := []string{"--profile", "standin", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token", "--scope", "user"}
	h.mustRun(append([]string{"mcp", "add", "snowflake"}, add...)...)
	h.mustRun(append([]string{"mcp", "add", "sf", "--client", "cursor"}, add...)...)
	h.mustRun("mcp", "add", "theirs", "--scope", "user", "--profile", "other", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token")
	config, claude := h.readFile("config.toml"), h.readFile(".claude.json")

	code, out, errOut := h.run("", "profile", "remove", "standin")
	want := "MCP client entries that use profile standin:\n" +
		"  snowflake (~/.claude.json, Claude Code user scope)\n" +
		"  sf (~/.cursor/mcp.json, Cursor user scope)\n" +
		"sfmcp: profile standin is used by 2 MCP client entries; nothing was removed\n" +
		"sfmcp: to remove them with the profile, run: sfmcp-token profile remove standin --force\n"
	if code != exitcode.Usage || out != "" || errOut != want {
		t.Errorf("without --force: exit %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	if h.readFile("config.toml") != config || h.readFile(".claude.json") != claude {
		t.Fatal("a refused removal changed a file")
	}

	out = h.mustRun("profile", "remove", "standin", "--force")
	for _, line := range []string{
		`Removed MCP server "snowflake" for Claude Code from ` + filepath.Join(h.dir, ".claude.json") + ".",
		`Removed MCP server "sf" for Cursor from ` + filepath.Join(h.dir, ".cursor", "mcp.json") + ".",
		"Profile standin removed.",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("--force output lacks %q:\n%s", line, out)
		}
	}
	claude = h.readFile(".claude.json")
	if strings.Contains(claude, `"snowflake"`) || !strings.Contains(claude, `"keep"`) || !strings.Contains(claude, `"theirs"`) {
		t.Errorf("~/.claude.json after --force:\n%s", claude)
	}
	if cursor := h.readFile(".cursor/mcp.json"); strings.Contains(cursor, `"sf"`) {
		t.Errorf("~/.cursor/mcp.json after --force:\n%s", cursor)
	}
	if strings.Contains(h.readFile("config.toml"), "standin") {
		t.Error("the profile is still in the config")
	}

	code, out, _ = h.run("", "doctor", "--profile", "standin")
	if code != exitcode.ChecksFailed {
		t.Errorf("doctor of the removed profile: exit %d", code)
	}
	findCheck(t, out, reportLine{`✗ profile selected: profile not found: "standin"`, "profile standin does not exist; run: sfmcp-token profile list"})
}

// Without --mcp-file, doctor checks the entry mcp add --scope user (and
// setup) writes to ~/.claude.json, naming the file, and fails an entry
// whose profile does not exist.
func TestDoctorChecksEveryClientsFiles(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.privateDaemon()
	h.startDaemon()
	h.signIn()
	h.mustRun("mcp", "add", "snowflake", "--scope", "user", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token")
	h.writeFile(".codex/config.toml", "[mcp_servers.gone]\ncommand = \"/usr/local/bin/sfmcp-token\"\nargs = [\"mcp-proxy\", \"--profile\", \"standin\", \"--server\", \"DB.PUBLIC.GONG_MCP\"]\n")
	code, out, _ := h.run("", "doctor")
	findCheck(t, out, reportLine{"✓ MCP server snowflake (~/.claude.json, Claude Code user scope) answers initialize + tools/list: 2 tools", ""})
	findCheck(t, out, reportLine{"✗ MCP server gone (~/.codex/config.toml, Codex CLI user scope) uses an existing profile: standin", "profile standin does not exist; run: sfmcp-token profile list"})
	if code != exitcode.ChecksFailed || strings.Count(out, "✗") != 1 {
		t.Errorf("exit %d, want %d with one failed check:\n%s", code, exitcode.ChecksFailed, out)
	}
	if strings.Contains(out, "MCP servers configured") {
		t.Errorf("doctor says no server uses the profile:\n%s", out)
	}
}
