package signin

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/keychain"
)

// RenewalStore is what the renewal rule reads of the credential store.
type RenewalStore interface {
	Kind() string
	Credential(profile string) (keychain.Credential, error)
}

// Renewal is the daemon's rule for when it may open a browser sign-in
// itself, and the sign-in it then runs. The daemon renews only a sign-in
// the user made, exactly as made: the same host, OAuth client and scopes,
// network (ca_file, https_proxy) and user, and no further extra hosts. A
// daemon an MCP client entry started with a HOME of the project's choosing
// reads that project's config; a sign-in opened from it must not gain a
// proxy, a host or a client the user never signed in with. The file store
// of a HOME that is not the account's may be the project's own, so there
// the user signs in with login.
type Renewal struct {
	Store RenewalStore
	// Config reads the config, as the daemon does.
	Config func() (*config.File, error)
	// Home is this process's HOME.
	Home string
}

// Why says why the daemon must not open a sign-in for p ("" if it may).
func (r *Renewal) Why(p config.Profile) string {
	_, _, why := r.check(p)
	return why
}

// Renew runs f for p as p's last sign-in was made, checked again right
// before: the same user and extra hosts, over the network recorded with it
// (f's Network and HTTPClient are set here, as the daemon's refreshes go).
func (r *Renewal) Renew(ctx context.Context, f Flow, p config.Profile) error {
	bound, cred, why := r.check(p)
	if why != "" {
		return errors.New(why)
	}
	f.Network, f.HTTPClient = netconf.Of(cred), nil
	_, err := f.Run(ctx, bound)
	return err
}

// check returns the profile to sign in with, the sign-in it renews, and
// why it may not ("" if it may).
func (r *Renewal) check(p config.Profile) (config.Profile, keychain.Credential, string) {
	cfg, err := r.Config()
	if err != nil {
		return p, keychain.Credential{}, "the config cannot be read"
	}
	// On macOS the keychain a process finds also follows HOME (its
	// keychain search list lives under ~/Library).
	if (r.Store.Kind() == keychain.KindFile || runtime.GOOS == "darwin") && !homeIsAccounts(r.Home) {
		return p, keychain.Credential{}, "the credential store is not under your account's home directory"
	}
	cred, err := r.Store.Credential(p.Name)
	if err != nil || cred.Kind != keychain.CredentialOAuth || cred.User == "" {
		return p, keychain.Credential{}, "sfmcp renews only a sign-in you made (and Snowflake named its user); sign in with login"
	}
	if why := sameAsMade(p, cred); why != "" {
		return p, cred, why
	}
	if now, err := netconf.FromConfig(cfg); err != nil || !cred.NetworkRecorded || now != netconf.Of(cred) {
		return p, cred, "the config's network (ca_file, https_proxy) is not the one the last sign-in was made over"
	}
	bound := p
	bound.ExtraHosts = cred.ExtraHosts
	bound.User = cred.User // the renewal must be the same Snowflake user
	return bound, cred, ""
}

// sameAsMade says how p asks for more than its stored sign-in was made
// for ("" if it does not).
func sameAsMade(p config.Profile, cred keychain.Credential) string {
	ep, err := p.Endpoint()
	if err != nil || !config.SameHost(cred.Host, ep.Host) {
		return "the profile's host is not the one its last sign-in was made for"
	}
	if why := IssuerChanged(p, cred); why != "" {
		return why
	}
	if scopes, err := Scopes(p); err != nil || cred.ClientID != p.EffectiveClientID() || !slices.Equal(cred.Scopes, scopes) {
		return "the profile's OAuth client or scopes are not the ones its last sign-in was made with"
	}
	for _, h := range p.ExtraHosts {
		if !slices.ContainsFunc(cred.ExtraHosts, func(c string) bool { return config.SameHost(c, h) }) {
			return "the profile's extra_hosts name a host its last sign-in did not"
		}
	}
	return ""
}

// homeIsAccounts reports whether home is the account's home directory, as
// the user database says (os/user's Current would fall back to $HOME for
// a uid it does not find, e.g. one from LDAP in a static build).
func homeIsAccounts(home string) bool {
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	return err == nil && filepath.IsAbs(u.HomeDir) && filepath.Clean(home) == filepath.Clean(u.HomeDir)
}
