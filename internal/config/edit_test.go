package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const redirect = "http://127.0.0.1:3000/oauth/callback"

var corp = Profile{Name: "corp", Account: "myorg-acct", Host: "sf.example.com", ClientID: "CID", ClientType: ClientConfidential,
	RedirectURI: redirect, Role: "ANALYST", User: "alice", Scopes: []string{"x"}}

// given reports the named settings as given.
func given(keys ...string) func(string) bool {
	return func(k string) bool { return slices.Contains(keys, k) }
}

// Update changes only the settings given; a new account drops the old
// one's host override.
func TestUpdate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given Profile
		keys  []string
		want  func(Profile) Profile
	}{
		{"nothing given", Profile{Role: "ENGINEER"}, nil, func(p Profile) Profile { return p }},
		{"a role", Profile{Role: "ENGINEER", Account: "ignored"}, []string{"role"}, func(p Profile) Profile { p.Role = "ENGINEER"; return p }},
		{"cleared", Profile{}, []string{"user", "scopes"}, func(p Profile) Profile { p.User, p.Scopes = "", nil; return p }},
		{"a new account", Profile{Account: "myorg-new"}, []string{"account"}, func(p Profile) Profile { p.Account, p.Host = "myorg-new", ""; return p }},
		{"the same account", Profile{Account: "myorg-acct"}, []string{"account"}, func(p Profile) Profile { return p }},
		{"a new account and host", Profile{Account: "myorg-new", Host: "h.example.com"}, []string{"account", "host"},
			func(p Profile) Profile { p.Account, p.Host = "myorg-new", "h.example.com"; return p }},
		{"client settings", Profile{ClientID: "NEW", ClientType: ClientPublic, RedirectURI: "http://127.0.0.1:4000/cb"}, []string{"client_id", "client_type", "redirect_uri"},
			func(p Profile) Profile {
				p.ClientID, p.ClientType, p.RedirectURI = "NEW", ClientPublic, "http://127.0.0.1:4000/cb"
				return p
			}},
	} {
		got, want := corp.Update(tc.given, given(tc.keys...)), tc.want(corp)
		if settings(got) != settings(want) {
			t.Errorf("%s: %s, want %s", tc.name, settings(got), settings(want))
		}
	}
}

// settings are a profile's settings in one string, for comparing.
func settings(p Profile) string {
	return strings.Join([]string{p.Name, p.Account, p.Host, p.ClientID, p.ClientType, p.RedirectURI, p.Role, p.User, strings.Join(p.Scopes, ",")}, "|")
}

