package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const original = `# my notes
default_profile = "prod"
theme = "dark"

[profiles.prod]
account = "myorg-acct"
role = "MCP_USERS"
favourite_colour = "blue"

[profiles.prod.extra]
nested = 3

[profiles.old]
account = "xy12345.us-east-2.aws"

[other_tool]
enabled = true
list = [1, 2, 3]
`

func TestRoundTripPreservesUnknownContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sfmcp", "config.toml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Profiles["prod"].Role; got != "MCP_USERS" {
		t.Fatalf("prod role = %q", got)
	}
	if err := f.Put(Profile{Name: "team", Account: "myorg-acct", ClientID: "ABC", ClientType: ClientPublic, RedirectURI: "http://127.0.0.1:3000/cb"}); err != nil {
		t.Fatal(err)
	}
	prod := f.Profiles["prod"]
	prod.Role = "ANALYST"
	if err := f.Put(prod); err != nil {
		t.Fatal(err)
	}
	f.Remove("old")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v, want 0600", st.Mode().Perm())
	}
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["theme"] != "dark" || raw["default_profile"] != "prod" {
		t.Errorf("top-level keys lost: %v", raw)
	}
	other := raw["other_tool"].(map[string]any)
	if other["enabled"] != true || len(other["list"].([]any)) != 3 {
		t.Errorf("other_tool lost: %v", other)
	}
	profiles := raw["profiles"].(map[string]any)
	p := profiles["prod"].(map[string]any)
	if p["favourite_colour"] != "blue" || p["role"] != "ANALYST" || p["extra"].(map[string]any)["nested"] != int64(3) {
		t.Errorf("prod profile = %v", p)
	}
	if _, ok := profiles["old"]; ok {
		t.Error("removed profile still present")
	}
	if profiles["team"].(map[string]any)["client_type"] != "public" {
		t.Errorf("team profile = %v", profiles["team"])
	}
	// Reload gives the same profiles.
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Profiles["team"].RedirectURI != "http://127.0.0.1:3000/cb" || g.DefaultProfile != "prod" || len(g.Profiles) != 2 {
		t.Errorf("reloaded = %+v", g)
	}
	// No temporary files are left beside it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only config.toml", len(entries))
	}
}

func TestLoadMissingAndBroken(t *testing.T) {
	dir := t.TempDir()
	f, err := Load(filepath.Join(dir, "none.toml"))
	if err != nil || len(f.Profiles) != 0 {
		t.Fatalf("missing file: %v %v", f, err)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[profiles.prod\naccount = 1"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("broken file error = %v, want one naming the file", err)
	}
}

func TestPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if p, _ := Path(env(map[string]string{"SFMCP_CONFIG": "/x/c.toml", "XDG_CONFIG_HOME": "/y"})); p != "/x/c.toml" {
		t.Errorf("SFMCP_CONFIG ignored: %s", p)
	}
	if p, _ := Path(env(map[string]string{"XDG_CONFIG_HOME": "/y", "HOME": "/h"})); p != "/y/sfmcp/config.toml" {
		t.Errorf("XDG path = %s", p)
	}
	if p, _ := Path(env(map[string]string{"HOME": "/h"})); p != "/h/.config/sfmcp/config.toml" {
		t.Errorf("home path = %s", p)
	}
}

func TestProfileSelection(t *testing.T) {
	f := &File{Profiles: map[string]Profile{}}
	if _, err := f.Profile(""); err == nil {
		t.Error("empty config returned a profile")
	}
	f.Put(Profile{Name: "a", Account: "o-a"})
	f.Put(Profile{Name: "b", Account: "o-b"})
	if p, _ := f.Profile(""); p.Name != "a" {
		t.Errorf("default = %q, want the first profile added", p.Name)
	}
	if _, err := f.Profile("zzz"); err == nil {
		t.Error("unknown profile returned")
	}
}

func TestSnowflakeCLIConnection(t *testing.T) {
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config.toml"), []byte(`
default_connection_name = "dev"
[connections.dev]
account = "myorg-dev"
user = "bob"
role = "DEV_ROLE"
[connections.shadowed]
account = "from-config"
`), 0o600)
	os.WriteFile(filepath.Join(home, "connections.toml"), []byte(`
[shadowed]
account = "myorg-prod"
user = "carol"
`), 0o600)
	env := map[string]string{"SNOWFLAKE_HOME": home}
	getenv := func(k string) string { return env[k] }
	c, err := SnowflakeCLIConnection("", getenv)
	if err != nil || c.Account != "myorg-dev" || c.User != "bob" || c.Role != "DEV_ROLE" {
		t.Fatalf("default connection = %+v, %v", c, err)
	}
	c, err = SnowflakeCLIConnection("shadowed", getenv)
	if err != nil || c.Account != "myorg-prod" {
		t.Fatalf("connections.toml must win: %+v, %v", c, err)
	}
	env["SNOWFLAKE_DEFAULT_CONNECTION_NAME"] = "shadowed"
	if c, _ := SnowflakeCLIConnection("", getenv); c.Name != "shadowed" {
		t.Fatalf("SNOWFLAKE_DEFAULT_CONNECTION_NAME ignored: %+v", c)
	}
	if _, err := SnowflakeCLIConnection("nope", getenv); err == nil {
		t.Fatal("unknown connection accepted")
	}
}
