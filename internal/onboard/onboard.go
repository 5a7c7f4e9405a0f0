// Package onboard owns what `setup` decides for a new user before it
// changes anything: how the administrator's onboarding file, what the user
// gave and the user's answers become a profile, an MCP server and each MCP
// client's entry; which of those are already done; and what it must refuse
// (a profile or an entry of that name with other settings, another
// program's entry, a sign-in sent outside Snowflake's domains or to an
// identity provider the user did not name, unconfirmed).
// It never prints, prompts or names a flag: it asks through the Ask the
// CLI gives it, returns the plan as data and refusals as typed errors, and
// the CLI runs the steps and words the errors.
package onboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/keychain"
)

// Request is what setup was given.
type Request struct {
	File      config.Onboarding // the administrator's onboarding file (zero if none)
	Given     config.Onboarding // what the user gave, which wins over the file
	EntryName string            // the MCP server entry's name in the clients' files
	Clients   []string          // the MCP clients to configure; none: Ask.Clients, else Claude Code
	Scope     mcpclients.Scope  // whose files: the user's or the project's
	ClientEnv mcpclients.Env    // where this user's client files are
	Project   string            // the project directory
	Bin       string            // the sfmcp-token the entries run; "" for this program
	// TrustHost signs in at a host outside Snowflake's domains without
	// asking (the user said yes beforehand).
	TrustHost bool
	// URL, when set, is the MCP server the user gave by its URL, and what
	// its metadata says: the profile is made for it.
	URL *FromURL
	// Issuer, IdP and Audience are what the user gave of an identity
	// provider; an issuer given is the user's word, and is not asked about.
	Issuer, IdP, Audience string
}

// FromURL is an MCP server known by its URL: where it is, and where it
// takes its tokens from (idp.DiscoverResource).
type FromURL struct {
	Address  config.MCPServerAddress
	Resource idp.Resource
}

// Ask asks the user for what the request lacks. A nil function means
// there is nobody to ask: the answer is "" (no account, no MCP server), no
// (an unknown host is refused) or the clients of the request.
type Ask struct {
	Account   func(ctx context.Context) (string, error)
	MCPServer func(ctx context.Context) (string, error) // "" adds none
	TrustHost func(ctx context.Context, host string) (bool, error)
	Clients   func(ctx context.Context) ([]string, error) // none chosen is ErrNoClient
	// TrustIssuer asks whether to sign in at an identity provider that
	// the MCP server's metadata (not the user) named; ClientID asks for
	// the client id registered there.
	TrustIssuer func(ctx context.Context, issuer string) (bool, error)
	ClientID    func(ctx context.Context, issuer string) (string, error)
}

// Plan is what setup will do.
type Plan struct {
	Profile    config.Profile
	NewProfile bool // else the profile exists as asked for
	Endpoint   config.Endpoint
	Server     string   // the MCP server, DATABASE.SCHEMA.NAME; "" adds none
	EntryName  string   // the entry's name in each client's file
	Bin        string   // the program each entry runs
	Args       []string // and its arguments
	Entries    []Entry
	ClaudeFile string // Claude Code's file among them ("" if none), which doctor checks
}

// State is what a client's entry is before setup writes it.
type State int

const (
	Absent  State = iota // no entry of that name: added
	Same                 // already as planned: left as it is
	Earlier              // sfmcp's for the same server, another binary path: rewritten
)

// Entry is one client's file and what its entry is now.
type Entry struct {
	Config *mcpclients.Config
	State  State
}

// New decides every step, asking through ask for what r lacks, and
// refuses, before anything changes, what setup must not do. cfg is the
// user's configuration as it is.
func New(ctx context.Context, cfg *config.File, r Request, ask Ask) (*Plan, error) {
	in, err := inputs(ctx, cfg, r, ask)
	if err != nil {
		return nil, err
	}
	plan := &Plan{EntryName: r.EntryName}
	if err := plan.planProfile(ctx, cfg, in, r, ask); err != nil {
		return nil, err
	}
	if err := plan.checkHost(ctx, r, ask); err != nil {
		return nil, err
	}
	if in.MCPServer == "" {
		return plan, nil
	}
	if err := plan.planEntries(ctx, r, ask, in.MCPServer); err != nil {
		return nil, err
	}
	return plan, nil
}

