package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// The rules of changing a profile, which `profile add` and `setup` share.
// Settings are named by their keys in the config file (account, host,
// client_id, client_type, redirect_uri, role, user, scopes), never by the
// flags that give them.

// ExistsError: a profile of that name exists, and the change may not
// replace it.
type ExistsError struct{ Profile Profile }

func (e *ExistsError) Error() string {
	ep, _ := e.Profile.Endpoint()
	return fmt.Sprintf("profile %s already exists (%s, client %s); nothing was changed", e.Profile.Name, ep.Host, e.Profile.ClientLabel())
}

// ErrPublicClientSecret: a client secret was given for a public client,
// which signs in with PKCE alone.
var ErrPublicClientSecret = errors.New("a public client has no secret")

// DefaultLockedError: the system file sets the default profile.
type DefaultLockedError struct{ File string }

func (e *DefaultLockedError) Error() string {
	return fmt.Sprintf("the default profile is set by %s and cannot be changed here", e.File)
}

// Change is a profile to add, or an existing one to change.
type Change struct {
	Profile Profile               // the settings given; Name names the profile
	Given   func(key string) bool // which settings were given
	Replace bool                  // change an existing profile: only the given settings
	// Connection names a Snowflake CLI connection that fills the account,
	// host, role and user no setting gives. A new profile that gives no
	// account or host takes $SNOWFLAKE_DEFAULT_CONNECTION_NAME's.
	Connection string
	Getenv     func(string) string // where the Snowflake CLI's files are
	Secret     bool                // a client secret is stored with it
	Default    bool                // make it the default profile
}

// Add makes c's profile in f, which the caller saves, and reports whether
// it existed. The errors: *ExistsError (it exists and c does not replace
// it), ErrPublicClientSecret, *DefaultLockedError, a Snowflake CLI
// connection that cannot be read, and Put's.
func (f *File) Add(c Change) (p Profile, existed bool, err error) {
	old, existed := f.Profiles[c.Profile.Name]
	if existed && !c.Replace {
		return old, true, &ExistsError{Profile: old}
	}
	p = c.Profile
	if existed {
		p = old.Update(c.Profile, c.Given)
	}
	if c.Connection != "" || (!existed && p.Account == "" && p.Host == "" && c.Getenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME") != "") {
		conn, err := SnowflakeCLIConnection(c.Connection, c.Getenv)
		if err != nil {
			return p, existed, err
		}
		for _, s := range []struct {
			key      string
			dst      *string
			fromConn string
		}{{"account", &p.Account, conn.Account}, {"host", &p.Host, conn.Host}, {"role", &p.Role, conn.Role}, {"user", &p.User, conn.User}} {
			if !c.Given(s.key) && s.fromConn != "" {
				*s.dst = s.fromConn
			}
		}
	}
	p.ClientType = strings.ToLower(p.ClientType)
	if c.Secret {
		if p.IsLocalApplication() || p.ClientType == ClientPublic {
			return p, existed, fmt.Errorf("profile %s: %w", p.Name, ErrPublicClientSecret)
		}
		p.ClientType = ClientConfidential
	}
	if err := f.Put(p); err != nil {
		return p, existed, err
	}
	if c.Default {
		err = f.SetDefault(p.Name)
	}
	return p, existed, err
}

// SetDefault makes the named profile the default, unless the system file
// sets it (*DefaultLockedError).
func (f *File) SetDefault(name string) error {
	if _, err := f.Profile(name); err != nil {
		return err
	}
	if file, locked := f.Source("default_profile"); locked {
		return &DefaultLockedError{File: file}
	}
	f.DefaultProfile = name
	return nil
}

// SettingKeys are the settings of a profile that `profile set` and
// `profile unset` change, by their keys in the config file.
var SettingKeys = []string{"account", "host", "client_id", "client_type", "redirect_uri", "role", "user", "scopes", "issuer", "idp", "audience"}

