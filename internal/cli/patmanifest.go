package cli

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/keychain"
)

// The pat subcommands that act on a manifest. A manifest may come from
// anyone's repository. Before pat resume, remove or replay touches
// Snowflake or a profile, the plan is shown (every statement, generated from
// the manifest's names, and the profile change), the profile is checked to
// be the manifest's own, and a person confirms (or passes --yes). rotate
// checks the host and the profile too.

// terminalStdin returns stdin when it is a terminal someone can answer on.
func terminalStdin(e *Env) (*os.File, bool) {
	f, ok := e.Stdin.(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

// checkProfile is patprofile.Check, explained for pat cmd.
func checkProfile(cfg *config.File, store *keychain.Store, m *snowflake.Manifest, cmd string) (patprofile.State, error) {
	state, err := patprofile.Check(cfg, store, m)
	return state, explainConflict(err, m, cmd)
}

// explainConflict says what to do when the manifest's profile is someone
// else's.
func explainConflict(err error, m *snowflake.Manifest, cmd string) error {
	var conflict *patprofile.ConflictError
	if !errors.As(err, &conflict) {
		return err
	}
	return usagef("choose another profile with --profile (create, replay), or fix \"profile\" in "+m.Path(),
		"pat %s: %v, not the PAT profile of service user %s on %s that the manifest created; nothing was changed", cmd, err, m.Account.UserName(), m.AccountHost)
}

// storedName is a user or role name as Snowflake stores it ("" if invalid).
func storedName(s string) string {
	n, _ := ident.ParseOne(s)
	return n
}

// writePlan writes what will run: on which host, as which role, which
// statements, and what happens to the profile.
func writePlan(w io.Writer, m *snowflake.Manifest, stmts []snowflake.Statement, adminName, profileChange string) {
	if len(stmts) == 0 {
		fmt.Fprintf(w, "-- Nothing to run on %s.\n", m.AccountHost)
	} else {
		fmt.Fprintf(w, "-- On %s, as role %s (%s), these statements run:\n\n%s", m.AccountHost, ident.Quote(m.Account.AdminRoleName()), adminName, snowflake.Script(stmts))
	}
	if profileChange != "" {
		fmt.Fprintf(w, "-- Then %s.\n", profileChange)
	}
}

// confirm asks a person to approve the plan just printed: on a terminal
// it asks; otherwise --yes is required, so a script never runs a plan no
// one has seen by accident.
func (p *patCmd) confirm(cmd string) error {
	if p.yes {
		return nil
	}
	f, ok := terminalStdin(p.e)
	if !ok {
		return usagef("read the plan above, then run again with --yes (or use --dry-run to only print it)",
			"pat %s: stdin is not a terminal, so no one can confirm the plan; nothing was changed", cmd)
	}
	fmt.Fprint(p.e.Stderr, "Run this plan? [y/N] ")
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if yes(strings.TrimSpace(line)) {
		return nil
	}
	return withAdvice(fmt.Errorf("pat %s: not confirmed; nothing was changed", cmd), exitcode.Error, "")
}

// loadManifest reads the manifest: data only, validated as at create time.
// --admin-role (or SA_ADMIN_ROLE) overrides the role it records.
func (p *patCmd) loadManifest() (*snowflake.Manifest, error) {
	m, err := snowflake.LoadManifest(p.manifest)
	if err != nil {
		return nil, usagef("pass --manifest FILE (the file pat create wrote), or fix or remove the file", "%v", err)
	}
	if !config.ValidProfileName(m.Profile) {
		return nil, usagef("fix \"profile\" in "+p.manifest, "manifest %s: profile %q is not a valid profile name", p.manifest, m.Profile)
	}
	if p.a.User != "" && storedName(p.a.User) != m.Account.UserName() {
		return nil, usagef("", "manifest %s is for user %s, not %s", p.manifest, m.Account.UserName(), p.a.User)
	}
	if role := cmp.Or(p.a.AdminRole, p.e.Getenv("SA_ADMIN_ROLE")); role != "" {
		if _, err := ident.ParseOne(role); err != nil {
			return nil, usagef("", "--admin-role: %v", err)
		}
		m.Account.AdminRole = role
	}
	if m.IgnoredStoredSQL() {
		fmt.Fprintf(p.e.Stderr, "sfmcp: note: %s carries SQL (from an older sfmcp, or added by hand); it is ignored: the statements are generated from the manifest's names\n", p.manifest)
	}
	return m, nil
}

// checkCreate refuses, before anything runs, a manifest asking for what
// sfmcp never sets up (a privileged role for the PAT, an allow-ip open to
// the internet). pat remove still accepts it, to clean up.
func (p *patCmd) checkCreate(m *snowflake.Manifest, cmd string) error {
	if err := m.Account.CheckCreate(); err != nil {
		return usagef(fmt.Sprintf("if %s came from elsewhere, delete it; if it is yours, run sfmcp-token pat remove --manifest %s, then pat create with a narrow --role and the service's own --allow-ip", p.manifest, p.manifest),
			"pat %s: manifest %s: service_account.%v; nothing was run", cmd, p.manifest, err)
	}
	return nil
}

// prepare finds the admin for the manifest's account, opens the keychain
// and checks the manifest's profile, before anything runs.
func (p *patCmd) prepare(m *snowflake.Manifest, cmd string) (*config.File, admin, *keychain.Store, patprofile.State, error) {
	cfg, adm, host, err := p.adminContext()
	if err != nil {
		return nil, admin{}, nil, 0, err
	}
	if host != m.AccountHost {
		return nil, admin{}, nil, 0, usagef("use --admin-profile with a profile for "+m.AccountHost+", or pat replay for another account", "pat %s: the manifest is for %s, the admin profile for %s", cmd, m.AccountHost, host)
	}
	store, err := openStore(p.e, cfg)
	if err != nil {
		return nil, admin{}, nil, 0, err
	}
	state, err := checkProfile(cfg, store, m, cmd)
	if err != nil {
		return nil, admin{}, nil, 0, err
	}
	return cfg, adm, store, state, nil
}

// storeChange says what keeping the new PAT does to the profile.
func storeChange(m *snowflake.Manifest, state patprofile.State) string {
	if state == patprofile.Ours {
		return fmt.Sprintf("profile %s gets the new PAT secret (it holds the PAT of %s on %s)", m.Profile, m.Account.UserName(), m.AccountHost)
	}
	return fmt.Sprintf("the new PAT is stored as profile %s (new)", m.Profile)
}

func (p *patCmd) resume() error {
	m, err := p.loadManifest()
	if err != nil {
		return err
	}
	if err := p.checkCreate(m, "resume"); err != nil {
		return err
	}
	// Resume finishes a creation that stopped part-way. A setup pat remove
	// took (partly) down is not one: re-creating it would undo the removal.
	for _, r := range m.Resources {
		if r.Status == snowflake.Removed {
			return usagef(fmt.Sprintf("to finish removing it: sfmcp-token pat remove --manifest %[1]s; to set it up again: delete %[1]s and run sfmcp-token pat create", p.manifest),
				"pat resume: %s records a setup that pat remove removed (%s %s); nothing was run", p.manifest, r.Kind, r.Name)
		}
	}
	stmts := m.CreateStatements()
	if p.dryRun {
		writePlan(p.e.Stdout, m, stmts, "the admin profile", "")
		return nil
	}
	cfg, adm, store, state, err := p.prepare(m, "resume")
	if err != nil {
		return err
	}
	writePlan(p.e.Stdout, m, stmts, adm.name, storeChange(m, state))
	if err := p.confirm("resume"); err != nil {
		return err
	}
	return p.run(cfg, store, adm, m)
}

func (p *patCmd) replay() error {
	old, err := p.loadManifest()
	if err != nil {
		return err
	}
	if err := p.checkCreate(old, "replay"); err != nil {
		return err
	}
	if p.dryRun {
		fmt.Fprint(p.e.Stdout, snowflake.Script(snowflake.StepStatements(old.Account.Steps(), false)))
		return nil
	}
	cfg, adm, host, err := p.adminContext()
	if err != nil {
		return err
	}
	if p.account != "" {
		ep, err := config.NormalizeAccount(p.account)
		if err != nil || ep.Host != host {
			return usagef("pass --admin-profile with a profile for that account", "--account %s is not the admin profile's account (%s)", p.account, host)
		}
	}
	path := strings.TrimSuffix(p.manifest, filepath.Ext(p.manifest)) + "-" + strings.NewReplacer(":", "_", "/", "_").Replace(host) + ".json"
	m := snowflake.NewManifest(path, host, old.Profile, old.Account)
	if p.profileName != "" {
		m.Profile = p.profileName
	} else if host != old.AccountHost {
		m.Profile = old.Profile + "-" + strings.SplitN(host, ".", 2)[0]
	}
	if !config.ValidProfileName(m.Profile) {
		return usagef("pass --profile NAME for the PAT's profile", "pat replay: %q is not a valid profile name", m.Profile)
	}
	store, err := openStore(p.e, cfg)
	if err != nil {
		return err
	}
	state, err := checkProfile(cfg, store, m, "replay")
	if err != nil {
		return err
	}
	fmt.Fprintf(p.e.Stdout, "Replaying %s onto %s (new manifest %s).\n", p.manifest, host, path)
	writePlan(p.e.Stdout, m, m.CreateStatements(), adm.name, storeChange(m, state))
	if err := p.confirm("replay"); err != nil {
		return err
	}
	return p.run(cfg, store, adm, m)
}

func (p *patCmd) remove() error {
	m, err := p.loadManifest()
	if err != nil {
		return err
	}
	stmts := m.RemoveStatements()
	if p.dryRun {
		writePlan(p.e.Stdout, m, stmts, "the admin profile", "")
		return nil
	}
	cfg, adm, store, state, err := p.prepare(m, "remove")
	if err != nil {
		return err
	}
	change := ""
	if state == patprofile.Ours {
		change = fmt.Sprintf("profile %s (the PAT of %s on %s) is removed from the config and %s", m.Profile, m.Account.UserName(), m.AccountHost, store.Where())
	}
	writePlan(p.e.Stdout, m, stmts, adm.name, change)
	if err := p.confirm("remove"); err != nil {
		return err
	}
	r := &snowflake.Runner{API: p.api(adm, m.Account.AdminRoleName()), Manifest: m, Progress: func(s string) { fmt.Fprintln(p.e.Stdout, s) }}
	if err := r.Remove(p.ctx); err != nil {
		return p.runError(err, adm.name)
	}
	if state != patprofile.Ours {
		fmt.Fprintf(p.e.Stdout, "Removed everything the manifest recorded; there was no profile %s to remove.\n", m.Profile)
		return nil
	}
	err = patprofile.Remove(cfg, store, m)
	notifyDaemon(p.ctx, p.e, m.Profile)
	fmt.Fprintf(p.e.Stdout, "Removed everything the manifest recorded; profile %s is gone.\n", m.Profile)
	return err
}
