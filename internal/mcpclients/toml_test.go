package mcpclients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Codex's config.toml: adding, replacing and removing [mcp_servers.NAME]
// leaves every other byte as the user wrote it.
func TestTOMLSurgicalEdits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	orig := `# my codex config
model = "o3"  # the good one

[mcp_servers.github]
command = "gh-mcp"
args = ["--x"]

[mcp_servers.github.env]
GH = "1"

[[profiles]]
name = "a"
`
	os.WriteFile(path, []byte(orig), 0o640)
	f, err := loadTOML(path, "mcp_servers")
	if err != nil {
		t.Fatal(err)
	}
	keys := []tomlKey{{"command", "/usr/bin/sfmcp-token"}, {"args", []string{"mcp-proxy", "--profile", "prod"}}}
	if err := f.set("snowflake", keys); err != nil {
		t.Fatal(err)
	}
	if err := f.save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := orig + "\n[mcp_servers.snowflake]\ncommand = \"/usr/bin/sfmcp-token\"\nargs = [\"mcp-proxy\", \"--profile\", \"prod\"]\n"
	if string(data) != want {
		t.Fatalf("after add:\n%s\nwant:\n%s", data, want)
	}
	// Replace github's table (and its env sub-table), keep the rest.
	f, _ = loadTOML(path, "mcp_servers")
	f.set("github", []tomlKey{{"command", "gh2"}})
	f.save()
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "GH = ") || !strings.Contains(string(data), "[mcp_servers.github]\ncommand = \"gh2\"\n\n[[profiles]]") || !strings.HasPrefix(string(data), "# my codex config\nmodel = \"o3\"  # the good one\n") {
		t.Fatalf("after replace:\n%s", data)
	}
	f, _ = loadTOML(path, "mcp_servers")
	names, entries := f.entries()
	if len(names) != 2 || !strings.Contains(string(entries["snowflake"]), "mcp-proxy") {
		t.Fatalf("entries: %v %v", names, entries)
	}
	if ok, err := f.remove("snowflake"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	f.save()
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "snowflake") || !strings.Contains(string(data), "[[profiles]]\nname = \"a\"\n") {
		t.Fatalf("after remove:\n%s", data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}

// A server defined as an inline table or dotted keys is not edited by
// guesswork.
func TestTOMLRefusesOtherForms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("mcp_servers.snowflake.command = \"x\"\n"), 0o600)
	f, err := loadTOML(path, "mcp_servers")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.set("snowflake", []tomlKey{{"command", "y"}}); err == nil {
		t.Fatal("a dotted-key server was overwritten")
	}
	if _, err := f.remove("snowflake"); err == nil {
		t.Fatal("a dotted-key server was removed")
	}
	// Quoted names round-trip.
	os.WriteFile(path, nil, 0o600)
	f, _ = loadTOML(path, "mcp_servers")
	f.set("snow flake", []tomlKey{{"command", "y"}})
	f.save()
	f, _ = loadTOML(path, "mcp_servers")
	if names, _ := f.entries(); len(names) != 1 || names[0] != "snow flake" {
		t.Fatalf("quoted name: %v", names)
	}
	if ok, _ := f.remove("snow flake"); !ok {
		t.Fatal("quoted name not found")
	}
}
