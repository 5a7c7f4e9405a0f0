package patsetup

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/version"
)

// Admin is who runs the administrator's SQL: an OAuth profile (its token
// from the daemon) or a Snowflake CLI connection with key-pair
// authentication.
type Admin struct {
	Name     string         // for messages: the profile, or "connection NAME"
	Profile  config.Profile // account and host the PAT profile is created on
	Endpoint config.Endpoint
	Creds    snowflake.Credentials
}

// Host is the account host the admin's SQL runs on.
func (a Admin) Host() string { return a.Endpoint.Host }

// Client is the SQL API as the admin, in role ("" for the user's default).
func (a Admin) Client(h *http.Client, role string) *snowflake.Client {
	return &snowflake.Client{BaseURL: a.Endpoint.URL(), HTTPClient: h, Creds: a.Creds, UserAgent: "sfmcp/" + version.String(), Role: role}
}

// Creds gives the token of a profile for the SQL API at serverURL (the
// daemon's, in the CLI).
type Creds func(profile, serverURL string) snowflake.Credentials

// PATSessionError refuses a PAT profile as the admin: Snowflake does not
// let a session authenticated with a PAT manage PATs.
type PATSessionError struct{ Profile string }

func (e *PATSessionError) Error() string {
	return fmt.Sprintf("profile %s authenticates with a programmatic access token, and Snowflake does not let a PAT session manage PATs", e.Profile)
}

// ProfileAdmin is an OAuth profile as the admin.
func ProfileAdmin(p config.Profile, creds Creds) (Admin, error) {
	if p.IsPAT() {
		return Admin{}, &PATSessionError{Profile: p.Name}
	}
	return ProfileSession(p, creds)
}

// ProfileSession runs SQL with any profile's token (pat verify uses the
// PAT's own).
func ProfileSession(p config.Profile, creds Creds) (Admin, error) {
	ep, err := p.Endpoint()
	if err != nil {
		return Admin{}, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return Admin{Name: p.Name, Profile: p, Endpoint: ep, Creds: creds(p.Name, ep.URL())}, nil
}

// NotKeyPairError is a Snowflake CLI connection that does not use
// key-pair authentication (authenticator = SNOWFLAKE_JWT, a user and a
// private key file).
type NotKeyPairError struct{ Connection string }

func (e *NotKeyPairError) Error() string {
	return "connection " + e.Connection + " does not use key-pair authentication"
}

// KeyPairAdmin is the Snowflake CLI connection name as the admin; it must
// use key-pair authentication.
func KeyPairAdmin(name string, getenv func(string) string) (Admin, error) {
	c, err := config.SnowflakeCLIConnection(name, getenv)
	if err != nil {
		return Admin{}, err
	}
	if !strings.EqualFold(c.Authenticator, "SNOWFLAKE_JWT") || c.PrivateKey == "" || c.User == "" {
		return Admin{}, &NotKeyPairError{Connection: name}
	}
	key, err := snowflake.LoadPrivateKey(c.PrivateKey)
	if err != nil {
		return Admin{}, fmt.Errorf("connection %s: %w", name, err)
	}
	prof := config.Profile{Name: name, Account: c.Account, Host: c.Host}
	ep, err := prof.Endpoint()
	if err != nil {
		return Admin{}, fmt.Errorf("connection %s: %w", name, err)
	}
	return Admin{Name: "connection " + name, Profile: prof, Endpoint: ep, Creds: &snowflake.KeyPair{Account: c.Account, User: c.User, Key: key}}, nil
}
