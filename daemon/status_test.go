package daemon

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// brokenStore fails to read one profile's sign-in.
type brokenStore struct {
	*memStore
	broken string
}

func (s brokenStore) Credential(p string) (keychain.Credential, error) {
	if p == s.broken {
		return keychain.Credential{}, errors.New("keychain locked")
	}
	return s.memStore.Credential(p)
}

// Without a daemon, status reports what the config and the store say,
// exactly as a daemon that has used no profile yet does.
func TestStatusWithoutDaemon(t *testing.T) {
	expires := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	store := brokenStore{&memStore{creds: map[string]keychain.Credential{
		"prod": {Secret: "rt", User: "ALICE", Role: "MCP_USERS", SecretExpiresAt: expires},
		"svc":  {Secret: "pat", User: "SVC"},
	}}, "locked"}
	cfg := &config.File{Profiles: map[string]config.Profile{}}
	for _, p := range []config.Profile{
		{Name: "prod", Account: "myorg-acct"},
		{Name: "svc", Account: "myorg-acct", Auth: config.AuthPAT},
		{Name: "later", Account: "myorg-acct"},
		{Name: "locked", Account: "myorg-acct"},
	} {
		if err := cfg.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	host := "myorg-acct.snowflakecomputing.com"
	want := []apitype.ProfileStatus{
		{Name: "later", Host: host, Auth: config.AuthOAuth, State: apitype.CodeLoginRequired},
		{Name: "locked", Host: host, Auth: config.AuthOAuth, State: "error", LastError: "keychain locked"},
		{Name: "prod", Host: host, Auth: config.AuthOAuth, State: "idle", User: "ALICE", Role: "MCP_USERS", SecretExpiresAt: expires},
		{Name: "svc", Host: host, Auth: config.AuthPAT, State: "idle", User: "SVC"},
	}
	got := StatusWithoutDaemon(cfg, store)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StatusWithoutDaemon:\n got %+v\nwant %+v", got, want)
	}
	m, err := NewManager(context.Background(), Options{Store: store, LoadConfig: func() (*config.File, error) { return cfg, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if fresh := m.Status(); !reflect.DeepEqual(fresh, got) {
		t.Errorf("a fresh daemon reports otherwise:\n%+v\n%+v", fresh, got)
	}
}
