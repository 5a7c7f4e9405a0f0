package mcpclients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A project's .mcp.json or .codex/config.toml (read by mcp list, mcp
// remove, setup and completion) may nest a million deep after a comment
// with an apostrophe in it, or name a table a million keys deep: each is
// refused at once, before a parser recurses or loops over it.
func TestProjectFileNestingIsBounded(t *testing.T) {
	n := 1 << 20
	for _, c := range []struct{ client, text string }{
		{"claude-code", "// it's\n{\"mcpServers\": " + strings.Repeat("[", n) + strings.Repeat("]", n) + "}\n"},
		{"codex", "# it's\na = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"},
		{"codex", "[" + strings.Repeat("a.", n) + "a]\n"},
		{"codex", strings.Repeat("a.", n) + "a = 1\n"},
	} {
		client, _ := Lookup(c.client)
		project := t.TempDir()
		path := client.Path(Env{}, Project, project)
		os.MkdirAll(filepath.Dir(path), 0o700)
		os.WriteFile(path, []byte(c.text), 0o600)
		if _, err := client.Open(Env{}, Project, project); err == nil || !strings.Contains(err.Error(), "nests deeper") {
			t.Errorf("%s %.20q…: %v", c.client, c.text, err)
		}
	}
}
