package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/patsetup"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

const defaultManifest = "sfmcp-manifest.json"

func newPATCommand(e *Env) *cobra.Command {
	c := group("pat COMMAND", "Service accounts with programmatic access tokens",
		newPATCreateCommand(e, nil), newPATVerifyCommand(e, nil), newPATStatusCommand(e, nil), newPATRotateCommand(e, nil),
		newPATRemoveCommand(e, nil), newPATReplayCommand(e, nil), newPATResumeCommand(e, nil))
	c.Long = `Set up a service user for automation (CI/CD) that authenticates only with a
programmatic access token (PAT): the user, a network rule and policy, a
PAT-only authentication policy and the PAT, kept in the keychain as a
profile. A manifest (sfmcp-manifest.json) records every resource, so a setup
can be resumed, replayed elsewhere or removed; it holds names, never SQL or
secrets.`
	return c
}

// patOptions is what every pat subcommand takes.
type patOptions struct {
	e                             *Env
	manifest, user, profile       string
	adminProfile, adminConnection string
	adminRole                     string
	dryRun                        bool
}

// command is a pat subcommand with the flags they all take; run gets the
// command's context.
func (o *patOptions) command(use, short, example string, run func(context.Context) error) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Example: example, Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context()) }}
	fs := c.Flags()
	fs.StringVar(&o.user, "user", "", "service user (env SA_USER)")
	fs.StringVar(&o.manifest, "manifest", defaultManifest, "manifest file recording the setup")
	fs.StringVar(&o.adminProfile, "admin-profile", "", "profile whose token runs the admin SQL (default: the default profile)")
	fs.StringVar(&o.adminConnection, "admin-connection", "", "or a Snowflake CLI connection with key-pair auth (authenticator = SNOWFLAKE_JWT, private_key_file)")
	fs.StringVar(&o.adminRole, "admin-role", "", "role for the admin SQL (env SA_ADMIN_ROLE; default: the manifest's, else ACCOUNTADMIN)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the SQL only")
	fs.StringVar(&o.profile, "profile", "", "the PAT's profile (default: named after the user)")
	_ = c.RegisterFlagCompletionFunc("admin-profile", completeProfiles(o.e))
	return c
}

// runOrTest runs runF when a test passed one (to inspect the parsed
// options), else run.
func runOrTest[O any](o *O, runF func(*O) error, run func(context.Context, *O) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if runF != nil {
			return runF(o)
		}
		return run(ctx, o)
	}
}

// seedEnv names, by flag, the environment variables of the scripts the pat
// commands grew from (the seed): their users rely on them, so a value the
// flags leave out falls back to them. seed is the one place they are read.
// The seed's fifth, SNOWFLAKE_DEFAULT_CONNECTION_NAME, is the Snowflake
// CLI's own: config.SnowflakeCLIConnection reads it, where every Snowflake
// CLI connection is read.
var seedEnv = map[string]string{"user": "SA_USER", "role": "SA_ROLE", "db": "SNOW_UTILS_DB", "admin-role": "SA_ADMIN_ROLE"}

func (o *patOptions) seed(flagName string) string { return o.e.Getenv(seedEnv[flagName]) }

// value fills a missing input: flag, then the seed's environment, then a
// default, then a prompt on a terminal; without a terminal a missing
// value is a usage error, never a hang.
func (o *patOptions) value(v *string, flagName, def string) error {
	if *v != "" {
		return nil
	}
	if *v = o.seed(flagName); *v != "" {
		return nil
	}
	if def != "" {
		*v = def
		return nil
	}
	if f, ok := terminalStdin(o.e); ok {
		fmt.Fprintf(o.e.Stderr, "%s: ", flagName)
		line, err := bufio.NewReader(f).ReadString('\n')
		if *v = strings.TrimSpace(line); *v != "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return usagef(fmt.Sprintf("pass --%s or set %s", flagName, seedEnv[flagName]), "pat: --%s is required", flagName)
}

// adminRoleOverride is --admin-role, else the seed's SA_ADMIN_ROLE: the
// role a manifest's SQL runs as instead of the one it records.
func (o *patOptions) adminRoleOverride() string {
	return cmp.Or(o.adminRole, o.seed("admin-role"))
}

// creds gives the SQL API a profile's token from the daemon.
func (o *patOptions) creds(profile, server string) snowflake.Credentials {
	return daemonCreds{e: o.e, profile: profile, server: server}
}

// loadAdmin finds who runs the administrator's SQL, and refuses a PAT
// profile: a session authenticated with a PAT cannot manage PATs.
func (o *patOptions) loadAdmin() (*config.File, patsetup.Admin, error) {
	cfg, err := loadConfig(o.e)
	if err != nil {
		return nil, patsetup.Admin{}, err
	}
	adm, err := o.admin(cfg)
	return cfg, adm, err
}

func (o *patOptions) admin(cfg *config.File) (patsetup.Admin, error) {
	var notKeyPair *patsetup.NotKeyPairError
	var patSession *patsetup.PATSessionError
	if o.adminConnection != "" {
		adm, err := patsetup.KeyPairAdmin(o.adminConnection, o.e.Getenv)
		if errors.As(err, &notKeyPair) {
			return adm, usagef("set authenticator = \"SNOWFLAKE_JWT\", user and private_key_file in the connection", "%v", err)
		}
		return adm, asUsage(err)
	}
	prof, err := selectProfile(o.e, cfg, o.adminProfile)
	if err != nil {
		return patsetup.Admin{}, err
	}
	adm, err := patsetup.ProfileAdmin(prof, o.creds)
	if errors.As(err, &patSession) {
		return adm, usagef("use an OAuth profile (sfmcp-token profile add admin --account ... --role <admin role>, then login) or --admin-connection with key-pair auth", "%v", err)
	}
	return adm, asUsage(err)
}

// asUsage makes err (if any) a usage error without advice.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return usagef("", "%v", err)
}

