package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/patsetup"
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

// patPlanOptions is what the subcommands that show a plan first take.
type patPlanOptions struct {
	patOptions
	yes bool
}

func (o *patPlanOptions) command(use, short, example string, run func(context.Context) error) *cobra.Command {
	c := o.patOptions.command(use, short, example, run)
	c.Flags().BoolVar(&o.yes, "yes", false, "run the plan without asking (required when stdin is not a terminal)")
	return c
}

type patResumeOptions struct{ patPlanOptions }

func newPATResumeCommand(e *Env, runF func(*patResumeOptions) error) *cobra.Command {
	o := &patResumeOptions{patPlanOptions{patOptions: patOptions{e: e}}}
	return o.command("resume", "Finish a setup that stopped part-way", "  sfmcp-token pat resume", runOrTest(o, runF, patResume))
}

func patResume(ctx context.Context, o *patResumeOptions) error {
	m, err := o.loadManifest()
	if err != nil {
		return err
	}
	if err := o.checkCreate(m, "resume"); err != nil {
		return err
	}
	if err := patsetup.CheckResume(m); err != nil {
		return usagef(fmt.Sprintf("to finish removing it: sfmcp-token pat remove --manifest %[1]s; to set it up again: delete %[1]s and run sfmcp-token pat create", o.manifest),
			"pat resume: %v; nothing was run", err)
	}
	plan := patsetup.Plan{Manifest: m, Statements: m.CreateStatements(), Admin: "the admin profile"}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, plan.Script())
		return nil
	}
	r, err := o.prepare(m, "resume")
	if err != nil {
		return err
	}
	plan.Admin, plan.Then = r.admin.Name, patsetup.Keeping(m, r.state)
	if err := r.approve(o.e.Stdout, plan, o.yes); err != nil {
		return err
	}
	return r.create(ctx, false)
}

type patReplayOptions struct {
	patPlanOptions
	account    string
	printToken bool
}

func newPATReplayCommand(e *Env, runF func(*patReplayOptions) error) *cobra.Command {
	o := &patReplayOptions{patPlanOptions: patPlanOptions{patOptions: patOptions{e: e}}}
	c := o.command("replay --account ACCOUNT", "Create the manifest's setup again on another account",
		"  sfmcp-token pat replay --account myorg-staging --admin-profile staging", runOrTest(o, runF, patReplay))
	c.Flags().StringVar(&o.account, "account", "", "the account to replay onto (must be the admin profile's)")
	c.Flags().BoolVar(&o.printToken, "print-token", false, "also print the PAT secret on stdout")
	return c
}

func patReplay(ctx context.Context, o *patReplayOptions) error {
	old, err := o.loadManifest()
	if err != nil {
		return err
	}
	if err := o.checkCreate(old, "replay"); err != nil {
		return err
	}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, snowflake.Script(snowflake.StepStatements(old.Account.Steps(), false)))
		return nil
	}
	cfg, adm, err := o.loadAdmin()
	if err != nil {
		return err
	}
	if o.account != "" {
		ep, err := config.NormalizeAccount(o.account)
		if err != nil || ep.Host != adm.Host() {
			return usagef("pass --admin-profile with a profile for that account", "--account %s is not the admin profile's account (%s)", o.account, adm.Host())
		}
	}
	m := patsetup.Replay(old, adm.Host(), o.profile)
	if !config.ValidProfileName(m.Profile) {
		return usagef("pass --profile NAME for the PAT's profile", "pat replay: %q is not a valid profile name", m.Profile)
	}
	r, err := o.open(cfg, adm, m, "replay")
	if err != nil {
		return err
	}
	fmt.Fprintf(o.e.Stdout, "Replaying %s onto %s (new manifest %s).\n", o.manifest, adm.Host(), m.Path())
	plan := patsetup.Plan{Manifest: m, Statements: m.CreateStatements(), Admin: adm.Name, Then: patsetup.Keeping(m, r.state)}
	if err := r.approve(o.e.Stdout, plan, o.yes); err != nil {
		return err
	}
	return r.create(ctx, o.printToken)
}

