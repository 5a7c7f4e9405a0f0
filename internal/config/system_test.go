package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The user's file gets only the user's own settings: a system profile's
// fields stay in the system file, an override holds only what differs, and
// a user's own table for a locked profile is kept as written.
func TestSaveWritesOnlyTheUserLayer(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.toml")
	os.WriteFile(sys, []byte(`default_profile = "corp"
keyring = "file"
[profiles.corp]
account = "myorg-acct"
role = "MCP_USERS"
[profiles.team]
account = "myorg-acct"
role = "MCP_USERS"
[managed]
profiles = ["corp"]
`), 0o644)
	user := filepath.Join(dir, "user.toml")
	os.WriteFile(user, []byte("[profiles.corp]\nmy_note = \"keep me\"\n"), 0o600)
	f, err := LoadLayered(sys, user)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.Profile(""); err != nil || p.Name != "corp" || p.Role != "MCP_USERS" || f.Keyring != "file" {
		t.Fatalf("effective: %+v %v keyring %q", p, err, f.Keyring)
	}
	team := f.Profiles["team"]
	team.Role = "ANALYST"
	if err := f.Put(team); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(Profile{Name: "corp", Account: "other-acct"}); err == nil {
		t.Fatal("a locked profile was changed")
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(user)
	text := string(data)
	if !strings.Contains(text, `my_note = "keep me"`) || !strings.Contains(text, `role = "ANALYST"`) ||
		strings.Contains(text, "myorg-acct") || strings.Contains(text, "keyring") || strings.Contains(text, "default_profile") {
		t.Fatalf("the user's file:\n%s", text)
	}
	again, _ := LoadLayered(sys, user)
	if p := again.Profiles["team"]; p.Role != "ANALYST" || p.Account != "myorg-acct" {
		t.Fatalf("after a reload, team = %+v", p)
	}
	if file, locked := again.Source("profiles.corp.role"); file != sys || !locked {
		t.Errorf("corp.role from %s, locked %v", file, locked)
	}
	if file, _ := again.Source("profiles.team.role"); file != user {
		t.Errorf("team.role from %s", file)
	}
	// A [managed] table in the user's own file locks nothing.
	os.WriteFile(user, []byte("[managed]\nkeyring = \"os\"\n"), 0o600)
	mine, _ := LoadLayered(sys, user)
	if mine.Keyring != "file" || mine.Locked("keyring") {
		t.Errorf("a user's [managed] took effect: keyring %q", mine.Keyring)
	}
}

// A system file's identity provider profile reaches users, and a user's
// own override of its audience is the only thing written back.
func TestSystemIdPProfile(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.toml")
	os.WriteFile(sys, []byte(`[profiles.corp]
account = "myorg-acct"
client_id = "0oa123"
issuer = "https://example.okta.com/oauth2/aus123"
idp = "okta"
audience = "https://myorg-acct.snowflakecomputing.com"
`), 0o644)
	user := filepath.Join(dir, "user.toml")
	os.WriteFile(user, []byte("[profiles.corp]\naudience = \"https://other.example\"\n"), 0o600)
	f, err := LoadLayered(sys, user)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Profiles["corp"]
	if p.Issuer != "https://example.okta.com/oauth2/aus123" || p.IdP != "okta" || p.Audience != "https://other.example" || p.ClientID != "0oa123" {
		t.Fatalf("corp = %+v", p)
	}
	p.IdP = "custom"
	if err := f.Put(p); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(user)
	if text := string(data); !strings.Contains(text, `idp = "custom"`) || !strings.Contains(text, `audience = "https://other.example"`) || strings.Contains(text, "issuer") {
		t.Fatalf("the user's file:\n%s", text)
	}
}
