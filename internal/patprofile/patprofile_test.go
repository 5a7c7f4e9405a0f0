package patprofile

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/keychain"
)

const host = "myorg-acct.snowflakecomputing.com"

type fixture struct {
	cfg   *config.File
	store *keychain.Store
	m     *snowflake.Manifest
	admin config.Profile
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	a := snowflake.ServiceAccount{User: "ci_bot", Role: "ci_read", Database: "ops", AllowIPs: []string{"203.0.113.0/24"}}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	return &fixture{cfg: cfg, store: store, m: snowflake.NewManifest(filepath.Join(dir, "m.json"), host, "ci", a),
		admin: config.Profile{Name: "admin", Account: "myorg-acct"}}
}

func noNetwork(*keychain.Credential) error { return nil }

// Keep writes a free name as a PAT profile (config and store); a second
// Keep (a rotation) replaces the secret and keeps the profile's extra hosts.
func TestKeepThenRotate(t *testing.T) {
	f := newFixture(t)
	if st, err := Check(f.cfg, f.store, f.m); st != Free || err != nil {
		t.Fatalf("fresh: %v %v", st, err)
	}
	expires := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	if err := Keep(f.cfg, f.store, f.m, f.admin, "pat-one", expires, noNetwork); err != nil {
		t.Fatal(err)
	}
	reloaded, err := config.Load(f.cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := reloaded.Profiles["ci"]
	if !ok || !p.IsPAT() || p.User != "ci_bot" || p.Account != "myorg-acct" {
		t.Fatalf("profile: %+v", p)
	}
	c, err := f.store.Credential("ci")
	if err != nil || c.Secret != "pat-one" || c.Kind != keychain.CredentialPAT || c.Host != host || c.User != "CI_BOT" || !c.SecretExpiresAt.Equal(expires) {
		t.Fatalf("credential: %+v %v", c, err)
	}
	if st, err := Check(reloaded, f.store, f.m); st != Ours || err != nil {
		t.Fatalf("after keep: %v %v", st, err)
	}
	p.ExtraHosts = []string{"myorg-acct.privatelink.snowflakecomputing.com"}
	reloaded.Profiles["ci"] = p
	if err := Keep(reloaded, f.store, f.m, f.admin, "pat-two", expires, noNetwork); err != nil {
		t.Fatal(err)
	}
	c, _ = f.store.Credential("ci")
	if c.Secret != "pat-two" || len(c.ExtraHosts) != 1 {
		t.Fatalf("rotated credential: secret changed %v, extra hosts %v", c.Secret == "pat-two", c.ExtraHosts)
	}
	if err := Remove(reloaded, f.store, f.m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Credential("ci"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("credential after remove: %v", err)
	}
	if again, _ := config.Load(f.cfg.Path); len(again.Profiles) != 0 {
		t.Fatalf("profiles after remove: %v", again.Names())
	}
}

// A manifest never writes a profile that is not its own PAT profile.
func TestSomeoneElsesProfileIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile *config.Profile
		cred    *keychain.Credential
	}{
		{"oauth profile", &config.Profile{Name: "ci", Account: "myorg-acct"}, nil},
		{"other account", &config.Profile{Name: "ci", Account: "myorg-other", Auth: config.AuthPAT, User: "ci_bot"}, nil},
		{"other user", &config.Profile{Name: "ci", Account: "myorg-acct", Auth: config.AuthPAT, User: "mallory"}, nil},
		{"a sign-in in the store", nil, &keychain.Credential{Secret: "rt", Kind: keychain.CredentialOAuth, Host: host}},
		{"another user's PAT in the store", nil, &keychain.Credential{Secret: "pat", Kind: keychain.CredentialPAT, Host: host, User: "MALLORY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.profile != nil {
				if err := f.cfg.Put(*tc.profile); err != nil {
					t.Fatal(err)
				}
			}
			if tc.cred != nil {
				if err := f.store.SaveCredential("ci", *tc.cred); err != nil {
					t.Fatal(err)
				}
			}
			var conflict *ConflictError
			if _, err := Check(f.cfg, f.store, f.m); !errors.As(err, &conflict) {
				t.Fatalf("check: %v", err)
			}
			if err := Keep(f.cfg, f.store, f.m, f.admin, "pat-new", time.Now(), noNetwork); !errors.As(err, &conflict) {
				t.Fatalf("keep: %v", err)
			}
			if c, err := f.store.Credential("ci"); err == nil && c.Secret == "pat-new" {
				t.Fatal("the PAT replaced someone else's entry")
			}
		})
	}
}