type patRemoveOptions struct{ patPlanOptions }

func newPATRemoveCommand(e *Env, runF func(*patRemoveOptions) error) *cobra.Command {
	o := &patRemoveOptions{patPlanOptions{patOptions: patOptions{e: e}}}
	return o.command("remove", "Drop everything the manifest created, in reverse order", "  sfmcp-token pat remove --yes", runOrTest(o, runF, patRemove))
}

func patRemove(ctx context.Context, o *patRemoveOptions) error {
	m, err := o.loadManifest()
	if err != nil {
		return err
	}
	plan := patsetup.Plan{Manifest: m, Statements: m.RemoveStatements(), Admin: "the admin profile"}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, plan.Script())
		return nil
	}
	r, err := o.prepare(m, "remove")
	if err != nil {
		return err
	}
	plan.Admin, plan.Then = r.admin.Name, patsetup.Removing(m, r.state, r.store.Where())
	if err := r.approve(o.e.Stdout, plan, o.yes); err != nil {
		return err
	}
	runner := &snowflake.Runner{API: r.api(), Manifest: m, Progress: r.progress}
	if err := runner.Remove(ctx); err != nil {
		return r.explain(err)
	}
	if r.state != patprofile.Ours {
		fmt.Fprintf(o.e.Stdout, "Removed everything the manifest recorded; there was no profile %s to remove.\n", m.Profile)
		return nil
	}
	err = patprofile.Remove(r.cfg, r.store, m)
	notifyDaemon(ctx, o.e, m.Profile)
	fmt.Fprintf(o.e.Stdout, "Removed everything the manifest recorded; profile %s is gone.\n", m.Profile)
	return err
}

type patRotateOptions struct {
	patPlanOptions
	expireHours int
	printToken  bool
}

func newPATRotateCommand(e *Env, runF func(*patRotateOptions) error) *cobra.Command {
	o := &patRotateOptions{patPlanOptions: patPlanOptions{patOptions: patOptions{e: e}}}
	c := o.command("rotate", "Rotate the PAT and store the new secret", "  sfmcp-token pat rotate --expire-old-after-hours 1", runOrTest(o, runF, patRotate))
	c.Flags().IntVar(&o.expireHours, "expire-old-after-hours", 24, "hours the old secret stays valid (0: at once)")
	c.Flags().BoolVar(&o.printToken, "print-token", false, "also print the new secret on stdout")
	return c
}

func patRotate(ctx context.Context, o *patRotateOptions) error {
	m, err := o.loadManifest()
	if err != nil {
		return err
	}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, snowflake.Script(m.RotateStatements(o.expireHours)))
		return nil
	}
	r, err := o.prepare(m, "rotate")
	if err != nil {
		return err
	}
	// A rotation ends the old secret (at once with 0 hours) and puts the
	// new one in a profile here, so it is shown and confirmed like the
	// others; on stderr, because --print-token owns stdout.
	plan := patsetup.Plan{Manifest: m, Statements: m.RotateStatements(o.expireHours), Admin: r.admin.Name, Then: patsetup.Keeping(m, r.state)}
	if err := r.approve(o.e.Stderr, plan, o.yes); err != nil {
		return err
	}
	var secret string
	runner := &snowflake.Runner{API: r.api(), Manifest: m, StoreSecret: r.keepInto(ctx, &secret)}
	if err := runner.Rotate(ctx, o.expireHours); err != nil {
		return r.explain(err)
	}
	fmt.Fprintf(o.e.Stdout, "Rotated the PAT of %s; profile %s serves the new secret; the old one stays valid for %d hours.\n", m.Account.User, m.Profile, o.expireHours)
	if o.printToken {
		fmt.Fprintln(o.e.Stdout, secret)
	}
	return nil
}

