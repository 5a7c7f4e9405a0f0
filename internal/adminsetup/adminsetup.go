// Package adminsetup owns what an administrator sets up in Snowflake for
// sfmcp users: the plan (the OAuth security integration, or an External
// OAuth one that trusts the organisation's identity provider with the
// binding of the MCP server to it; the MCP server, the role and its
// grants, as SQL from snowflake.Setup), the identity provider's defaults
// after Snowflake's guide for each, the profile name
// and account users get, a confidential client's secret kept in the
// credential store, and the handouts: the onboarding file and the
// organisation's system configuration. It never prints, prompts or names a
// flag: it returns the plan as data and invalid fields as
// *snowflake.FieldError, and the CLI talks to the administrator.
package adminsetup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/keychain"
)

// Placeholders stand in a printed script and handout for what only
// running the plan (or the administrator) can tell.
const (
	PlaceholderClientID = "<OAUTH_CLIENT_ID>"
	PlaceholderAccount  = "<ORGNAME-ACCOUNTNAME>"
)

// Request is what the administrator asked for.
type Request struct {
	Setup snowflake.Setup
	// Profile is the profile name users get; default: the integration's
	// name in lower case.
	Profile string
	// Account is the account users put in their profile; default: the
	// admin profile's.
	Account string
	// IdP, when set, makes users sign in at this identity provider: the
	// integration is an External OAuth one and the MCP server is bound to
	// it.
	IdP *IdP
}

// Plan is a validated request: what runs, and what users get.
type Plan struct {
	Setup      snowflake.Setup
	Statements []snowflake.Statement
	Profile    string
	Account    string // as asked ("" for the admin profile's)
	// IdP is the identity provider as resolved (its kind's defaults filled
	// in), nil for Snowflake OAuth; Scopes are what its users request.
	IdP    *IdP
	Scopes []string
}

// New validates r and plans it. An invalid field is a
// *snowflake.FieldError: the setup's fields, "profile" or "account".
func New(r Request) (*Plan, error) {
	plan := &Plan{}
	if r.IdP != nil {
		if err := plan.planIdP(&r); err != nil {
			return nil, err
		}
	}
	stmts, err := r.Setup.Statements()
	if err != nil {
		return nil, err
	}
	profile := r.Profile
	if profile == "" {
		name, _ := ident.ParseOne(r.Setup.Integration)
		profile = strings.ToLower(name)
	}
	if !config.ValidProfileName(profile) {
		return nil, &snowflake.FieldError{Field: "profile", Err: fmt.Errorf("%q is not a valid profile name", profile)}
	}
	if r.Account != "" {
		// It is printed into the script (as a comment) and the handouts.
		if _, err := config.NormalizeAccount(r.Account); err != nil {
			return nil, &snowflake.FieldError{Field: "account", Err: err}
		}
	}
	plan.Setup, plan.Statements, plan.Profile, plan.Account = r.Setup, stmts, profile, r.Account
	return plan, nil
}

// planIdP resolves r's identity provider and sets r's setup up for it:
// External OAuth, the IdP's default redirect.
func (p *Plan) planIdP(r *Request) error {
	d, err := r.IdP.resolve()
	if err != nil {
		return err
	}
	role, err := ident.ParseOne(r.Setup.Role)
	if err != nil {
		return &snowflake.FieldError{Field: "role", Err: err}
	}
	if r.Setup.External, p.Scopes, err = d.external(role); err != nil {
		return err
	}
	if r.Setup.RedirectURI == "" {
		r.Setup.RedirectURI = config.DefaultIdPRedirect
	}
	p.IdP = &d
	return nil
}

// ClientID is the client id users' profiles name before any is known: a
// placeholder, or the one the IdP's administrator registered.
func (p *Plan) ClientID() string {
	switch {
	case p.IdP == nil:
		return PlaceholderClientID
	case p.IdP.ClientID != "":
		return p.IdP.ClientID
	}
	return PlaceholderIdPClientID
}

// Script is the plan for an administrator to run by hand: every
// statement, then the query that shows the integration's client id. For
// an identity provider: what to register there first, and the query that
// shows the binding last.
func (p *Plan) Script() string {
	if p.IdP != nil {
		check := snowflake.Statement{What: "check: the value is the new integration's name, at the level you chose", SQL: p.Setup.BindingSQL()}
		return p.header() + snowflake.Script(p.Statements) + snowflake.Script([]snowflake.Statement{check})
	}
	show := snowflake.Statement{What: "the client id for users' profiles", SQL: p.Setup.ShowSecretsSQL()}
	return snowflake.Script(p.Statements) + snowflake.Script([]snowflake.Statement{show})
}

