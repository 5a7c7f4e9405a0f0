// Package patsetup owns the pat commands' decisions around a service
// account's setup: who runs the administrator's SQL (an OAuth profile or a
// Snowflake CLI connection with key-pair authentication, never a PAT
// session), which manifest a command may act on (create over no recorded
// setup, resume only what pat remove has not taken down, replay onto
// another account under its own file and profile), the plan a person sees
// before anything runs, and what the PAT reports once it exists. Running a
// plan is snowflake.Runner's; keeping the PAT as a profile is patprofile's.
// It never prints, prompts or names a flag: the CLI shows the plans, asks,
// and turns these errors into advice.
package patsetup

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// ProfileFor is the PAT's profile: the one named, else the service user's
// name in lower case.
func ProfileFor(a snowflake.ServiceAccount, named string) string {
	if named != "" {
		return named
	}
	return strings.ToLower(a.UserName())
}

// SetupExistsError refuses pat create over a manifest that records a
// created resource: creating again would lose track of it.
type SetupExistsError struct {
	Path string
	User string // as the manifest gives it
}

func (e *SetupExistsError) Error() string {
	return fmt.Sprintf("%s already records a setup for %s", e.Path, e.User)
}

// CheckNew refuses to create a setup at path when the manifest there
// records anything created. A file that is missing or unreadable is no
// setup: create writes a new manifest over it.
func CheckNew(path string) error {
	m, err := snowflake.LoadManifest(path)
	if err != nil {
		return nil
	}
	if _, ok := recorded(m, snowflake.Created); ok {
		return &SetupExistsError{Path: path, User: m.Account.User}
	}
	return nil
}

// RemovedError refuses pat resume on a setup pat remove took (partly)
// down: resume finishes a creation, and re-creating would undo the removal.
type RemovedError struct {
	Path     string
	Resource snowflake.Resource // the first one removed
}

func (e *RemovedError) Error() string {
	return fmt.Sprintf("%s records a setup that pat remove removed (%s %s)", e.Path, e.Resource.Kind, e.Resource.Name)
}

// CheckResume refuses to resume a setup that pat remove took down.
func CheckResume(m *snowflake.Manifest) error {
	if r, ok := recorded(m, snowflake.Removed); ok {
		return &RemovedError{Path: m.Path(), Resource: r}
	}
	return nil
}

// recorded is the first resource in status.
func recorded(m *snowflake.Manifest, status string) (snowflake.Resource, bool) {
	for _, r := range m.Resources {
		if r.Status == status {
			return r, true
		}
	}
	return snowflake.Resource{}, false
}

// Replay is old's setup planned afresh on host: its own manifest next to
// old's (named after the host), and its own profile: named, else old's,
// with the host's first label added when the host differs.
func Replay(old *snowflake.Manifest, host, named string) *snowflake.Manifest {
	oldPath := old.Path()
	path := strings.TrimSuffix(oldPath, filepath.Ext(oldPath)) + "-" + strings.NewReplacer(":", "_", "/", "_").Replace(host) + ".json"
	m := snowflake.NewManifest(path, host, old.Profile, old.Account)
	if named != "" {
		m.Profile = named
	} else if host != old.AccountHost {
		m.Profile = old.Profile + "-" + strings.SplitN(host, ".", 2)[0]
	}
	return m
}

// HostError is an admin for another account than the manifest's.
type HostError struct{ Manifest, Admin string }

func (e *HostError) Error() string {
	return fmt.Sprintf("the manifest is for %s, the admin profile for %s", e.Manifest, e.Admin)
}

// CheckHost refuses to run a manifest's plan with an admin of another
// account (pat replay is for that).
func CheckHost(m *snowflake.Manifest, adminHost string) error {
	if adminHost != m.AccountHost {
		return &HostError{Manifest: m.AccountHost, Admin: adminHost}
	}
	return nil
}

// Plan is what a pat command will run, decided before anything runs: on
// the manifest's host, as its admin role, which statements, and what
// happens to the PAT profile afterwards.
type Plan struct {
	Manifest   *snowflake.Manifest
	Statements []snowflake.Statement
	Admin      string // who runs them, for people
	Then       string // what happens to the profile; "" nothing
}

// Script is the plan as an SQL script whose comments say where it runs,
// as whom, and what follows.
func (p Plan) Script() string {
	m := p.Manifest
	var b strings.Builder
	if len(p.Statements) == 0 {
		fmt.Fprintf(&b, "-- Nothing to run on %s.\n", m.AccountHost)
	} else {
		fmt.Fprintf(&b, "-- On %s, as role %s (%s), these statements run:\n\n%s", m.AccountHost, ident.Quote(m.Account.AdminRoleName()), p.Admin, snowflake.Script(p.Statements))
	}
	if p.Then != "" {
		fmt.Fprintf(&b, "-- Then %s.\n", p.Then)
	}
	return b.String()
}

// Keeping says what keeping a new PAT does to the manifest's profile.
func Keeping(m *snowflake.Manifest, state patprofile.State) string {
	if state == patprofile.Ours {
		return fmt.Sprintf("profile %s gets the new PAT secret (it holds the PAT of %s on %s)", m.Profile, m.Account.UserName(), m.AccountHost)
	}
	return fmt.Sprintf("the new PAT is stored as profile %s (new)", m.Profile)
}

// Removing says what pat remove does to the manifest's profile, kept in
// the store at where.
func Removing(m *snowflake.Manifest, state patprofile.State, where string) string {
	if state != patprofile.Ours {
		return ""
	}
	return fmt.Sprintf("profile %s (the PAT of %s on %s) is removed from the config and %s", m.Profile, m.Account.UserName(), m.AccountHost, where)
}

// ProfileNameError is a manifest whose profile is no name sfmcp can keep
// a profile under.
type ProfileNameError struct{ Path, Profile string }

func (e *ProfileNameError) Error() string {
	return fmt.Sprintf("manifest %s: profile %q is not a valid profile name", e.Path, e.Profile)
}

// OtherUserError is a manifest for another service user than the one
// asked for.
type OtherUserError struct{ Path, User, Asked string }

func (e *OtherUserError) Error() string {
	return fmt.Sprintf("manifest %s is for user %s, not %s", e.Path, e.User, e.Asked)
}

// AdminRoleError is an admin role that is no identifier.
type AdminRoleError struct{ Err error }

func (e *AdminRoleError) Error() string { return e.Err.Error() }
func (e *AdminRoleError) Unwrap() error { return e.Err }

// Open reads the manifest at path for a command on its setup: data only,
// validated as at create time (snowflake.LoadManifest), with a profile
// sfmcp can keep. user, when given, must be the manifest's service user;
// adminRole, when given, is the role its SQL runs as instead of the one
// it records.
func Open(path, user, adminRole string) (*snowflake.Manifest, error) {
	m, err := snowflake.LoadManifest(path)
	if err != nil {
		return nil, err
	}
	if !config.ValidProfileName(m.Profile) {
		return nil, &ProfileNameError{Path: path, Profile: m.Profile}
	}
	if name, _ := ident.ParseOne(user); user != "" && name != m.Account.UserName() {
		return nil, &OtherUserError{Path: path, User: m.Account.UserName(), Asked: user}
	}
	if adminRole != "" {
		if _, err := ident.ParseOne(adminRole); err != nil {
			return nil, &AdminRoleError{Err: err}
		}
		m.Account.AdminRole = adminRole
	}
	return m, nil
}
