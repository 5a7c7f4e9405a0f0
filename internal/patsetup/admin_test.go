package patsetup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// connections writes a Snowflake CLI connections.toml into a new
// SNOWFLAKE_HOME and returns the getenv that points there.
func connections(t *testing.T, toml string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "connections.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(k string) string {
		if k == "SNOWFLAKE_HOME" {
			return dir
		}
		return ""
	}
}

// keyPairAdmin is ALICE on sf through a key-pair connection, as
// --admin-connection kp finds her.
func keyPairAdmin(t *testing.T, sf *snowflaketest.Server) Admin {
	t.Helper()
	key := filepath.Join(t.TempDir(), "rsa_key.p8")
	if err := sf.KeyPairFile("alice", key); err != nil {
		t.Fatal(err)
	}
	getenv := connections(t, fmt.Sprintf("[kp]\naccount = \"myorg-acct\"\nhost = %q\nuser = \"alice\"\nauthenticator = \"SNOWFLAKE_JWT\"\nprivate_key_file = %q\n", sf.Host(), key))
	adm, err := KeyPairAdmin("kp", getenv)
	if err != nil {
		t.Fatal(err)
	}
	return adm
}

func TestKeyPairAdmin(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	adm := keyPairAdmin(t, sf)
	if adm.Name != "connection kp" || adm.Host() != sf.Host() || adm.Profile.Account != "myorg-acct" {
		t.Fatalf("admin: %+v", adm)
	}
	if _, ok := adm.Creds.(*snowflake.KeyPair); !ok {
		t.Fatalf("creds: %T", adm.Creds)
	}
	// The key pair signs in: the SQL API answers as ALICE.
	res, err := adm.Client(sf.Client(), "").Exec(context.Background(), "SELECT CURRENT_USER()")
	if got, _ := res.Column(0, "CURRENT_USER()"); err != nil || got != "ALICE" {
		t.Fatalf("SQL as the key pair: %q %v", got, err)
	}

	getenv := connections(t, `[browser]
account = "myorg-acct"
user = "bob"
authenticator = "externalbrowser"
[nokey]
account = "myorg-acct"
user = "bob"
authenticator = "SNOWFLAKE_JWT"
[lostkey]
account = "myorg-acct"
user = "bob"
authenticator = "snowflake_jwt"
private_key_file = "/nonexistent/rsa_key.p8"
`)
	var nkp *NotKeyPairError
	for _, tc := range []struct {
		name string
		ok   func(error) bool
	}{
		{"browser", func(err error) bool {
			return errors.As(err, &nkp) && err.Error() == "connection browser does not use key-pair authentication"
		}},
		{"nokey", func(err error) bool { return errors.As(err, &nkp) }},
		{"lostkey", func(err error) bool {
			return !errors.As(err, &nkp) && strings.HasPrefix(fmt.Sprint(err), "connection lostkey: read the private key")
		}},
		{"absent", func(err error) bool {
			return !errors.As(err, &nkp) && strings.Contains(fmt.Sprint(err), `no Snowflake CLI connection "absent"`)
		}},
	} {
		if _, err := KeyPairAdmin(tc.name, getenv); !tc.ok(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

type fakeCreds struct{ profile, server string }

func (fakeCreds) Token(context.Context, string) (string, string, error) { return "t", "OAUTH", nil }

func TestProfileAdmin(t *testing.T) {
	creds := func(profile, server string) snowflake.Credentials { return fakeCreds{profile, server} }
	adm, err := ProfileAdmin(config.Profile{Name: "admin", Account: "myorg-acct"}, creds)
	if err != nil || adm.Name != "admin" || adm.Host() != host || adm.Creds != (fakeCreds{"admin", "https://" + host}) {
		t.Fatalf("OAuth profile: %+v %v", adm, err)
	}
	// Snowflake does not let a PAT session manage PATs.
	var pe *PATSessionError
	if _, err := ProfileAdmin(config.Profile{Name: "ci", Account: "myorg-acct", Auth: config.AuthPAT}, creds); !errors.As(err, &pe) || pe.Profile != "ci" {
		t.Fatalf("PAT profile: %v", err)
	}
	// ProfileSession takes any profile (pat verify signs in with the PAT).
	if s, err := ProfileSession(config.Profile{Name: "ci", Account: "myorg-acct", Auth: config.AuthPAT}, creds); err != nil || s.Name != "ci" {
		t.Fatalf("PAT session: %v", err)
	}
	if _, err := ProfileSession(config.Profile{Name: "broken", Account: "http://example.com"}, creds); err == nil || !strings.HasPrefix(err.Error(), "profile broken: ") {
		t.Fatalf("bad endpoint: %v", err)
	}
}