type patCreateOptions struct {
	patOptions
	account    snowflake.ServiceAccount // role, db, days and token name
	schema     string
	allowIPs   []string
	printToken bool
}

func newPATCreateCommand(e *Env, runF func(*patCreateOptions) error) *cobra.Command {
	o := &patCreateOptions{patOptions: patOptions{e: e}}
	c := o.command("create --user U --role R --db DB [--allow-ip CIDR]...", "Create a service user, its network and authentication policies, and a PAT",
		"  sfmcp-token pat create --user CI_BOT --role CI_READ --db OPS --allow-ip 203.0.113.0/24", runOrTest(o, runF, patCreate))
	fs := c.Flags()
	fs.StringVar(&o.account.Role, "role", "", "role the PAT is restricted to, a narrow one: never ACCOUNTADMIN or another system admin role (env SA_ROLE)")
	fs.StringVar(&o.account.Database, "db", "", "database for the network rule and policies (env SNOW_UTILS_DB)")
	fs.StringVar(&o.schema, "schema", "", "one schema for rule and policies (default NETWORKS and POLICIES)")
	stringsFlag(fs, &o.allowIPs, "allow-ip", "IPv4 address or CIDR (at most a /8) the service connects from (repeatable)")
	fs.IntVar(&o.account.Days, "days", 30, "days until the PAT expires (1-365)")
	fs.StringVar(&o.account.TokenName, "token-name", "", "PAT name (default USER_PAT)")
	fs.BoolVar(&o.printToken, "print-token", false, "also print the PAT secret on stdout")
	return c
}

func patCreate(ctx context.Context, o *patCreateOptions) error {
	a, err := o.serviceAccount()
	if err != nil {
		return err
	}
	if err := patsetup.CheckNew(o.manifest); err != nil {
		return usagef("run: sfmcp-token pat resume --manifest "+o.manifest+" (or pat remove, or choose another --manifest)", "pat create: %v", err)
	}
	if o.dryRun {
		fmt.Fprint(o.e.Stdout, snowflake.Script(snowflake.StepStatements(a.Steps(), false)))
		return nil
	}
	profile := patsetup.ProfileFor(a, o.profile)
	if !config.ValidProfileName(profile) {
		return usagef("pass --profile NAME for the PAT's profile", "pat create: %q is not a valid profile name", profile)
	}
	j, err := o.job("create", o.e.Stdout, false)
	if err != nil {
		return err
	}
	m := snowflake.NewManifest(o.manifest, j.Admin.Host(), profile, a)
	secret, err := j.Create(ctx, m)
	if err != nil {
		return j.explain(err, m)
	}
	j.ready(m, secret, o.printToken)
	return nil
}

// serviceAccount is the account the flags, the seed's environment and
// answers on a terminal ask for, validated.
func (o *patCreateOptions) serviceAccount() (snowflake.ServiceAccount, error) {
	a := o.account
	a.User, a.AdminRole, a.AllowIPs = o.user, o.adminRole, o.allowIPs
	for _, v := range []struct {
		dst  *string
		flag string
	}{{&a.User, "user"}, {&a.Role, "role"}, {&a.Database, "db"}} {
		if err := o.value(v.dst, v.flag, ""); err != nil {
			return a, err
		}
	}
	if err := o.value(&a.AdminRole, "admin-role", "ACCOUNTADMIN"); err != nil {
		return a, err
	}
	if o.schema != "" {
		a.RuleSchema, a.PolicySchema = o.schema, o.schema
	}
	if err := a.Normalize(); err != nil {
		return a, accountError(err)
	}
	return a, accountError(a.CheckCreate())
}

// accountError says which flag holds an invalid value.
func accountError(err error) error {
	var fe *snowflake.FieldError
	if err == nil {
		return nil
	}
	if !errors.As(err, &fe) {
		return usagef("", "pat create: %v", err)
	}
	flag := map[string]string{"user": "--user", "role": "--role", "database": "--db", "rule_schema": "--schema", "policy_schema": "--schema",
		"admin_role": "--admin-role", "token_name": "--token-name", "days": "--days", "allow_ips": "--allow-ip"}[fe.Field]
	return usagef("", "pat create: %s: %v", flag, fe.Err)
}

