package signin

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// The daemon renews only a sign-in the user made, over the network it was
// made with; with the file store, only under the account's own home.
func TestMayOpenSignIn(t *testing.T) {
	home := accountHome(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	write := func(extra string) {
		body := extra + "\n[profiles.prod]\naccount = \"myorg-acct\"\n"
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	renewalAt := func(home string) *Renewal {
		return &Renewal{Store: store, Home: home, Config: func() (*config.File, error) { return config.Load(cfgPath) }}
	}
	p := config.Profile{Name: "prod", Account: "myorg-acct"}
	ep, _ := p.Endpoint()
	check := func(r *Renewal, want string) {
		t.Helper()
		got := r.Why(p)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	account := renewalAt(home)
	check(account, "sign in with login") // nothing stored yet
	made := keychain.Credential{Secret: "rt", Kind: keychain.CredentialOAuth, Host: ep.Host, NetworkRecorded: true,
		ClientID: p.EffectiveClientID(), Scopes: p.OAuthScopes(), User: "ALICE", ExtraHosts: []string{"myorg-acct.privatelink.snowflakecomputing.com"}}
	if err := store.SaveCredential("prod", made); err != nil {
		t.Fatal(err)
	}
	check(account, "")
	// A sign-in Snowflake did not name the user of is not renewed: the
	// renewal could not insist on the same user.
	anonymous := made
	anonymous.User = ""
	if err := store.SaveCredential("prod", anonymous); err != nil {
		t.Fatal(err)
	}
	check(account, "named its user")
	if err := store.SaveCredential("prod", made); err != nil {
		t.Fatal(err)
	}
	// The renewal signs in as the sign-in was made: the same user and
	// extra hosts, whatever the config says.
	bound, _, _ := account.check(p)
	if bound.User != "ALICE" || len(bound.ExtraHosts) != 1 {
		t.Errorf("renewal profile %+v", bound)
	}
	// A config (perhaps a project's, under a HOME it chose) that asks for
	// more than the user signed in with gets no sign-in opened.
	for name, widen := range map[string]func(*config.Profile){
		"extra_hosts": func(q *config.Profile) { q.ExtraHosts = []string{"exfil.attacker.example"} },
		"scopes":      func(q *config.Profile) { q.Scopes = []string{"session:role-any"} },
		"client_id":   func(q *config.Profile) { q.ClientID = "ATTACKER_CLIENT" },
	} {
		q := p
		widen(&q)
		if why := account.Why(q); why == "" {
			t.Errorf("a config with other %s may open a sign-in", name)
		}
	}
	check(renewalAt(filepath.Join(dir, "project-home")), "home directory")
	write(`https_proxy = "http://127.0.0.1:9"`)
	check(account, "network")
	write("")
	made.Host = "elsewhere.snowflakecomputing.com"
	if err := store.SaveCredential("prod", made); err != nil {
		t.Fatal(err)
	}
	check(account, "host")
}

// accountHome is the account's home directory, as the user database says.
func accountHome(t *testing.T) string {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil || u.HomeDir == "" {
		t.Skip("no account home directory to compare with")
	}
	return u.HomeDir
}
