package mcpjson

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An apostrophe in a comment quotes nothing: a million-deep nest after
// "// it's" is refused at once, before hujson recurses into it.
func TestDeepNestAfterAnApostropheIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".mcp.json")
	n := 1 << 20
	os.WriteFile(path, []byte("// it's\n{\"mcpServers\": "+strings.Repeat("[", n)+strings.Repeat("]", n)+"}\n"), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("Load: %v", err)
	}
}