// loadManifest reads the manifest: data only, validated as at create time.
// --admin-role (or SA_ADMIN_ROLE) overrides the role it records.
func (o *patOptions) loadManifest() (*snowflake.Manifest, error) {
	m, err := patsetup.Open(o.manifest, o.user, o.adminRoleOverride())
	var (
		badProfile *patsetup.ProfileNameError
		otherUser  *patsetup.OtherUserError
		badRole    *patsetup.AdminRoleError
	)
	switch {
	case errors.As(err, &badProfile):
		return nil, usagef("fix \"profile\" in "+o.manifest, "%v", err)
	case errors.As(err, &otherUser):
		return nil, usagef("", "%v", err)
	case errors.As(err, &badRole):
		return nil, usagef("", "--admin-role: %v", err)
	case err != nil:
		return nil, usagef("pass --manifest FILE (the file pat create wrote), or fix or remove the file", "%v", err)
	}
	if m.IgnoredStoredSQL() {
		fmt.Fprintf(o.e.Stderr, "sfmcp: note: %s carries SQL (from an older sfmcp, or added by hand); it is ignored: the statements are generated from the manifest's names\n", o.manifest)
	}
	return m, nil
}

// checkCreate refuses, before anything runs, a manifest asking for what
// sfmcp never sets up (a privileged role for the PAT, an allow-ip open to
// the internet). pat remove still accepts it, to clean up.
func (o *patOptions) checkCreate(m *snowflake.Manifest, cmd string) error {
	if err := m.Account.CheckCreate(); err != nil {
		return usagef(fmt.Sprintf("if %s came from elsewhere, delete it; if it is yours, run sfmcp-token pat remove --manifest %s, then pat create with a narrow --role and the service's own --allow-ip", o.manifest, o.manifest),
			"pat %s: manifest %s: service_account.%v; nothing was run", cmd, o.manifest, err)
	}
	return nil
}

// prepare finds the admin for the manifest's account, opens the keychain
// and checks the manifest's profile, before anything runs.
func (o *patOptions) prepare(m *snowflake.Manifest, cmd string) (*patRun, error) {
	cfg, adm, err := o.loadAdmin()
	if err != nil {
		return nil, err
	}
	if err := patsetup.CheckHost(m, adm.Host()); err != nil {
		return nil, usagef("use --admin-profile with a profile for "+m.AccountHost+", or pat replay for another account", "pat %s: %v", cmd, err)
	}
	return o.open(cfg, adm, m, cmd)
}

// open opens the keychain and checks that the manifest's profile is free
// or its own.
func (o *patOptions) open(cfg *config.File, adm patsetup.Admin, m *snowflake.Manifest, cmd string) (*patRun, error) {
	store, err := openStore(o.e, cfg)
	if err != nil {
		return nil, err
	}
	state, err := patprofile.Check(cfg, store, m)
	if err != nil {
		return nil, explainConflict(err, m, cmd)
	}
	return &patRun{e: o.e, cmd: cmd, manifest: o.manifest, cfg: cfg, store: store, admin: adm, m: m, state: state}, nil
}

// patRun is one pat command's resolved pieces, once nothing stands in the
// way of its plan.
type patRun struct {
	e        *Env
	cmd      string // create, resume, …: for messages
	manifest string // --manifest, for advice
	cfg      *config.File
	store    *keychain.Store
	admin    patsetup.Admin
	m        *snowflake.Manifest
	state    patprofile.State // of the manifest's profile
}

func (r *patRun) api() *snowflake.Client {
	return r.admin.Client(r.e.snowflakeHTTP(), r.m.Account.AdminRoleName())
}

func (r *patRun) progress(s string) { fmt.Fprintln(r.e.Stdout, s) }

// approve writes the plan to w and has a person approve it.
func (r *patRun) approve(w io.Writer, plan patsetup.Plan, yes bool) error {
	fmt.Fprint(w, plan.Script())
	return confirm(r.e, r.cmd, yes)
}

