package mcpclients

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Uses finds sfmcp's entries of a profile in the user's and the
// project's files of every client, never another program's, and names
// each file; RemoveUses removes only those and keeps the rest.
func TestUsesAndRemoveUses(t *testing.T) {
	home, project := t.TempDir(), t.TempDir()
	e := Env{Home: home, GOOS: "linux"}
	bridge := func(profile string) string {
		return `{"command":"/usr/bin/sfmcp-token","args":["mcp-proxy","--profile","` + profile + `","--server","DB.S.M"]}`
	}
	files := map[string]string{
		filepath.Join(home, ".claude.json"): `{"mcpServers":{"a":` + bridge("standin") + `,"b":` + bridge("prod") +
			`,"foreign":{"command":"npx","args":["--profile","standin"]}}}`,
		filepath.Join(project, ".cursor", "mcp.json"): `{"mcpServers":{"c":{"url":"https://h/x","headersHelper":"sfmcp-token headers --profile standin"}}}`,
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	uses := Uses(e, project, func(o Ours) bool { return o.Profile == "standin" })
	var got []string
	for _, u := range uses {
		got = append(got, u.Name+" @ "+u.Where(home))
	}
	want := []string{"a @ ~/.claude.json, Claude Code user scope", "c @ " + filepath.Join(project, ".cursor", "mcp.json") + ", Cursor project scope"}
	if !slices.Equal(got, want) {
		t.Fatalf("uses = %q, want %q", got, want)
	}
	if all := Uses(e, project, nil); len(all) != 3 {
		t.Errorf("all of sfmcp's entries: %d, want 3 (a, b, c)", len(all))
	}
	changed, err := RemoveUses(uses)
	if err != nil || len(changed) != 2 {
		t.Fatalf("RemoveUses: %d files, %v", len(changed), err)
	}
	for _, cfg := range changed {
		if err := cfg.Save(); err != nil {
			t.Fatal(err)
		}
	}
	claude, _ := os.ReadFile(filepath.Join(home, ".claude.json"))
	if strings.Contains(string(claude), `"a"`) || !strings.Contains(string(claude), `"b"`) || !strings.Contains(string(claude), `"foreign"`) {
		t.Errorf("~/.claude.json after removal: %s", claude)
	}
	if left := Uses(e, project, func(o Ours) bool { return o.Profile == "standin" }); len(left) != 0 {
		t.Errorf("entries of standin left: %+v", left)
	}
}

// An entry that stopped being sfmcp's between listing and removal is
// refused, and nothing is removed.
func TestRemoveUsesRefusesAnotherProgramsEntry(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".claude.json")
	if err := os.WriteFile(path, []byte(`{"mcpServers":{"x":{"command":"npx"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cc, _ := Lookup("claude-code")
	c, err := cc.Open(Env{Home: home, GOOS: "linux"}, User, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveUses([]Use{{Config: c, Name: "x"}}); err == nil || c.Entry("x") == nil {
		t.Errorf("removed another program's entry: %v", err)
	}
}
