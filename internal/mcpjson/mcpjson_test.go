package mcpjson

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetPreservesForeignContentAndOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".mcp.json")
	orig := `{
  "zeta": 1,
  "mcpServers": {
    "github": {"type": "http", "url": "https://api.example/mcp", "headers": {"X": "1"}},
    "snowflake": {"type": "http", "url": "https://old"},
    "alpha": {"command": "x", "args": ["--y"]}
  },
  "alpha": {"nested": [1, 2, {"k": null}]}
}`
	os.WriteFile(path, []byte(orig), 0o640)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("snowflake", map[string]any{"type": "stdio", "command": "/bin/sfmcp-token"}); err != nil {
		t.Fatal(err)
	}
	f.Set("new", map[string]string{"type": "http"})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	s := string(data)
	for _, want := range []string{`"zeta": 1`, `"X": "1"`, `"nested": [`, `"k": null`, `"command": "/bin/sfmcp-token"`} {
		if !strings.Contains(s, want) {
			t.Errorf("lost %s in:\n%s", want, s)
		}
	}
	if strings.Contains(s, "https://old") {
		t.Error("old entry not replaced")
	}
	order := []string{`"zeta"`, `"mcpServers"`, `"github"`, `"snowflake"`, `"alpha": {`, `"new"`, `"nested"`}
	last := -1
	for _, k := range order {
		i := strings.Index(s, k)
		if i <= last {
			t.Fatalf("key order changed around %s:\n%s", k, s)
		}
		last = i
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v not kept", st.Mode().Perm())
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	g, _ := Load(path)
	if ok, _ := g.Remove("snowflake"); !ok {
		t.Fatal("remove")
	}
	g.Save()
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "snowflake") || !strings.Contains(string(data), "github") {
		t.Fatalf("after remove:\n%s", data)
	}
}

func TestLoadRejectsNonObjects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(path, []byte(`[1,2]`), 0o644)
	if _, err := Load(path); err == nil {
		t.Fatal("array accepted")
	}
	f, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.Set("a", map[string]string{"type": "http"})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
}

// VS Code's and Zed's settings are JSONC: comments, trailing commas and the
// user's formatting survive an add and a remove, byte for byte outside the
// entry; the entry sits at the file's own indentation.
func TestJSONCKeepsCommentsAndFormatting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mcp.json")
	orig := "{\n    // my servers\n    \"servers\": {\n        \"github\": { \"url\": \"https://x\" }, // work\n    },\n    /* trailing */\n}\n"
	os.WriteFile(path, []byte(orig), 0o600)
	f, err := Load(path, "servers")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Type    string   `json:"type"`
		Command string   `json:"command"`
		Args    []string `json:"args"`
	}
	if err := f.Set("snowflake", entry{"stdio", "/usr/bin/sfmcp-token", []string{"mcp-proxy"}}); err != nil {
		t.Fatal(err)
	}
	f.Save()
	data, _ := os.ReadFile(path)
	want := "{\n    // my servers\n    \"servers\": {\n        \"github\": { \"url\": \"https://x\" }, // work\n        \"snowflake\": {\n            \"type\": \"stdio\",\n            \"command\": \"/usr/bin/sfmcp-token\",\n            \"args\": [\n                \"mcp-proxy\"\n            ]\n        }\n    },\n    /* trailing */\n}\n"
	if string(data) != want {
		t.Fatalf("after add:\n%s\nwant:\n%s", data, want)
	}
	names, entries, err := f.Entries()
	if err != nil || len(names) != 2 || string(entries["github"]) != `{ "url": "https://x" }` && !strings.Contains(string(entries["github"]), `"https://x"`) {
		t.Fatalf("entries: %v %s %v", names, entries["github"], err)
	}
	if again, _ := os.ReadFile(path); !strings.Contains(string(again), "// work") {
		t.Fatal("listing the entries stripped the file's comments")
	}
	g, _ := Load(path, "servers")
	if ok, _ := g.Remove("snowflake"); !ok {
		t.Fatal("remove")
	}
	g.Save()
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "// my servers") || !strings.Contains(string(data), "/* trailing */") || strings.Contains(string(data), "snowflake") {
		t.Fatalf("after remove:\n%s", data)
	}
}

// A file without the servers key gets it, nested where the client wants
// it; a one-line file stays on one line.
func TestNestedKeyAndCompactFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opencode.json")
	os.WriteFile(path, []byte(`{"theme":"dark"}`), 0o644)
	f, _ := Load(path, "mcp")
	f.Set("snowflake", map[string]any{"type": "local"})
	f.Save()
	if data, _ := os.ReadFile(path); string(data) != "{\"theme\":\"dark\",\"mcp\": {\"snowflake\":{\"type\":\"local\"}}}\n" {
		t.Fatalf("compact file:\n%s", data)
	}
	var v struct {
		MCP map[string]map[string]string `json:"mcp"`
	}
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &v); err != nil || v.MCP["snowflake"]["type"] != "local" {
		t.Fatalf("not valid JSON: %v %s", err, data)
	}
}