type patStatusOptions struct {
	patOptions
	asJSON bool
}

func newPATStatusCommand(e *Env, runF func(*patStatusOptions) error) *cobra.Command {
	o := &patStatusOptions{patOptions: patOptions{e: e}}
	c := o.command("status", "Show the manifest's resources and the PAT's expiry", "  sfmcp-token pat status --json", runOrTest(o, runF, patStatus))
	c.Flags().BoolVar(&o.asJSON, "json", false, "print JSON")
	return c
}

func patStatus(ctx context.Context, o *patStatusOptions) error {
	m, err := o.loadManifest()
	if err != nil {
		return err
	}
	_, adm, err := o.loadAdmin()
	if err != nil {
		return err
	}
	pats, err := patsetup.PATs(ctx, adm.Client(o.e.snowflakeHTTP(), m.Account.AdminRoleName()), m, time.Now())
	if err != nil {
		return sqlAdvice(err, adm.Name)
	}
	if o.asJSON {
		return writeJSON(o.e, pats)
	}
	tw := tabwriter.NewWriter(o.e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tEXPIRES\tSTATUS\tDAYS LEFT")
	for _, p := range pats {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", p.Name, p.Role, p.ExpiresAt, p.Status, p.DaysLeft)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range pats {
		if p.RotateSoon() {
			fmt.Fprintf(o.e.Stdout, "%s expires in %d days: run sfmcp-token pat rotate --manifest %s\n", p.Name, p.DaysLeft, o.manifest)
		}
	}
	return nil
}

type patVerifyOptions struct {
	patOptions
	server string
}

func newPATVerifyCommand(e *Env, runF func(*patVerifyOptions) error) *cobra.Command {
	o := &patVerifyOptions{patOptions: patOptions{e: e}}
	c := o.command("verify [--server DB.SCHEMA.NAME]", "Check that the PAT works (and, with --server, list an MCP server's tools)",
		"  sfmcp-token pat verify --server DB.PUBLIC.GONG_MCP", runOrTest(o, runF, patVerify))
	c.Flags().StringVar(&o.server, "server", "", "also list an MCP server's tools with the PAT: DB.SCHEMA.NAME")
	return c
}

// patVerify proves the PAT authenticates (SELECT CURRENT_USER() through
// the SQL API with the PAT, served by the daemon) and, with --server, that
// an MCP server lists its tools to it.
func patVerify(ctx context.Context, o *patVerifyOptions) error {
	m, err := o.loadManifest()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o.e)
	if err != nil {
		return err
	}
	prof, err := cfg.Profile(m.Profile)
	if err != nil {
		return err
	}
	pat, err := patsetup.ProfileSession(prof, o.creds)
	if err != nil {
		return asUsage(err)
	}
	got, err := patsetup.Verify(ctx, pat.Client(o.e.snowflakeHTTP(), ""), m)
	var wrong *patsetup.WrongUserError
	if errors.As(err, &wrong) {
		return err
	}
	if err != nil {
		return sqlAdvice(patAdvice(err), prof.Name)
	}
	fmt.Fprintf(o.e.Stdout, "✓ the PAT of profile %s authenticates as %s\n", prof.Name, got)
	if o.server == "" {
		return nil
	}
	_, url, err := profileAndServer(o.e, prof.Name, o.server)
	if err != nil {
		return err
	}
	n, err := listTools(ctx, o.e, prof.Name, url)
	if err != nil {
		return withAdvice(fmt.Errorf("MCP tools/list with the PAT: %w", err), exitcode.Error, "grant the PAT's role USAGE on the MCP server")
	}
	fmt.Fprintf(o.e.Stdout, "✓ MCP server %s lists %d tools with the PAT\n", o.server, n)
	return nil
}

// patAdvice adds what Snowflake's PAT errors mean (err itself when it
// knows none).
func patAdvice(err error) error {
	switch {
	case snowflake.IsCode(err, "390432"):
		return withAdvice(err, exitcode.Usage, "the service user needs a network policy before it can get or use a PAT (the network_policy step); check --allow-ip")
	case snowflake.IsCode(err, "003164"):
		return withAdvice(err, exitcode.Usage, "service users' PATs need ROLE_RESTRICTION: pass --role")
	case snowflake.IsCode(err, "003165"):
		return withAdvice(err, exitcode.Usage, "grant the role to the user first (the pat step does: GRANT ROLE … TO USER …; check that the role exists)")
	case snowflake.IsCode(err, "003166"):
		return withAdvice(err, exitcode.Usage, "the user has 15 PATs, Snowflake's limit: remove unused ones (ALTER USER … REMOVE PROGRAMMATIC ACCESS TOKEN …)")
	}
	return err
}

// storedName is a user or role name as Snowflake stores it ("" if invalid).
func storedName(s string) string {
	n, _ := ident.ParseOne(s)
	return n
}
