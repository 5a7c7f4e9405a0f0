// Package patprofile keeps a service account's programmatic access token
// as an sfmcp profile: an `auth = "pat"` entry in the config and the secret
// in the credential store. A manifest may come from anyone's repository,
// so the only profile it may write or delete is a free name or the PAT
// profile of its own service user on its own host.
package patprofile

import (
	"errors"
	"fmt"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/keychain"
)

// State is what the manifest's profile is now.
type State int

const (
	Free State = iota // no profile and no keychain entry of that name
	Ours              // the PAT profile of the manifest's user on its host
)

// ConflictError says why the manifest's profile belongs to someone else.
type ConflictError struct {
	Profile string
	What    string // "is an OAuth profile", "holds the PAT of user …", …
}

func (c *ConflictError) Error() string { return "profile " + c.Profile + " " + c.What }

// Check refuses a manifest whose profile is anything but free or its own
// PAT profile (auth = "pat", the manifest's service user, the manifest's
// host), in the config and in the store alike: a manifest naming someone's
// OAuth profile must not get it deleted or replaced.
func Check(cfg *config.File, store *keychain.Store, m *snowflake.Manifest) (State, error) {
	user := m.Account.UserName()
	conflict := func(what string) error { return &ConflictError{Profile: m.Profile, What: what} }
	state := Free
	if prof, ok := cfg.Profiles[m.Profile]; ok {
		ep, err := prof.Endpoint()
		switch {
		case !prof.IsPAT():
			return 0, conflict("is an OAuth profile")
		case err != nil || ep.Host != m.AccountHost:
			return 0, conflict("is for another account (" + prof.Account + ")")
		case storedName(prof.User) != user:
			return 0, conflict(fmt.Sprintf("holds the PAT of user %q", prof.User))
		}
		state = Ours
	}
	c, err := store.Credential(m.Profile)
	switch {
	case errors.Is(err, keychain.ErrNotFound):
		return state, nil
	case err != nil:
		return 0, err
	case c.Kind != keychain.CredentialPAT:
		return 0, conflict("has a sign-in in " + store.Where())
	case c.Host != m.AccountHost || c.User != user:
		return 0, conflict(fmt.Sprintf("has the PAT of user %q on %s in %s", c.User, c.Host, store.Where()))
	}
	return Ours, nil
}

// storedName is a user or role name as Snowflake stores it ("" if invalid).
func storedName(s string) string {
	n, _ := ident.ParseOne(s)
	return n
}

// Keep stores secret as the manifest's PAT profile on account (the admin
// profile's account and host: replay picks the target account's admin).
// It checks the profile again first. record adds the network settings the
// PAT is to be used over.
func Keep(cfg *config.File, store *keychain.Store, m *snowflake.Manifest, account config.Profile, secret string, expires time.Time, record func(*keychain.Credential) error) error {
	if _, err := Check(cfg, store, m); err != nil {
		return err
	}
	cred := keychain.Credential{Secret: secret, Kind: keychain.CredentialPAT, Host: m.AccountHost,
		User: m.Account.UserName(), Role: m.Account.RoleName(), ObtainedAt: time.Now().UTC(), SecretExpiresAt: expires}
	old, exists := cfg.Profiles[m.Profile]
	if exists {
		cred.ExtraHosts = old.ExtraHosts // a rotation keeps what the profile allowed
	}
	if err := record(&cred); err != nil {
		return err
	}
	if err := store.SaveCredential(m.Profile, cred); err != nil {
		return err
	}
	if exists {
		return nil
	}
	prof := config.Profile{Name: m.Profile, Account: account.Account, Host: account.Host, Auth: config.AuthPAT, Role: m.Account.Role, User: m.Account.User}
	if err := cfg.Put(prof); err != nil {
		return err
	}
	return cfg.Save()
}

// Remove deletes the manifest's PAT profile from the store and the config.
// The caller has checked (Check) that it is the manifest's own.
func Remove(cfg *config.File, store *keychain.Store, m *snowflake.Manifest) error {
	err := store.DeleteCredential(m.Profile)
	if cfg.Remove(m.Profile) {
		err = errors.Join(err, cfg.Save())
	}
	return err
}