// inputs lays what the user gave over the file and fills in, or asks for,
// what is missing.
func inputs(ctx context.Context, cfg *config.File, r Request, ask Ask) (config.Onboarding, error) {
	in, given := r.File, r.Given
	for dst, v := range map[*string]string{&in.Profile: given.Profile, &in.Account: given.Account, &in.Host: given.Host, &in.ClientID: given.ClientID,
		&in.ClientType: given.ClientType, &in.RedirectURI: given.RedirectURI, &in.Role: given.Role, &in.MCPServer: given.MCPServer} {
		if v != "" {
			*dst = v
		}
	}
	// With nothing given, the default profile (an organisation's system
	// file names one) is the one to set up.
	if in.Profile == "" {
		in.Profile = "snowflake"
		if _, ok := cfg.Profiles[cfg.DefaultProfile]; ok && in.Account == "" && in.Host == "" && r.URL == nil {
			in.Profile = cfg.DefaultProfile
		}
	}
	if !config.ValidProfileName(in.Profile) {
		return in, &FieldError{Field: "profile", Err: fmt.Errorf("%q is not a valid profile name", in.Profile)}
	}
	if r.URL != nil {
		// The URL is the user's word for the account's host and the server.
		at, err := r.URL.Address.OnHost(config.Profile{Name: in.Profile, Account: in.Account, Host: in.Host})
		if err != nil {
			return in, &FieldError{Field: "url", Err: err}
		}
		in.Account, in.Host, in.MCPServer = at.Account, at.Host, r.URL.Address.Server
	}
	old, exists := cfg.Profiles[in.Profile]
	if exists && in.MCPServer == "" && len(old.MCPServers) > 0 {
		in.MCPServer = old.MCPServers[0]
	}
	var err error
	if !exists && in.Account == "" && in.Host == "" {
		if in.Account, err = answer(ctx, ask.Account); err != nil {
			return in, err
		}
		if in.Account == "" {
			return in, &FieldError{Field: "account", Err: fmt.Errorf("no account for the new profile %s", in.Profile)}
		}
	}
	if in.MCPServer == "" {
		in.MCPServer, err = answer(ctx, ask.MCPServer)
	}
	return in, err
}

func answer(ctx context.Context, ask func(context.Context) (string, error)) (string, error) {
	if ask == nil {
		return "", nil
	}
	return ask(ctx)
}

// planProfile keeps a profile that already is what in asks for, refuses
// one of that name with other settings, and otherwise plans a new one.
func (plan *Plan) planProfile(ctx context.Context, cfg *config.File, in config.Onboarding, r Request, ask Ask) error {
	want, err := wanted(in, r)
	if err != nil {
		return err
	}
	if old, ok := cfg.Profiles[in.Profile]; ok {
		diff := old.Differences(want)
		if (r.URL != nil || want.Issuer != "") && !idp.SameIssuer(old.Issuer, want.Issuer) {
			diff = append(diff, fmt.Sprintf("sign-in at %s, not %s", signsInAt(old), signsInAt(want)))
		}
		if len(diff) > 0 {
			return &ProfileConflictError{Profile: in.Profile, Differences: diff}
		}
		plan.Profile = old
	} else {
		if want, err = newProfile(ctx, cfg, want, r, ask); err != nil {
			return err
		}
		plan.Profile, plan.NewProfile = want, true
	}
	if plan.Endpoint, err = plan.Profile.Endpoint(); err != nil {
		return &InvalidProfileError{Profile: plan.Profile.Name, Err: err}
	}
	return nil
}

