// Package doctor diagnoses a user's sfmcp setup: it decides which checks
// run, in what order, what each tests (the config, the credential store,
// the daemon and its socket, the account host, the clock, a token,
// sfmcp's entries in the MCP clients' files and their servers, the
// sign-in's expiry) and what each concludes, and returns that as data.
// It never prints and never exits, and it reads no environment: the
// caller passes the config paths, the store, the daemon, the network and
// where the clients' files are in Options. It sends a token only to MCP
// servers on the profile's own host; when one refuses it, the server's
// metadata (asked without a token) says whether it takes its tokens from
// another authorization server now. An advice that follows from an
// error's code is exitcode.ForCode's, never worded here.
package doctor

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/keychain"
)

// Check is what one check found.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found, passing or not
	// Code is the apitype code of a failure that has one; Advice is the
	// next step for a failure ("" for a check that passed).
	Code, Advice string
}

// Options are the pieces the checks use.
type Options struct {
	// ConfigPath and SystemConfigPath are the user's and the system's
	// configuration files.
	ConfigPath, SystemConfigPath string
	// Network prepares the client of Snowflake connections from the
	// config (a nil client: a default one); an error fails the config
	// check.
	Network func(*config.File) (*http.Client, error)
	// SelectProfile picks the profile to check.
	SelectProfile func(*config.File) (config.Profile, error)
	// OpenStore opens the credential store the config names.
	OpenStore func(*config.File) (*keychain.Store, error)
	// FindDaemon connects to a running daemon without starting one; with
	// none running, its error wraps client.ErrNoDaemon and the client
	// names the socket one would listen on.
	FindDaemon func(context.Context) (*client.Client, error)
	// Autostart: clients start the daemon on demand, so one that does
	// not run yet is healthy.
	Autostart bool
	// Token asks the daemon for profile's access token, which refreshes
	// it if needed.
	Token func(ctx context.Context, profile string) error
	// Bridge is the bridge's transport to the MCP server at serverURL: it
	// adds profile's token and answers a missing or refused one with
	// mcpproxy.CodeUnauthorized.
	Bridge func(profile, serverURL string) http.RoundTripper
	// MCPFile is the one MCP configuration whose servers are checked, as
	// the user named it; "" checks every client's files MCPClients
	// finds, the user's and those of the project directory Project
	// (nil MCPClients: no MCP servers are checked).
	MCPFile    string
	MCPClients *mcpclients.Env
	Project    string
	// Profile is the profile asked for ("" for the default), so that a
	// missing one is named.
	Profile string
	// Now is the clock (default time.Now); LookupHost resolves a host
	// name (default net.DefaultResolver's).
	Now        func() time.Time
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// runner holds what earlier checks found for the later ones.
type runner struct {
	ctx     context.Context
	o       Options
	checks  []Check
	hc      *http.Client
	profile config.Profile
	ep      config.Endpoint
	store   *keychain.Store
	// skip is why the checks that need the account host cannot pass
	// ("" while nothing stops them).
	skip string
}

// Run runs the checks in order and returns what each found. A check that
// later ones depend on (the config, the profile, its host) ends the run
// when it fails; a host that does not resolve makes the checks that need
// it say they were skipped, and why; the MCP servers are checked only
// with a token.
func Run(ctx context.Context, o Options) []Check {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LookupHost == nil {
		o.LookupHost = net.DefaultResolver.LookupHost
	}
	r := &runner{ctx: ctx, o: o}
	r.run()
	return r.checks
}

func (r *runner) run() {
	cfg, ok := r.checkConfig()
	if !ok {
		return
	}
	p, err := r.o.SelectProfile(cfg)
	if !r.checkProfile(cfg, p, err) {
		// Entries naming a profile that is gone fail in their clients.
		r.checkEntries(cfg, false)
		return
	}
	r.profile = p
	if r.ep, err = p.Endpoint(); !r.add(Check{Name: "account host", OK: err == nil, Detail: r.ep.Host, Advice: errString(err)}) {
		return
	}
	r.checkStore(cfg)
	r.checkDaemon()
	r.checkHost()
	r.checkClock()
	r.checkEntries(cfg, r.checkToken())
	r.checkExpiry()
}

// checkProfile records which profile was selected, or what is missing:
// the profile asked for, or a default among profiles that exist.
func (r *runner) checkProfile(cfg *config.File, p config.Profile, err error) bool {
	detail := p.Name
	if p.IsIdP() {
		detail += ", signs in at " + p.Issuer
	}
	code := errcode.Of(err)
	advice := hint(code, r.o.Profile)
	if err != nil {
		detail = err.Error()
		if code == apitype.CodeUnknownProfile && r.o.Profile == "" && len(cfg.Profiles) > 0 {
			advice = exitcode.NoDefaultProfileHint()
		}
	}
	return r.add(Check{Name: "profile selected", OK: err == nil, Detail: detail, Code: code, Advice: advice})
}

// checkEntries checks sfmcp's entries in the MCP clients' files: that
// each names a profile that exists and, with a token (probe), that the
// servers of this profile answer.
func (r *runner) checkEntries(cfg *config.File, probe bool) {
	entries, where, ok := r.mcpEntries()
	if !ok {
		return
	}
	r.checkMissingProfiles(cfg, entries)
	if probe {
		r.checkMCPServers(entries, where)
	}
}

// add records c and says whether it passed; a passing check has no advice.
func (r *runner) add(c Check) bool {
	if c.OK {
		c.Code, c.Advice = "", ""
	}
	r.checks = append(r.checks, c)
	return c.OK
}

// checkConfig loads the layered configuration and the network it names.
func (r *runner) checkConfig() (*config.File, bool) {
	cfg, err := config.LoadLayered(r.o.SystemConfigPath, r.o.ConfigPath)
	if err == nil {
		r.hc, err = r.o.Network(cfg)
	}
	detail := r.o.ConfigPath
	if err == nil && cfg.SystemPath() != "" {
		detail = provenance(cfg)
	}
	return cfg, r.add(Check{Name: "config readable", OK: err == nil, Detail: detail, Advice: "fix the file or move it aside: " + errString(err)})
}

// provenance says which files the configuration came from and what the
// system file locks.
func provenance(cfg *config.File) string {
	var locked []string
	for _, key := range []string{"keyring", "ca_file", "https_proxy", "default_profile", "allowed_hosts", "allowed_issuers", "auto_login"} {
		if cfg.Locked(key) {
			locked = append(locked, key)
		}
	}
	for _, name := range cfg.Managed().Profiles {
		locked = append(locked, "profiles."+name)
	}
	s := "system " + cfg.SystemPath() + ", user " + cfg.Path
	if len(locked) > 0 {
		s += "; locked by the system file: " + strings.Join(locked, ", ")
	}
	return s
}

// hint is the next step for a failure with code: exitcode.ForCode's.
func hint(code, profile string) string {
	_, h := exitcode.ForCode(code, profile)
	return h
}

// loginCommand is the command of the login hint, for advice that says
// when to run it.
func loginCommand(profile string) string {
	return strings.TrimPrefix(exitcode.LoginHint(profile), "run: ")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return "; " + err.Error()
}
