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