// wanted is the profile in and r ask for: an identity provider the user
// gave, or the one the MCP server's metadata names (with the role its
// scopes name, unless one is given).
func wanted(in config.Onboarding, r Request) (config.Profile, error) {
	want := in.AsProfile(in.Profile)
	for dst, v := range map[*string]string{&want.Issuer: r.Issuer, &want.IdP: r.IdP, &want.Audience: r.Audience} {
		if v != "" {
			*dst = v
		}
	}
	if r.URL != nil {
		var err error
		if want, err = r.URL.Resource.Apply(want); err != nil {
			return want, &FieldError{Field: "url", Err: err}
		}
		want.MCPServers = []string{r.URL.Address.Server}
	}
	return want, nil
}

// newProfile is want as a new profile: signing in at an identity provider
// the user did not name only with a yes (TrustIssuer), and then with the
// client id registered there, asked for when none is given.
func newProfile(ctx context.Context, cfg *config.File, want config.Profile, r Request, ask Ask) (config.Profile, error) {
	if want.IsIdP() && r.Issuer == "" {
		if err := TrustIssuer(ctx, cfg, want.Issuer, ask.TrustIssuer); err != nil {
			return want, err
		}
	}
	if want.IsIdP() && want.ClientID == "" && ask.ClientID != nil {
		var err error
		if want.ClientID, err = ask.ClientID(ctx, want.Issuer); err != nil {
			return want, err
		}
	}
	if err := want.Validate(); err != nil {
		return want, &InvalidProfileError{Profile: want.Name, Err: err}
	}
	if err := checkIdP(want); err != nil {
		return want, &InvalidProfileError{Profile: want.Name, Err: err}
	}
	return want, nil
}

// checkIdP checks an identity provider's kind and what it needs, which
// config leaves to idp.
func checkIdP(p config.Profile) error {
	if !p.IsIdP() {
		return nil
	}
	_, err := idp.ProfilePreset(p)
	return err
}

// signsInAt names where p signs in.
func signsInAt(p config.Profile) string {
	if p.IsIdP() {
		return p.Issuer
	}
	return "Snowflake"
}

// TrustIssuer decides whether a profile may sign in at issuer, which the
// user did not name (an MCP server's metadata did: a URL from a cloned
// repository or a message can name any, and a look-alike sign-in page is
// phishing): the system file decides where its allowed_issuers is set
// (config.ErrIssuerNotAllowed), else the user through ask (nil: nobody to
// ask, so no). A no is an *UntrustedIssuerError.
func TrustIssuer(ctx context.Context, cfg *config.File, issuer string, ask func(ctx context.Context, issuer string) (bool, error)) error {
	allowed, err := cfg.IssuerAllowed(issuer)
	if allowed || err != nil {
		return err
	}
	trusted := false
	if ask != nil {
		if trusted, err = ask(ctx, issuer); err != nil {
			return err
		}
	}
	if !trusted {
		return &UntrustedIssuerError{Issuer: issuer}
	}
	return nil
}

// checkHost: a file from anywhere could send the sign-in to a look-alike
// site, so a new profile's host outside Snowflake's domains (other than
// this machine) needs the user's yes.
func (plan *Plan) checkHost(ctx context.Context, r Request, ask Ask) error {
	ep := plan.Endpoint
	if !plan.NewProfile || ep.SnowflakeHost() || config.IsLoopback(ep.Hostname()) || r.TrustHost {
		return nil
	}
	trusted := false
	if ask.TrustHost != nil {
		var err error
		if trusted, err = ask.TrustHost(ctx, ep.Host); err != nil {
			return err
		}
	}
	if !trusted {
		return &UntrustedHostError{Host: ep.Host}
	}
	return nil
}