// Apply runs the plan through api, calling done after each statement, and
// reads the integration's client back (its secret only for a
// confidential client).
func (p *Plan) Apply(ctx context.Context, api *snowflake.Client, done func(snowflake.Statement)) (snowflake.IntegrationClient, error) {
	return p.Setup.Apply(ctx, api, p.Statements, done)
}

// KeepSecret stores a confidential client's secret in store for the
// users' profile, where a login on this machine finds it; bound to the
// profile the handout h makes (config.Profile.SecretBinding).
func (p *Plan) KeepSecret(store *keychain.Store, c snowflake.IntegrationClient, h config.Onboarding) error {
	if err := store.SaveClientSecret(p.Profile, c.Secret, h.AsProfile(p.Profile).SecretBinding()); err != nil {
		return fmt.Errorf("store the client secret: %w", err)
	}
	return nil
}

// Handout is what users get: their profile and the MCP server. The
// account is the one asked for, else the admin profile's (adminProfile
// in cfg, "" for the default), else a placeholder; clientID may be one
// too (ToFill says which remain).
func (p *Plan) Handout(cfg *config.File, adminProfile, clientID string) config.Onboarding {
	account := p.Account
	if account == "" {
		account = PlaceholderAccount
		if admin, err := cfg.Profile(adminProfile); err == nil && admin.Account != "" {
			account = admin.Account
		}
	}
	s := p.Setup
	redirect := s.RedirectURI
	if redirect == "" {
		redirect = snowflake.DefaultRedirectURI
	}
	clientType := config.ClientPublic
	if s.Confidential {
		clientType = config.ClientConfidential
	}
	role, _ := ident.ParseOne(s.Role)
	o := config.Onboarding{Profile: p.Profile, Account: account, ClientID: clientID, ClientType: clientType,
		RedirectURI: redirect, Role: role, MCPServer: s.MCPServer}
	if d := p.IdP; d != nil {
		o.Issuer, o.IdP, o.Audience = d.Issuer, d.Kind, d.Audiences[0]
		if d.AnyRole {
			o.Role = "" // the token asks for session:role-any
		}
	}
	return o
}

// ToFill names, key by key, what h still holds placeholders for, and
// where its value is found; empty when h can be handed out as it is.
func (p *Plan) ToFill(h config.Onboarding) []Unfilled {
	var out []Unfilled
	for _, key := range h.Placeholders() {
		u := Unfilled{Key: key}
		switch {
		case key == "client_id" && p.IdP != nil:
			u.Where = "the client id your identity provider registered for sfmcp"
		case key == "client_id":
			u.Where = "the integration's OAUTH_CLIENT_ID, which " + p.Setup.ShowSecretsSQL() + " shows"
		case key == "account":
			u.Where = "the users' account, as orgname-accountname"
		}
		out = append(out, u)
	}
	return out
}

// Unfilled is a key of a handout that the administrator fills in.
type Unfilled struct {
	Key   string // as in the file: client_id, account
	Where string // what the value is and where it is found ("" unknown)
}

// WriteOnboarding writes the users' onboarding file (it holds no secret).
func WriteOnboarding(path string, o config.Onboarding) error {
	data, err := o.Encode()
	if err != nil {
		return err
	}
	return write(path, data)
}

// WriteSystemConfig writes the organisation's system configuration for
// o: its profile as everyone's default, only its host allowed. A handout
// that cannot make one (no real account) is a *snowflake.FieldError
// "system_config".
func WriteSystemConfig(path string, o config.Onboarding) error {
	if config.IsPlaceholder(o.Account) {
		return &snowflake.FieldError{Field: "system_config", Err: errors.New("the users' account is not known (none asked for, and the admin profile names none)")}
	}
	data, err := config.SystemFileFor(o)
	if err != nil {
		return &snowflake.FieldError{Field: "system_config", Err: err}
	}
	return write(path, data)
}

// write writes a handout readable by all: it holds no secret and is meant
// to be shipped.
func write(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