// create carries out the manifest's plan and keeps the PAT as a profile.
func (r *patRun) create(ctx context.Context, printToken bool) error {
	var secret string
	runner := &snowflake.Runner{API: r.api(), Manifest: r.m, Progress: r.progress, StoreSecret: r.keepInto(ctx, &secret)}
	if err := runner.Create(ctx); err != nil {
		return r.explain(err)
	}
	fmt.Fprintf(r.e.Stdout, "Service account %s is ready; its PAT is profile %s in %s (manifest %s).\n", r.m.Account.User, r.m.Profile, r.store.Where(), r.m.Path())
	if printToken && secret != "" {
		fmt.Fprintln(r.e.Stdout, secret)
	}
	return nil
}

// keepInto stores a new secret as the manifest's PAT profile (and in
// *secret, for --print-token), then tells the daemon.
func (r *patRun) keepInto(ctx context.Context, secret *string) func(string, time.Time) error {
	return func(s string, expires time.Time) error {
		*secret = s
		err := patprofile.Keep(r.cfg, r.store, r.m, r.admin.Profile, s, expires, func(c *keychain.Credential) error { return recordNetwork(r.cfg, c) })
		if err != nil {
			return explainConflict(err, r.m, "store the PAT")
		}
		notifyDaemon(ctx, r.e, r.m.Profile)
		return nil
	}
}

// explain explains a failed pat create, resume, replay, rotate or
// remove: a user sfmcp will not change, Snowflake's PAT rules, then what
// any SQL failure means.
func (r *patRun) explain(err error) error {
	var ue *snowflake.UserError
	if errors.As(err, &ue) {
		return withAdvice(fmt.Errorf("pat %s: %w", r.cmd, err), exitcode.Usage, userAdvice(ue, r.cmd, r.manifest))
	}
	if adv := patAdvice(err); adv != err {
		return adv
	}
	return sqlAdvice(err, r.admin.Name)
}

// userAdvice is the next step when sfmcp refuses to change a user.
func userAdvice(ue *snowflake.UserError, cmd, manifest string) string {
	const rule = "sfmcp only manages service users it created, and never takes over an existing user"
	switch {
	case ue.Missing:
		return fmt.Sprintf("it was dropped outside sfmcp: run sfmcp-token pat remove --manifest %s to clear what is left, then pat create again", manifest)
	case cmd == "create":
		return rule + ": pick another --user"
	case cmd == "remove" || cmd == "rotate":
		return fmt.Sprintf("%s: %s names a user sfmcp did not create, so there is nothing of sfmcp's to %s; if the file came from elsewhere, delete it", rule, manifest, cmd)
	case cmd == "resume" && ue.Err != nil:
		// The rare case of a run cut off between Snowflake creating the
		// user and the manifest recording it.
		return fmt.Sprintf("%s: if %s came from elsewhere, delete it, or pick another --user with pat create. "+
			"(If this setup's own run stopped just after creating the user, DESCRIBE USER %s shows TYPE SERVICE and COMMENT '%s': drop that user, then resume.)",
			rule, manifest, ident.Quote(ue.User), snowflake.ServiceComment)
	}
	return fmt.Sprintf("%s: %s names a user sfmcp did not create; if it came from elsewhere, delete it, or pick another --user with pat create", rule, manifest)
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

// terminalStdin returns stdin when it is a terminal someone can answer on.
func terminalStdin(e *Env) (*os.File, bool) {
	f, ok := e.Stdin.(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks a person to approve the plan just printed: on a terminal
// it asks; otherwise --yes is required, so a script never runs a plan no
// one has seen by accident.
func confirm(e *Env, cmd string, yesFlag bool) error {
	if yesFlag {
		return nil
	}
	f, ok := terminalStdin(e)
	if !ok {
		return usagef("read the plan above, then run again with --yes (or use --dry-run to only print it)",
			"pat %s: stdin is not a terminal, so no one can confirm the plan; nothing was changed", cmd)
	}
	fmt.Fprint(e.Stderr, "Run this plan? [y/N] ")
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if yes(strings.TrimSpace(line)) {
		return nil
	}
	return withAdvice(fmt.Errorf("pat %s: not confirmed; nothing was changed", cmd), exitcode.Error, "")
}
