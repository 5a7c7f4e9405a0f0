package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// #20: an onboarding file's long dotted key (quadratic in BurntSushi/toml)
// or deep nest is refused before it is parsed.
func TestOnboardingNestIsRefusedBeforeParsing(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"dotted":              "profile = \"t\"\n" + strings.Repeat("a.", 30000) + "a = 1\n",
		"nested":              "profile = \"t\"\nx = " + strings.Repeat("[", 30000) + "\n",
		"after an apostrophe": "# it's\nx = " + strings.Repeat("[", 30000) + "\n",
	} {
		path := filepath.Join(dir, "o.toml")
		os.WriteFile(path, []byte(data), 0o600)
		if _, err := LoadOnboarding(path); err == nil || !strings.Contains(err.Error(), "nests deeper") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