// SecretRebound reports whether a change from old to p leaves old's
// stored client secret behind: a secret is bound to the authorization
// server and client it was stored for (SecretBinding), so a new issuer,
// host or client id needs the new one's.
func SecretRebound(old, p Profile) bool {
	return old.Confidential() && old.SecretBinding() != p.SecretBinding()
}

// Update is p with the settings given names taken from given: what
// `profile set` (and `profile add --force`) changes. A new account without a new host drops
// the old host override, which belonged to the old account.
func (p Profile) Update(given Profile, set func(key string) bool) Profile {
	out := p
	for _, s := range []struct {
		key string
		dst *string
		v   string
	}{{"account", &out.Account, given.Account}, {"host", &out.Host, given.Host}, {"client_id", &out.ClientID, given.ClientID},
		{"client_type", &out.ClientType, given.ClientType}, {"redirect_uri", &out.RedirectURI, given.RedirectURI},
		{"role", &out.Role, given.Role}, {"user", &out.User, given.User}, {"issuer", &out.Issuer, given.Issuer},
		{"idp", &out.IdP, given.IdP}, {"audience", &out.Audience, given.Audience}} {
		if set(s.key) {
			*s.dst = s.v
		}
	}
	if set("account") && !set("host") && given.Account != p.Account {
		out.Host = ""
	}
	if set("scopes") {
		out.Scopes = given.Scopes
	}
	return out
}

// Differences names the settings in which p, a profile that exists,
// differs from what given asks for, by what they mean: given's settings
// laid over p must make the same profile (a custom client is confidential
// whether or not it says so; unquoted role names are case-insensitive).
// None means p already is that profile.
func (p Profile) Differences(given Profile) []string {
	want := p
	for _, s := range []struct {
		dst *string
		v   string
	}{{&want.Account, given.Account}, {&want.Host, given.Host}, {&want.ClientID, given.ClientID},
		{&want.ClientType, given.ClientType}, {&want.RedirectURI, given.RedirectURI}, {&want.Role, given.Role},
		{&want.Issuer, given.Issuer}, {&want.IdP, given.IdP}, {&want.Audience, given.Audience}} {
		if s.v != "" {
			*s.dst = s.v
		}
	}
	if given.Account != "" && given.Host == "" {
		want.Host = "" // a host override belongs to the account it was set for
	}
	var diff []string
	oldEP, _ := p.Endpoint()
	if wantEP, err := want.Endpoint(); err != nil || wantEP.Host != oldEP.Host {
		diff = append(diff, fmt.Sprintf("host %s, not %s", oldEP.Host, wantEP.Host))
	}
	if p.EffectiveClientID() != want.EffectiveClientID() {
		diff = append(diff, fmt.Sprintf("client %s, not %s", p.EffectiveClientID(), want.EffectiveClientID()))
	}
	if p.Confidential() != want.Confidential() {
		diff = append(diff, fmt.Sprintf("client type %s, not %s", p.ClientKind(), want.ClientKind()))
	}
	if p.RedirectURI != want.RedirectURI {
		diff = append(diff, fmt.Sprintf("redirect URI %q, not %q", p.RedirectURI, want.RedirectURI))
	}
	if storedName(p.Role) != storedName(want.Role) {
		diff = append(diff, fmt.Sprintf("role %q, not %q", p.Role, want.Role))
	}
	if p.Issuer != want.Issuer || p.IdP != want.IdP || p.Audience != want.Audience {
		diff = append(diff, fmt.Sprintf("identity provider %s, not %s", p.idpLabel(), want.idpLabel()))
	}
	return diff
}

// storedName is a role name as Snowflake stores it ("" if invalid).
func storedName(s string) string {
	n, _ := ident.ParseOne(s)
	return n
}

// idpLabel names where p signs in, for Differences.
func (p Profile) idpLabel() string {
	if !p.IsIdP() {
		return "none (Snowflake OAuth)"
	}
	return fmt.Sprintf("%q (idp %q, audience %q)", p.Issuer, p.IdP, p.Audience)
}
