package mcpclients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
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
	f, err := loadTOML(path, "mcp_servers", false)
	if err != nil {
		t.Fatal(err)
	}
	keys := []tomlKey{{"command", "/usr/bin/sfmcp-token"}, {"args", []string{"mcp-proxy", "--profile", "prod"}}}
	if err := f.Set("snowflake", keys); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := orig + "\n[mcp_servers.snowflake]\ncommand = \"/usr/bin/sfmcp-token\"\nargs = [\"mcp-proxy\", \"--profile\", \"prod\"]\n"
	if string(data) != want {
		t.Fatalf("after add:\n%s\nwant:\n%s", data, want)
	}
	// Updating github's command keeps its other keys and its env table,
	// and everything else.
	f, _ = loadTOML(path, "mcp_servers", false)
	if err := f.Set("github", []tomlKey{{"command", "gh2"}}); err != nil {
		t.Fatal(err)
	}
	f.Save()
	data, _ = os.ReadFile(path)
	for _, want := range []string{`command = "gh2"`, `args = ["--x"]`, `GH = "1"`, "[[profiles]]\nname = \"a\"\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("after update, lost %q:\n%s", want, data)
		}
	}
	if !strings.HasPrefix(string(data), "# my codex config\nmodel = \"o3\"  # the good one\n") || strings.Contains(string(data), `"gh-mcp"`) {
		t.Fatalf("after update:\n%s", data)
	}
	f, _ = loadTOML(path, "mcp_servers", false)
	names, entries, _ := f.Entries()
	if len(names) != 2 || !strings.Contains(string(entries["snowflake"]), "mcp-proxy") {
		t.Fatalf("entries: %v %v", names, entries)
	}
	if ok, err := f.Remove("snowflake"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	f.Save()
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
	f, err := loadTOML(path, "mcp_servers", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("snowflake", []tomlKey{{"command", "y"}}); err == nil {
		t.Fatal("a dotted-key server was overwritten")
	}
	if _, err := f.Remove("snowflake"); err == nil {
		t.Fatal("a dotted-key server was removed")
	}
	// Quoted names round-trip.
	os.WriteFile(path, nil, 0o600)
	f, _ = loadTOML(path, "mcp_servers", false)
	f.Set("snow flake", []tomlKey{{"command", "y"}})
	f.Save()
	f, _ = loadTOML(path, "mcp_servers", false)
	if names, _, _ := f.Entries(); len(names) != 1 || names[0] != "snow flake" {
		t.Fatalf("quoted name: %v", names)
	}
	if ok, _ := f.Remove("snow flake"); !ok {
		t.Fatal("quoted name not found")
	}
}

// What the review found: a quoted table name with brackets survives; a
// quoted header of the server is the server; a sub-table elsewhere in the
// file goes with it; CRLF stays CRLF.
func TestTOMLHardCases(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	orig := "[mcp_servers.\"snowflake\"] # ours\ncommand = \"old\"\n\n[projects.\"/home/me/[work]/repo\"]\ntrust_level = \"trusted\"\n\n[mcp_servers.snowflake.env]\nA = \"1\"\n\n[notice]\nx = \"\"\"\n[mcp_servers.snowflake]\n\"\"\"\n"
	os.WriteFile(path, []byte(orig), 0o600)
	f, err := loadTOML(path, "mcp_servers", false)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Remove("snowflake"); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	f.Save()
	data, _ := os.ReadFile(path)
	var v map[string]any
	if _, err := toml.Decode(string(data), &v); err != nil {
		t.Fatalf("invalid after remove: %v\n%s", err, data)
	}
	if _, ok := v["mcp_servers"]; ok || !strings.Contains(string(data), `[projects."/home/me/[work]/repo"]`) || !strings.Contains(string(data), "x = \"\"\"\n[mcp_servers.snowflake]\n\"\"\"") {
		t.Fatalf("after remove:\n%s", data)
	}
	os.WriteFile(path, []byte("model = \"o3\"\r\n\r\n[other]\r\nk = 1\r\n"), 0o600)
	f, _ = loadTOML(path, "mcp_servers", false)
	f.Set("snowflake", []tomlKey{{"command", "x"}, {"args", []string{"y"}}})
	f.Save()
	data, _ = os.ReadFile(path)
	if strings.Count(string(data), "\n") != strings.Count(string(data), "\r\n") {
		t.Fatalf("mixed line endings: %q", data)
	}
}