// planEntries decides each client's entry: new, already there, or sfmcp's
// for the same server with another binary path (rewritten). Any other
// entry of that name is someone else's and is refused.
func (plan *Plan) planEntries(ctx context.Context, r Request, ask Ask, server string) error {
	url, err := config.MCPServerURL(plan.Endpoint, server)
	if err != nil {
		return &FieldError{Field: "mcp_server", Err: err}
	}
	if err := plan.Profile.CheckServerURL(url); err != nil {
		return err
	}
	if plan.Bin = r.Bin; plan.Bin == "" {
		if plan.Bin, err = mcpclients.ThisBinary(); err != nil {
			return fmt.Errorf("find this program's path: %w", err)
		}
	}
	ids := r.Clients
	if len(ids) == 0 && ask.Clients != nil {
		if ids, err = ask.Clients(ctx); err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNoClient
		}
	}
	configs, err := mcpclients.Target{Clients: ids, Scope: r.Scope}.Open(r.ClientEnv, r.Project)
	if err != nil {
		return &ClientFileError{Err: err}
	}
	plan.Server, plan.Args = server, []string{"mcp-proxy", "--profile", plan.Profile.Name, "--server", server}
	for _, cfg := range configs {
		state, err := plan.stateOf(cfg, url)
		if err != nil {
			return err
		}
		if cfg.Client.ID == "claude-code" {
			plan.ClaudeFile = cfg.Path
		}
		plan.Entries = append(plan.Entries, Entry{Config: cfg, State: state})
	}
	return nil
}

// stateOf is what cfg's entry of the plan's name is, or why setup may not
// write it.
func (plan *Plan) stateOf(cfg *mcpclients.Config, url string) (State, error) {
	_, entries, err := cfg.Entries()
	if err != nil {
		return 0, err
	}
	old, exists := entries[plan.EntryName]
	if !exists {
		return Absent, nil
	}
	entry := mcpclients.ParseEntry(old)
	ours, _ := entry.Ours()
	switch err := cfg.MayEdit(plan.EntryName); {
	case errors.As(err, new(*mcpclients.NotOursError)):
		// Another program's: setup refuses it as mcp add does.
		return 0, &EntryConflictError{Config: cfg, Name: plan.EntryName, Err: err}
	case err != nil:
		return 0, err
	case entry.Command == plan.Bin && slices.Equal(entry.Args, plan.Args) && plan.unchangedBy(cfg):
		return Same, nil
	case ours.Mode == mcpclients.Proxy && ours.Profile == plan.Profile.Name && plan.sameServer(ours.Server, url):
		return Earlier, nil
	}
	return 0, &EntryConflictError{Config: cfg, Name: plan.EntryName}
}

// unchangedBy reports whether writing the planned entry would leave the
// entry as it is, as mcp add decides "already configured" (in a project's
// file, a key sfmcp does not write is a change). The edit stays in memory.
func (plan *Plan) unchangedBy(cfg *mcpclients.Config) bool {
	change, err := cfg.Put(plan.EntryName, mcpclients.Spec{Bin: plan.Bin, Profile: plan.Profile.Name, Mode: mcpclients.Proxy, Server: plan.Server})
	return err == nil && change == mcpclients.Unchanged
}

// sameServer reports whether spec names the MCP server at url.
func (plan *Plan) sameServer(spec, url string) bool {
	other, err := config.MCPServerURL(plan.Endpoint, spec)
	return err == nil && other == url
}

// Write writes the planned entry into e's file.
func (plan *Plan) Write(e Entry) error {
	if err := e.Config.SetStdio(plan.EntryName, plan.Bin, plan.Args); err != nil {
		return err
	}
	return e.Config.Save()
}

// SignedIn reports whether c, the profile's stored credential, is a
// sign-in for the plan's host, client and authorization server that has
// not expired, so setup need not sign in again. (Whether Snowflake still
// takes it, doctor checks.)
func (plan *Plan) SignedIn(c keychain.Credential, now time.Time) bool {
	return c.Kind == keychain.CredentialOAuth && c.Host == plan.Endpoint.Host && c.ClientID == plan.Profile.EffectiveClientID() &&
		c.Issuer == plan.Profile.Issuer && (c.SecretExpiresAt.IsZero() || c.SecretExpiresAt.After(now))
}