// Differences compares by meaning, and names what differs.
func TestDifferences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		old   Profile
		given Profile
		want  []string
	}{
		{"the same", corp, corp, nil},
		{"nothing given", corp, Profile{}, nil},
		{"confidential said or not", Profile{Account: "a-b", ClientID: "CID", RedirectURI: redirect}, Profile{ClientType: "confidential"}, nil},
		{"a role's case", Profile{Account: "a-b", Role: "mcp_users"}, Profile{Role: "MCP_USERS"}, nil},
		{"a quoted role's case", Profile{Account: "a-b", Role: `"Mixed"`}, Profile{Role: `"MIXED"`}, []string{`role "\"Mixed\"", not "\"MIXED\""`}},
		{"another account", Profile{Account: "a-b"}, Profile{Account: "a-c"}, []string{"host a-b.snowflakecomputing.com, not a-c.snowflakecomputing.com"}},
		{"the account without its host", Profile{Account: "a-b", Host: "h.example.com"}, Profile{Account: "a-b"},
			[]string{"host h.example.com, not a-b.snowflakecomputing.com"}},
		{"another client", Profile{Account: "a-b"}, Profile{ClientID: "CID", ClientType: ClientPublic},
			[]string{"client LOCAL_APPLICATION, not CID"}},
		{"another client type", Profile{Account: "a-b", ClientID: "CID"}, Profile{ClientType: ClientPublic},
			[]string{"client type confidential, not public"}},
		{"another redirect", Profile{Account: "a-b", RedirectURI: redirect}, Profile{RedirectURI: "http://127.0.0.1:4000/cb"},
			[]string{`redirect URI "` + redirect + `", not "http://127.0.0.1:4000/cb"`}},
		{"an identity provider now", Profile{Account: "a-b", ClientID: "CID", ClientType: ClientPublic, RedirectURI: redirect},
			Profile{Issuer: "https://idp.example/o", IdP: "okta"},
			[]string{`identity provider none (Snowflake OAuth), not "https://idp.example/o" (idp "okta", audience "")`}},
		{"another audience", Profile{Account: "a-b", ClientID: "CID", Issuer: "https://idp.example/o", Audience: "api://a"},
			Profile{Audience: "api://b"},
			[]string{`identity provider "https://idp.example/o" (idp "", audience "api://a"), not "https://idp.example/o" (idp "", audience "api://b")`}},
		{"the same identity provider", Profile{Account: "a-b", ClientID: "CID", Issuer: "https://idp.example/o", IdP: "okta"},
			Profile{Issuer: "https://idp.example/o", ClientID: "CID"}, nil},
	} {
		if got := tc.old.Differences(tc.given); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Add: a new profile, an existing one only when replacing, a Snowflake CLI
// connection under the given settings, and the refusals.
func TestAdd(t *testing.T) {
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "connections.toml"), []byte("[work]\naccount = \"myorg-work\"\nrole = \"WORK_ROLE\"\nuser = \"bob\"\n"), 0o600)
	env := map[string]string{"SNOWFLAKE_HOME": home}
	getenv := func(k string) string { return env[k] }
	existing := Profile{Name: "corp", Account: "myorg-acct", ClientID: "CID", RedirectURI: redirect, Role: "ANALYST"}
	for _, tc := range []struct {
		name    string
		change  Change
		env     string // SNOWFLAKE_DEFAULT_CONNECTION_NAME
		want    string // the profile's settings
		existed bool
		err     func(error) bool
	}{
		{"new", Change{Profile: Profile{Name: "new", Account: "myorg-acct", ClientType: "PUBLIC", ClientID: "C", RedirectURI: redirect}},
			"", "new|myorg-acct||C|public|" + redirect + "|||", false, nil},
		{"exists", Change{Profile: Profile{Name: "corp", Account: "myorg-other"}, Given: given("account")}, "", "", true,
			func(err error) bool {
				var e *ExistsError
				return errors.As(err, &e) && e.Profile.Account == "myorg-acct" && strings.Contains(err.Error(), "client CID (confidential)")
			}},
		{"replaced", Change{Profile: Profile{Name: "corp", Role: "ENGINEER"}, Given: given("role"), Replace: true},
			"", "corp|myorg-acct||CID||" + redirect + "|ENGINEER||", true, nil},
		{"a connection under the settings", Change{Profile: Profile{Name: "w", Role: "MINE"}, Given: given("role"), Connection: "work"},
			"", "w|myorg-work|||||MINE|bob|", false, nil},
		{"the default connection for a profile without an account", Change{Profile: Profile{Name: "w"}}, "work", "w|myorg-work|||||WORK_ROLE|bob|", false, nil},
		{"the default connection, not over an account", Change{Profile: Profile{Name: "w", Account: "myorg-acct"}}, "work", "w|myorg-acct|||||||", false, nil},
		{"an unknown connection", Change{Profile: Profile{Name: "w"}, Connection: "nope"}, "", "", false,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), `"nope"`) }},
		{"a secret makes it confidential", Change{Profile: Profile{Name: "c", Account: "a-b", ClientID: "C", RedirectURI: redirect}, Secret: true},
			"", "c|a-b||C|confidential|" + redirect + "|||", false, nil},
		{"no secret for a public client", Change{Profile: Profile{Name: "p", Account: "a-b"}, Secret: true}, "", "", false,
			func(err error) bool {
				return errors.Is(err, ErrPublicClientSecret) && err.Error() == "profile p: a public client has no secret"
			}},
		{"invalid", Change{Profile: Profile{Name: "bad name", Account: "a-b"}}, "", "", false,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), `profile name "bad name"`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env["SNOWFLAKE_DEFAULT_CONNECTION_NAME"] = tc.env
			f, _ := Load(filepath.Join(t.TempDir(), "config.toml"))
			if err := f.Put(existing); err != nil {
				t.Fatal(err)
			}
			c := tc.change
			c.Getenv = getenv
			if c.Given == nil {
				c.Given = given()
			}
			p, existed, err := f.Add(c)
			if tc.err != nil {
				if !tc.err(err) || len(f.Profiles) != 1 || settings(f.Profiles["corp"]) != settings(existing) {
					t.Errorf("error %v; profiles %v", err, f.Profiles)
				}
				return
			}
			if err != nil || settings(p) != tc.want || existed != tc.existed || settings(f.Profiles[p.Name]) != tc.want {
				t.Errorf("%s (existed %v) %v; want %s (%v)", settings(p), existed, err, tc.want, tc.existed)
			}
		})
	}
}

