package adminsetup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/internal/version"
	"github.com/sfmcp/sfmcp/keychain"
)

func setup() snowflake.Setup {
	return snowflake.Setup{Integration: "sfmcp_team", MCPServer: "db.public.team_mcp", Role: "mcp_users",
		Tools: []snowflake.Tool{{Type: snowflake.ToolSQL}}}
}

func TestNew(t *testing.T) {
	p, err := New(Request{Setup: setup()})
	if err != nil || p.Profile != "sfmcp_team" || p.Account != "" || len(p.Statements) == 0 {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	if p, err := New(Request{Setup: setup(), Profile: "team", Account: "myorg-acct"}); err != nil || p.Profile != "team" || p.Account != "myorg-acct" {
		t.Fatalf("asked for: %+v %v", p, err)
	}
	bad := setup()
	bad.RefreshDays = 91
	noTools := setup()
	noTools.Tools = nil
	for _, tc := range []struct {
		req   Request
		field string // "" for an error that is no field's
	}{
		{Request{Setup: bad}, "refresh_days"},
		{Request{Setup: setup(), Profile: "bad name"}, "profile"},
		{Request{Setup: snowflake.Setup{Integration: `"Two Words"`, MCPServer: "db.s.m", Role: "r", Tools: setup().Tools}}, "profile"},
		{Request{Setup: setup(), Account: "http://example.com"}, "account"},
		{Request{Setup: noTools}, ""},
	} {
		_, err := New(tc.req)
		var fe *snowflake.FieldError
		if got := ""; errors.As(err, &fe) {
			got = fe.Field
			if got != tc.field {
				t.Errorf("%+v: field %q, want %q (%v)", tc.req, got, tc.field, err)
			}
		} else if err == nil || tc.field != "" {
			t.Errorf("%+v: %v, want a %q field error", tc.req, err, tc.field)
		}
	}
}

func TestScriptEndsWithTheClientIDQuery(t *testing.T) {
	p, err := New(Request{Setup: setup()})
	if err != nil {
		t.Fatal(err)
	}
	script := p.Script()
	if !strings.HasPrefix(script, snowflake.Script(p.Statements)) || !strings.HasSuffix(script, "SELECT SYSTEM$SHOW_OAUTH_CLIENT_SECRETS('SFMCP_TEAM');\n\n") {
		t.Fatalf("script:\n%s", script)
	}
}

// The handout's account: the one asked for, else the admin profile's,
// else a placeholder the administrator must replace.
func TestHandout(t *testing.T) {
	cfg, err := config.Load(filepath.Join(t.TempDir(), "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := setup()
	s.Confidential, s.Role = true, `"Team Role"`
	p, _ := New(Request{Setup: s})
	h := p.Handout(cfg, "", "CID")
	want := config.Onboarding{Profile: "sfmcp_team", Account: PlaceholderAccount, ClientID: "CID", ClientType: config.ClientConfidential,
		RedirectURI: snowflake.DefaultRedirectURI, Role: "Team Role", MCPServer: "db.public.team_mcp"}
	if h != want {
		t.Fatalf("handout:\n%+v\nwant\n%+v", h, want)
	}
	cfg.Put(config.Profile{Name: "admin", Account: "myorg-admin"})
	if h := p.Handout(cfg, "admin", "CID"); h.Account != "myorg-admin" {
		t.Errorf("admin profile's account: %s", h.Account)
	}
	p.Account = "myorg-users"
	if h := p.Handout(cfg, "admin", "CID"); h.Account != "myorg-users" || h.ClientType != config.ClientConfidential {
		t.Errorf("asked-for account: %+v", h)
	}
}

func TestWriteHandouts(t *testing.T) {
	dir := t.TempDir()
	p, _ := New(Request{Setup: setup(), Account: "myorg-acct"})
	h := p.Handout(nil, "", "CID")
	onboarding := filepath.Join(dir, "onboard.toml")
	if err := WriteOnboarding(onboarding, h); err != nil {
		t.Fatal(err)
	}
	if got, err := config.LoadOnboarding(onboarding); err != nil || got.Profile != "sfmcp_team" || got.Account != "myorg-acct" || got.ClientID != "CID" {
		t.Fatalf("onboarding file read back: %+v %v", got, err)
	}
	// Written unfilled, it is refused where it is read.
	if err := WriteOnboarding(onboarding, p.Handout(nil, "", PlaceholderClientID)); err != nil {
		t.Fatal(err)
	}
	if _, err := config.LoadOnboarding(onboarding); err == nil || !strings.Contains(err.Error(), `client_id is a placeholder, "<OAUTH_CLIENT_ID>"`) {
		t.Fatalf("an unfilled onboarding file read back: %v", err)
	}
	system := filepath.Join(dir, "system.toml")
	if err := WriteSystemConfig(system, h); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(system); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("system file: %v", err)
	}
	// A handout that makes no profile makes no system file.
	for _, account := range []string{"", PlaceholderAccount} {
		h.Account = account
		var fe *snowflake.FieldError
		if err := WriteSystemConfig(filepath.Join(dir, "none.toml"), h); !errors.As(err, &fe) || fe.Field != "system_config" {
			t.Fatalf("account %q: %v", account, err)
		}
	}
	if err := WriteOnboarding(filepath.Join(dir, "missing", "x.toml"), p.Handout(nil, "", "C")); err == nil || !strings.HasPrefix(err.Error(), "write ") {
		t.Fatalf("unwritable: %v", err)
	}
}

// Apply against the stand-in: the statements run in order, the client id
// comes back, and a confidential client's secret goes to the store only.
func TestApplyKeepsTheSecret(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	var leaks snowflaketest.Leaks
	leaks.Watch(sf)
	defer leaks.Assert(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "rsa_key.p8")
	if err := sf.KeyPairFile("alice", keyFile); err != nil {
		t.Fatal(err)
	}
	key, err := snowflake.LoadPrivateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	api := &snowflake.Client{BaseURL: sf.URL, HTTPClient: sf.Client(), Creds: &snowflake.KeyPair{Account: "myorg-acct", User: "alice", Key: key},
		UserAgent: "sfmcp/" + version.String(), Role: "ACCOUNTADMIN"}
	s := setup()
	s.Confidential = true
	p, _ := New(Request{Setup: s})
	var done []string
	c, err := p.Apply(context.Background(), api, func(st snowflake.Statement) { done = append(done, st.What) })
	if err != nil || c.ID == "" || c.ID != sf.IntegrationClientID("SFMCP_TEAM") || c.Secret == "" || len(done) != len(p.Statements) {
		t.Fatalf("apply: %v, %s, %d of %d statements", err, c, len(done), len(p.Statements))
	}
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.KeepSecret(store, c, config.Onboarding{Profile: "sfmcp_team", Account: "myorg-acct", ClientID: c.ID}); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ClientSecret("sfmcp_team"); err != nil || got != c.Secret {
		t.Fatalf("stored secret: %v", err)
	}
	leaks.Record("the client as printed", c.String()+strings.Join(done, "\n"))
}

// Issue #23: what a handout still needs filled in, and where the value is
// found.
func TestToFill(t *testing.T) {
	snow, _ := New(Request{Setup: setup()})
	idp := &Plan{IdP: &IdP{Kind: "okta"}}
	for _, tc := range []struct {
		name string
		p    *Plan
		h    config.Onboarding
		want []Unfilled
	}{
		{"filled", snow, config.Onboarding{Account: "myorg-acct", ClientID: "CID"}, nil},
		{"snowflake", snow, config.Onboarding{Account: PlaceholderAccount, ClientID: PlaceholderClientID}, []Unfilled{
			{"account", "the users' account, as orgname-accountname"},
			{"client_id", "the integration's OAUTH_CLIENT_ID, which " + snow.Setup.ShowSecretsSQL() + " shows"}}},
		{"identity provider", idp, config.Onboarding{Account: "myorg-acct", ClientID: PlaceholderIdPClientID},
			[]Unfilled{{"client_id", "the client id your identity provider registered for sfmcp"}}},
	} {
		if got := tc.p.ToFill(tc.h); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
