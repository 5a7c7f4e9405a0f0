package config

import (
	"errors"
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

// allowed_issuers, like allowed_hosts, holds only in the system file's
// [managed] table: there it lets profiles sign in only at the identity
// providers it lists, and is locked.
func TestAllowedIssuers(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.toml")
	user := filepath.Join(dir, "user.toml")
	os.WriteFile(sys, []byte("[managed]\nallowed_issuers = [\"https://example.okta.com/oauth2/aus1\"]\n"), 0o644)
	f, err := LoadLayered(sys, user)
	if err != nil {
		t.Fatal(err)
	}
	for issuer, allowed := range map[string]bool{"https://example.okta.com/oauth2/aus1": true, "https://example.okta.com/oauth2/aus1/": true,
		"https://example.okta.com/oauth2/aus2": false, "https://evil.example/oauth2/aus1": false} {
		ok, err := f.IssuerAllowed(issuer)
		if ok != allowed || allowed == (err != nil) || err != nil && (!errors.Is(err, ErrIssuerNotAllowed) || !errors.Is(err, ErrHostNotAllowed)) {
			t.Errorf("%s: allowed %v, %v", issuer, ok, err)
		}
		err = f.Put(Profile{Name: "corp", Account: "myorg-acct", Issuer: issuer, ClientID: "c"})
		if allowed != (err == nil) {
			t.Errorf("profile at %s: %v", issuer, err)
		}
	}
	if err := f.Put(Profile{Name: "sf", Account: "myorg-acct"}); err != nil {
		t.Errorf("a Snowflake OAuth profile: %v", err)
	}
	if file, locked := f.Source("allowed_issuers"); file != sys || !locked {
		t.Errorf("allowed_issuers from %s, locked %v", file, locked)
	}
	// Without a list, nothing is decided: the user is asked.
	os.WriteFile(sys, []byte("[managed]\nallowed_hosts = [\"myorg-acct.snowflakecomputing.com\"]\n"), 0o644)
	if f, err = LoadLayered(sys, user); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.IssuerAllowed("https://evil.example"); ok || err != nil || f.Locked("allowed_issuers") {
		t.Errorf("no list: %v %v", ok, err)
	}
	// A user's own [managed] allows nothing.
	os.WriteFile(user, []byte("[managed]\nallowed_issuers = [\"https://evil.example\"]\n"), 0o600)
	if f, err = LoadLayered(sys, user); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.IssuerAllowed("https://evil.example"); ok {
		t.Error("a user's [managed] allowed an issuer")
	}
}

// A user's settings of an identity provider lay over a system profile,
// and only they are written back.
func TestSystemProfileIdPOverride(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.toml")
	user := filepath.Join(dir, "user.toml")
	os.WriteFile(sys, []byte("[profiles.corp]\naccount = \"myorg-acct\"\nclient_id = \"c\"\nissuer = \"https://example.okta.com/oauth2/aus1\"\n"), 0o644)
	f, err := LoadLayered(sys, user)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Profiles["corp"]
	p.Audience = "https://myorg-acct.snowflakecomputing.com"
	if err := f.Put(p); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(user)
	if text := string(data); !strings.Contains(text, `audience = "https://myorg-acct.snowflakecomputing.com"`) || strings.Contains(text, "issuer") {
		t.Fatalf("the user's file:\n%s", text)
	}
	again, _ := LoadLayered(sys, user)
	if p := again.Profiles["corp"]; p.Issuer != "https://example.okta.com/oauth2/aus1" || p.Audience != "https://myorg-acct.snowflakecomputing.com" {
		t.Fatalf("after a reload: %+v", p)
	}
}

// The system file admin setup writes for an identity provider allows that
// provider alone, so no URL or file from elsewhere can name another.
func TestSystemFileForIdPAllowsItsIssuer(t *testing.T) {
	data, err := SystemFileFor(Onboarding{Profile: "corp", Account: "myorg-acct", ClientID: "0oa1", ClientType: ClientPublic,
		Issuer: "https://example.okta.com/oauth2/aus1", IdP: "okta", Role: "MCP_USERS"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.toml")
	if err := os.WriteFile(sys, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadLayered(sys, filepath.Join(dir, "user.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for issuer, want := range map[string]bool{"https://example.okta.com/oauth2/aus1": true, "https://evil.example/oauth2/aus1": false} {
		if ok, _ := f.IssuerAllowed(issuer); ok != want {
			t.Errorf("%s allowed %v; want %v\n%s", issuer, ok, want, data)
		}
	}
}