// The default profile: set by the user unless the system file sets it.
func TestSetDefault(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user.toml")
	f, _ := Load(user)
	f.Put(Profile{Name: "a", Account: "a-b"})
	f.Put(Profile{Name: "b", Account: "a-b"})
	if err := f.SetDefault("b"); err != nil || f.DefaultProfile != "b" {
		t.Fatalf("SetDefault: %v, default %q", err, f.DefaultProfile)
	}
	if err := f.SetDefault("nope"); !errors.Is(err, ErrNoProfile) || f.DefaultProfile != "b" {
		t.Errorf("SetDefault(nope): %v, default %q", err, f.DefaultProfile)
	}
	sys := filepath.Join(dir, "system.toml")
	os.WriteFile(sys, []byte("default_profile = \"a\"\n[profiles.a]\naccount = \"a-b\"\n[managed]\ndefault_profile = \"a\"\n"), 0o644)
	f, err := LoadLayered(sys, user)
	if err != nil {
		t.Fatal(err)
	}
	var locked *DefaultLockedError
	if err := f.SetDefault("a"); !errors.As(err, &locked) || locked.File != sys || f.DefaultProfile != "a" {
		t.Errorf("a locked default: %v, default %q", err, f.DefaultProfile)
	}
	_, _, err = f.Add(Change{Profile: Profile{Name: "c", Account: "a-b"}, Given: given(), Default: true})
	if !errors.As(err, &locked) {
		t.Errorf("profile add --default under a locked default: %v", err)
	}
}

// A profile's view says where it answers and, with a system file, where
// each setting comes from.
func TestView(t *testing.T) {
	dir := t.TempDir()
	f, _ := Load(filepath.Join(dir, "user.toml"))
	f.Put(Profile{Name: "a", Account: "myorg-acct", Role: "r"})
	v := f.View(f.Profiles["a"])
	if !v.Default || v.Endpoint != "https://myorg-acct.snowflakecomputing.com" || !slices.Equal(v.Scopes, []string{"refresh_token", "session:role:R"}) || v.Sources != nil {
		t.Errorf("view without a system file: %+v", v)
	}
	sys := filepath.Join(dir, "system.toml")
	os.WriteFile(sys, []byte("[profiles.corp]\naccount = \"myorg-acct\"\nrole = \"MCP_USERS\"\n[profiles.team]\naccount = \"myorg-acct\"\n[managed]\nprofiles = [\"corp\"]\n"), 0o644)
	f, err := LoadLayered(sys, filepath.Join(dir, "user.toml"))
	if err != nil {
		t.Fatal(err)
	}
	team := f.Profiles["team"]
	team.Role = "MINE"
	f.Put(team)
	f.Save()
	f, _ = LoadLayered(sys, filepath.Join(dir, "user.toml"))
	corpView, teamView := f.View(f.Profiles["corp"]), f.View(f.Profiles["team"])
	if !corpView.Locked || corpView.Sources["account"] != sys || corpView.Sources["role"] != sys || len(corpView.Sources) != 2 {
		t.Errorf("corp: %+v", corpView)
	}
	if teamView.Locked || teamView.Sources["account"] != sys || teamView.Sources["role"] != filepath.Join(dir, "user.toml") {
		t.Errorf("team: %+v", teamView)
	}
}

func TestClientLabel(t *testing.T) {
	for p, want := range map[*Profile]string{
		{}:                                      "SNOWFLAKE$LOCAL_APPLICATION",
		{ClientID: "local_application"}:         "SNOWFLAKE$LOCAL_APPLICATION",
		{ClientID: "CID"}:                       "CID (confidential)",
		{ClientID: "CID", ClientType: "public"}: "CID (public)",
	} {
		if got := p.ClientLabel(); got != want {
			t.Errorf("%+v: %q, want %q", *p, got, want)
		}
	}
}

// A stored client secret stays with a change of role or user, and is left
// behind by a new issuer, host or client id; a public client has none.
func TestSecretRebound(t *testing.T) {
	old := Profile{Name: "corp", Account: "myorg-acct", ClientID: "CID", ClientType: ClientConfidential, RedirectURI: "http://127.0.0.1:3000/cb"}
	for _, tc := range []struct {
		name   string
		change func(*Profile)
		want   bool
	}{
		{"role", func(p *Profile) { p.Role = "ANALYST" }, false},
		{"user", func(p *Profile) { p.User = "BOB" }, false},
		{"client id", func(p *Profile) { p.ClientID = "CID2" }, true},
		{"host", func(p *Profile) { p.Host = "other.example.com" }, true},
		{"account", func(p *Profile) { p.Account = "myorg-other" }, true},
		{"issuer", func(p *Profile) { p.Issuer = "https://sso.example.com/oauth2/default" }, true},
	} {
		p := old
		tc.change(&p)
		if got := SecretRebound(old, p); got != tc.want {
			t.Errorf("%s: SecretRebound = %v, want %v", tc.name, got, tc.want)
		}
	}
	public := Profile{Name: "pub", Account: "myorg-acct"}
	if SecretRebound(public, Profile{Name: "pub", Account: "myorg-other"}) {
		t.Error("a public client's change left a secret behind")
	}
}
