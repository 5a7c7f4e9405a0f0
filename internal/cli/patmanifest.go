package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
	plan, err := patsetup.ResumePlan(m)
	var removed *patsetup.RemovedError
	if errors.As(err, &removed) {
		return usagef(fmt.Sprintf("to finish removing it: sfmcp-token pat remove --manifest %[1]s; to set it up again: delete %[1]s and run sfmcp-token pat create", o.manifest),
			"pat resume: %v; nothing was run", err)
	}
	if err != nil {
		return o.refused(err, "resume")
	}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, plan.Script())
		return nil
	}
	j, err := o.job("resume", o.e.Stdout, o.yes)
	if err != nil {
		return err
	}
	if err := j.Resume(ctx, m); err != nil {
		return j.explain(err, m)
	}
	j.ready(m, "", false)
	return nil
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
	if err := patsetup.CheckManifest(old); err != nil {
		return o.refused(err, "replay")
	}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, snowflake.Script(snowflake.StepStatements(old.Account.Steps(), false)))
		return nil
	}
	j, err := o.job("replay", o.e.Stdout, o.yes)
	if err != nil {
		return err
	}
	host := j.Admin.Host()
	if o.account != "" {
		if ep, err := config.NormalizeAccount(o.account); err != nil || ep.Host != host {
			return usagef("pass --admin-profile with a profile for that account", "--account %s is not the admin profile's account (%s)", o.account, host)
		}
	}
	m := patsetup.Replay(old, host, o.profile)
	if !config.ValidProfileName(m.Profile) {
		return usagef("pass --profile NAME for the PAT's profile", "pat replay: %q is not a valid profile name", m.Profile)
	}
	approve := j.Approve // introduced by where the setup goes
	j.Approve = func(p patsetup.Plan) error {
		fmt.Fprintf(o.e.Stdout, "Replaying %s onto %s (new manifest %s).\n", o.manifest, host, m.Path())
		return approve(p)
	}
	secret, err := j.Replay(ctx, m)
	if err != nil {
		return j.explain(err, m)
	}
	j.ready(m, secret, o.printToken)
	return nil
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
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, patsetup.Plan{Manifest: m, Statements: m.RemoveStatements(), Admin: "the admin profile"}.Script())
		return nil
	}
	j, err := o.job("remove", o.e.Stdout, o.yes)
	if err != nil {
		return err
	}
	ours, err := j.Remove(ctx, m)
	var profileErr *patsetup.ProfileError
	if err != nil && !errors.As(err, &profileErr) {
		return j.explain(err, m)
	}
	if !ours {
		fmt.Fprintf(o.e.Stdout, "Removed everything the manifest recorded; there was no profile %s to remove.\n", m.Profile)
		return nil
	}
	fmt.Fprintf(o.e.Stdout, "Removed everything the manifest recorded; profile %s is gone.\n", m.Profile)
	if profileErr != nil {
		return profileErr.Err
	}
	return nil
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
	// A rotation ends the old secret (at once with 0 hours) and puts the
	// new one in a profile here, so it is shown and confirmed like the
	// others; on stderr, because --print-token owns stdout.
	j, err := o.job("rotate", o.e.Stderr, o.yes)
	if err != nil {
		return err
	}
	secret, err := j.Rotate(ctx, m, o.expireHours)
	if err != nil {
		return j.explain(err, m)
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

// refused explains a manifest asking for what sfmcp never sets up (a
// privileged role for the PAT, an allow-ip open to the internet).
func (o *patOptions) refused(err error, cmd string) error {
	return usagef(fmt.Sprintf("if %s came from elsewhere, delete it; if it is yours, run sfmcp-token pat remove --manifest %s, then pat create with a narrow --role and the service's own --allow-ip", o.manifest, o.manifest),
		"pat %s: %v", cmd, err)
}

// job finds the admin and builds the job that runs cmd's plan: plans go
// to w, and a person approves them (or --yes did).
func (o *patOptions) job(cmd string, w io.Writer, yes bool) (*patJob, error) {
	cfg, adm, err := o.loadAdmin()
	if err != nil {
		return nil, err
	}
	j := &patsetup.Job{Admin: adm, HTTP: o.e.snowflakeHTTP(), Config: cfg,
		OpenStore: func() (*keychain.Store, error) { return openStore(o.e, cfg) },
		Record:    func(c *keychain.Credential) error { return recordNetwork(cfg, c) },
		Approve: func(p patsetup.Plan) error {
			fmt.Fprint(w, p.Script())
			return confirm(o.e, cmd, yes)
		},
		Progress: func(s string) { fmt.Fprintln(o.e.Stdout, s) },
		Changed:  func(ctx context.Context, profile string) { notifyDaemon(ctx, o.e, profile) },
	}
	return &patJob{Job: j, e: o.e, cmd: cmd, manifest: o.manifest}, nil
}

// patJob is a pat command's job, with what its messages name.
type patJob struct {
	*patsetup.Job
	e        *Env
	cmd      string // create, resume, …
	manifest string // --manifest
}

// ready says the service account is set up (and prints its PAT when asked).
func (j *patJob) ready(m *snowflake.Manifest, secret string, printToken bool) {
	fmt.Fprintf(j.e.Stdout, "Service account %s is ready; its PAT is profile %s in %s (manifest %s).\n", m.Account.User, m.Profile, j.Where(), m.Path())
	if printToken && secret != "" {
		fmt.Fprintln(j.e.Stdout, secret)
	}
}

// explain turns a job's error into advice: what stopped it before
// anything ran, else what the failed run means (a user sfmcp will not
// change, Snowflake's PAT rules, then any SQL failure).
func (j *patJob) explain(err error, m *snowflake.Manifest) error {
	var (
		run      *patsetup.RunError
		host     *patsetup.HostError
		conflict *patprofile.ConflictError
	)
	switch {
	case errors.As(err, &run):
		return j.runError(run.Err)
	case errors.As(err, &host):
		return usagef("use --admin-profile with a profile for "+m.AccountHost+", or pat replay for another account", "pat %s: %v", j.cmd, err)
	case errors.As(err, &conflict):
		// The manifest's profile is someone else's.
		return usagef("choose another profile with --profile (create, replay), or fix \"profile\" in "+m.Path(),
			"pat %s: %v, not the PAT profile of service user %s on %s that the manifest created; nothing was changed", j.cmd, err, m.Account.UserName(), m.AccountHost)
	}
	return err
}

// runError explains a plan that failed while it ran: a user sfmcp will not
// change, Snowflake's PAT rules, then what any SQL failure means.
func (j *patJob) runError(err error) error {
	var ue *snowflake.UserError
	if errors.As(err, &ue) {
		return withAdvice(fmt.Errorf("pat %s: %w", j.cmd, err), exitcode.Usage, userAdvice(ue, j.cmd, j.manifest))
	}
	if adv := patAdvice(err); adv != err {
		return adv
	}
	return sqlAdvice(err, j.Admin.Name)
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
