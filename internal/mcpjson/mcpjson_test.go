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
	if data, _ := os.ReadFile(path); string(data) != "{\"theme\":\"dark\",\"mcp\": {\"snowflake\": {\"type\":\"local\"}}}\n" {
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

func TestEditsTheReviewFound(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	entry := map[string]any{"command": "/bin/sfmcp-token", "args": []string{"mcp-proxy"}}

	// A comment before the closing brace, on the last member's line, stays.
	p := write("a.json", "{\"mcpServers\": {\"a\": {} /* legacy */ }, \"theme\": \"dark\" /* keep me */ }")
	f, _ := Load(p)
	f.Set("snowflake", entry)
	f.Save()
	if got := read(p); !strings.Contains(got, "/* legacy */") || !strings.Contains(got, "/* keep me */") {
		t.Errorf("comments lost:\n%s", got)
	}
	// Removing an entry leaves the previous entry's comment with it.
	p = write("b.json", "{\n  \"mcpServers\": {\n    \"a\": {}, // about a\n    \"snowflake\": {}, // about snowflake\n    \"z\": {}\n  }\n}\n")
	f, _ = Load(p)
	f.Remove("snowflake")
	f.Save()
	if got := read(p); !strings.Contains(got, "\"a\": {}, // about a\n") || strings.Contains(got, "about snowflake") {
		t.Errorf("after remove:\n%s", got)
	}
	// A name twice is refused, not half-edited.
	p = write("c.json", `{"mcpServers": {"snowflake": {"command": "old1"}, "snowflake": {"command": "old2"}}}`)
	f, _ = Load(p)
	if err := f.Set("snowflake", entry); err == nil {
		t.Error("a duplicated name was edited")
	}
	if _, err := f.Remove("snowflake"); err == nil {
		t.Error("a duplicated name was removed")
	}
	// An update keeps the user's own keys and their choice to disable it.
	p = write("d.json", `{"mcp": {"snowflake": {"type": "local", "command": ["/old/sfmcp-token"], "enabled": false, "environment": {"A": "1"}}}}`)
	f, _ = Open(p, Options{Key: []string{"mcp"}})
	f.Set("snowflake", map[string]any{"type": "local", "command": []string{"/new/sfmcp-token", "mcp-proxy"}, "enabled": true})
	f.Save()
	if got := read(p); !strings.Contains(got, `"enabled": false`) || !strings.Contains(got, `"A": "1"`) || !strings.Contains(got, "/new/sfmcp-token") {
		t.Errorf("update:\n%s", got)
	}
	// CRLF files stay CRLF.
	p = write("e.json", "{\r\n  \"mcpServers\": {\r\n    \"a\": {}\r\n  }\r\n}\r\n")
	f, _ = Load(p)
	f.Set("snowflake", entry)
	f.Save()
	if got := read(p); strings.Count(got, "\n") != strings.Count(got, "\r\n") {
		t.Errorf("mixed line endings:\n%q", got)
	}
}

// A project's file may be anything: a FIFO, a symlink to a device, a
// million-deep nest. Each is refused at once; a user's symlinked dotfile
// is written through.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscallMkfifo(fifo); err == nil {
		if _, err := Load(fifo); err == nil {
			t.Error("a FIFO was read")
		}
	}
	link := filepath.Join(dir, "zero.json")
	os.Symlink("/dev/zero", link)
	if _, err := Load(link); err == nil {
		t.Error("a symlink in a project was followed")
	}
	deep := filepath.Join(dir, "deep.json")
	os.WriteFile(deep, []byte(`{"mcpServers":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`), 0o600)
	if _, err := Load(deep); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("deep nesting: %v", err)
	}
	target := filepath.Join(dir, "dotfiles-settings.json")
	os.WriteFile(target, []byte("{}\n"), 0o600)
	user := filepath.Join(dir, "settings.json")
	os.Symlink(target, user)
	f, err := Open(user, Options{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Set("snowflake", map[string]string{"command": "x"})
	f.Save()
	if st, _ := os.Lstat(user); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the user's symlink was replaced by a file")
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), "snowflake") {
		t.Errorf("the symlink's target was not written: %s", b)
	}
}
