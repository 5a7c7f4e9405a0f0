package cli

import (
	"bufio"
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
	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/internal/version"
	"github.com/sfmcp/sfmcp/keychain"
)

const defaultManifest = "sfmcp-manifest.json"

func newPATCommand(e *Env) *cobra.Command {
	var subs []*cobra.Command
	for _, a := range []struct{ name, use, short, example string }{
		{"create", "create --user U --role R --db DB [--allow-ip CIDR]...", "Create a service user, its network and authentication policies, and a PAT",
			"  sfmcp-token pat create --user CI_BOT --role CI_READ --db OPS --allow-ip 203.0.113.0/24"},
		{"verify", "verify [--server DB.SCHEMA.NAME]", "Check that the PAT works (and, with --server, list an MCP server's tools)",
			"  sfmcp-token pat verify --server DB.PUBLIC.GONG_MCP"},
		{"status", "status", "Show the manifest's resources and the PAT's expiry", "  sfmcp-token pat status --json"},
		{"rotate", "rotate", "Rotate the PAT and store the new secret", "  sfmcp-token pat rotate --expire-old-after-hours 1"},
		{"remove", "remove", "Drop everything the manifest created, in reverse order", "  sfmcp-token pat remove --yes"},
		{"replay", "replay --account ACCOUNT", "Create the manifest's setup again on another account", "  sfmcp-token pat replay --account myorg-staging --admin-profile staging"},
		{"resume", "resume", "Finish a setup that stopped part-way", "  sfmcp-token pat resume"},
	} {
		p := &patCmd{e: e, sub: a.name}
		c := &cobra.Command{
			Use:     a.use,
			Short:   a.short,
			Example: a.example,
			Args:    noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				p.ctx = cmd.Context()
				return p.dispatch()
			},
		}
		p.register(c)
		subs = append(subs, c)
	}
	c := group("pat COMMAND", "Service accounts with programmatic access tokens", subs...)
	c.Long = `Set up a service user for automation (CI/CD) that authenticates only with a
programmatic access token (PAT): the user, a network rule and policy, a
PAT-only authentication policy and the PAT, kept in the keychain as a
profile. A manifest (sfmcp-manifest.json) records every resource, so a setup
can be resumed, replayed elsewhere or removed; it holds names, never SQL or
secrets.`
	return c
}

func (p *patCmd) dispatch() error {
	switch p.sub {
	case "create":
		return p.create()
	case "resume":
		return p.resume()
	case "replay":
		return p.replay()
	case "remove":
		return p.remove()
	case "rotate":
		return p.rotate()
	case "status":
		return p.status()
	case "verify":
		return p.verify()
	}
	return fmt.Errorf("pat: unknown subcommand %q", p.sub)
}

type patCmd struct {
	e   *Env
	ctx context.Context
	sub string

	a               snowflake.ServiceAccount
	ips             []string
	schema          string
	adminProfile    string
	adminConnection string
	profileName     string
	manifest        string
	account         string
	server          string
	dryRun          bool
	printToken      bool
	asJSON          bool
	expireHours     int
	yes             bool
}

func (p *patCmd) register(c *cobra.Command) {
	fs, sub := c.Flags(), p.sub
	defer func() { _ = c.RegisterFlagCompletionFunc("admin-profile", completeProfiles(p.e)) }()
	fs.StringVar(&p.a.User, "user", "", "service user (env SA_USER)")
	fs.StringVar(&p.manifest, "manifest", defaultManifest, "manifest file recording the setup")
	fs.StringVar(&p.adminProfile, "admin-profile", "", "profile whose token runs the admin SQL (default: the default profile)")
	fs.StringVar(&p.adminConnection, "admin-connection", "", "or a Snowflake CLI connection with key-pair auth (authenticator = SNOWFLAKE_JWT, private_key_file)")
	fs.StringVar(&p.a.AdminRole, "admin-role", "", "role for the admin SQL (env SA_ADMIN_ROLE; default: the manifest's, else ACCOUNTADMIN)")
	fs.BoolVar(&p.dryRun, "dry-run", false, "print the SQL only")
	fs.StringVar(&p.profileName, "profile", "", "the PAT's profile (default: named after the user)")
	switch sub {
	case "create":
		fs.StringVar(&p.a.Role, "role", "", "role the PAT is restricted to, a narrow one: never ACCOUNTADMIN or another system admin role (env SA_ROLE)")
		fs.StringVar(&p.a.Database, "db", "", "database for the network rule and policies (env SNOW_UTILS_DB)")
		fs.StringVar(&p.schema, "schema", "", "one schema for rule and policies (default NETWORKS and POLICIES)")
		stringsFlag(fs, &p.ips, "allow-ip", "IPv4 address or CIDR (at most a /8) the service connects from (repeatable)")
		fs.IntVar(&p.a.Days, "days", 30, "days until the PAT expires (1-365)")
		fs.StringVar(&p.a.TokenName, "token-name", "", "PAT name (default USER_PAT)")
		fs.BoolVar(&p.printToken, "print-token", false, "also print the PAT secret on stdout")
	case "remove", "resume":
		fs.BoolVar(&p.yes, "yes", false, "run the plan without asking (required when stdin is not a terminal)")
	case "rotate":
		fs.IntVar(&p.expireHours, "expire-old-after-hours", 24, "hours the old secret stays valid (0: at once)")
		fs.BoolVar(&p.printToken, "print-token", false, "also print the new secret on stdout")
		fs.BoolVar(&p.yes, "yes", false, "run the plan without asking (required when stdin is not a terminal)")
	case "replay":
		fs.StringVar(&p.account, "account", "", "the account to replay onto (must be the admin profile's)")
		fs.BoolVar(&p.printToken, "print-token", false, "also print the PAT secret on stdout")
		fs.BoolVar(&p.yes, "yes", false, "run the plan without asking (required when stdin is not a terminal)")
	case "status":
		fs.BoolVar(&p.asJSON, "json", false, "print JSON")
	case "verify":
		fs.StringVar(&p.server, "server", "", "also list an MCP server's tools with the PAT: DB.SCHEMA.NAME")
	}
}

// value fills a missing input: flag, then environment, then a prompt on a
// terminal; without a terminal a missing value is a usage error, never a hang.
func (p *patCmd) value(v *string, flagName, env, def string) error {
	if *v != "" {
		return nil
	}
	if *v = p.e.Getenv(env); *v != "" {
		return nil
	}
	if def != "" {
		*v = def
		return nil
	}
	if f, ok := terminalStdin(p.e); ok {
		fmt.Fprintf(p.e.Stderr, "%s: ", flagName)
		line, err := bufio.NewReader(f).ReadString('\n')
		if *v = strings.TrimSpace(line); *v != "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return usagef(fmt.Sprintf("pass --%s or set %s", flagName, env), "pat: --%s is required", flagName)
}

func (p *patCmd) create() error {
	for _, v := range []struct {
		dst       *string
		flag, env string
	}{{&p.a.User, "user", "SA_USER"}, {&p.a.Role, "role", "SA_ROLE"}, {&p.a.Database, "db", "SNOW_UTILS_DB"}} {
		if err := p.value(v.dst, v.flag, v.env, ""); err != nil {
			return err
		}
	}
	if err := p.value(&p.a.AdminRole, "admin-role", "SA_ADMIN_ROLE", "ACCOUNTADMIN"); err != nil {
		return err
	}
	p.a.AllowIPs = p.ips
	if p.schema != "" {
		p.a.RuleSchema, p.a.PolicySchema = p.schema, p.schema
	}
	if err := p.a.Normalize(); err != nil {
		return accountError(err)
	}
	if err := p.a.CheckCreate(); err != nil {
		return accountError(err)
	}
	if m, err := snowflake.LoadManifest(p.manifest); err == nil {
		for _, r := range m.Resources {
			if r.Status == snowflake.Created {
				return usagef("run: sfmcp-token pat resume --manifest "+p.manifest+" (or pat remove, or choose another --manifest)", "pat create: %s already records a setup for %s", p.manifest, m.Account.User)
			}
		}
	}
	if p.dryRun {
		fmt.Fprint(p.e.Stdout, snowflake.Script(snowflake.StepStatements(p.a.Steps(), false)))
		return nil
	}
	if !config.ValidProfileName(p.patProfile()) {
		return usagef("pass --profile NAME for the PAT's profile", "pat create: %q is not a valid profile name", p.patProfile())
	}
	cfg, adm, host, err := p.adminContext()
	if err != nil {
		return err
	}
	m := snowflake.NewManifest(p.manifest, host, p.patProfile(), p.a)
	store, err := openStore(p.e, cfg)
	if err != nil {
		return err
	}
	if _, err := checkProfile(cfg, store, m, "create"); err != nil {
		return err
	}
	return p.run(cfg, store, adm, m)
}

// accountError says which flag holds an invalid value.
func accountError(err error) error {
	var fe *snowflake.FieldError
	if !errors.As(err, &fe) {
		return usagef("", "pat create: %v", err)
	}
	flag := map[string]string{"user": "--user", "role": "--role", "database": "--db", "rule_schema": "--schema", "policy_schema": "--schema",
		"admin_role": "--admin-role", "token_name": "--token-name", "days": "--days", "allow_ips": "--allow-ip"}[fe.Field]
	return usagef("", "pat create: %s: %v", flag, fe.Err)
}

func (p *patCmd) patProfile() string {
	if p.profileName != "" {
		return p.profileName
	}
	return strings.ToLower(p.a.UserName())
}

// admin is who runs the administrator's SQL: an OAuth profile (token from
// the daemon) or a Snowflake CLI connection with key-pair authentication.
type admin struct {
	name    string         // for messages
	profile config.Profile // account and host the PAT profile is created on
	ep      config.Endpoint
	creds   snowflake.Credentials
}

// adminContext finds the admin and refuses a PAT profile: a session
// authenticated with a PAT cannot manage PATs.
func (p *patCmd) adminContext() (*config.File, admin, string, error) {
	cfg, err := loadConfig(p.e)
	if err != nil {
		return nil, admin{}, "", err
	}
	if p.adminConnection != "" {
		a, err := keyPairAdmin(p.e, p.adminConnection)
		if err != nil {
			return nil, admin{}, "", err
		}
		return cfg, a, a.ep.Host, nil
	}
	prof, err := selectProfile(p.e, cfg, p.adminProfile)
	if err != nil {
		return nil, admin{}, "", err
	}
	if prof.IsPAT() {
		return nil, admin{}, "", usagef("use an OAuth profile (sfmcp-token profile add admin --account ... --role <admin role>, then login) or --admin-connection with key-pair auth", "profile %s authenticates with a programmatic access token, and Snowflake does not let a PAT session manage PATs", prof.Name)
	}
	ep, err := prof.Endpoint()
	if err != nil {
		return nil, admin{}, "", usagef("", "profile %s: %v", prof.Name, err)
	}
	return cfg, admin{name: prof.Name, profile: prof, ep: ep, creds: daemonCreds{e: p.e, profile: prof.Name, server: ep.URL()}}, ep.Host, nil
}

// keyPairAdmin reads a Snowflake CLI connection that uses key-pair auth.
func keyPairAdmin(e *Env, name string) (admin, error) {
	c, err := config.SnowflakeCLIConnection(name, e.Getenv)
	if err != nil {
		return admin{}, usagef("", "%v", err)
	}
	if !strings.EqualFold(c.Authenticator, "SNOWFLAKE_JWT") || c.PrivateKey == "" || c.User == "" {
		return admin{}, usagef("set authenticator = \"SNOWFLAKE_JWT\", user and private_key_file in the connection", "connection %s does not use key-pair authentication", name)
	}
	key, err := snowflake.LoadPrivateKey(c.PrivateKey)
	if err != nil {
		return admin{}, usagef("", "connection %s: %v", name, err)
	}
	prof := config.Profile{Name: name, Account: c.Account, Host: c.Host}
	ep, err := prof.Endpoint()
	if err != nil {
		return admin{}, usagef("", "connection %s: %v", name, err)
	}
	return admin{name: "connection " + name, profile: prof, ep: ep, creds: &snowflake.KeyPair{Account: c.Account, User: c.User, Key: key}}, nil
}

func (p *patCmd) api(a admin, role string) *snowflake.Client {
	return &snowflake.Client{BaseURL: a.ep.URL(), HTTPClient: p.e.snowflakeHTTP(), Creds: a.creds, UserAgent: "sfmcp/" + version.String(), Role: role}
}

// run carries out the manifest's plan and keeps the PAT as a profile.
func (p *patCmd) run(cfg *config.File, store *keychain.Store, adm admin, m *snowflake.Manifest) error {
	api := p.api(adm, m.Account.AdminRoleName())
	var secret string
	r := &snowflake.Runner{API: api, Manifest: m,
		Progress: func(s string) { fmt.Fprintln(p.e.Stdout, s) },
		StoreSecret: func(s string, expires time.Time) error {
			secret = s
			return p.keepPAT(cfg, store, adm, m, s, expires)
		}}
	if err := r.Create(p.ctx); err != nil {
		return p.runError(err, adm.name)
	}
	fmt.Fprintf(p.e.Stdout, "Service account %s is ready; its PAT is profile %s in %s (manifest %s).\n", m.Account.User, m.Profile, store.Where(), m.Path())
	if p.printToken && secret != "" {
		fmt.Fprintln(p.e.Stdout, secret)
	}
	return nil
}

// keepPAT stores the secret as the manifest's PAT profile and tells the
// daemon.
func (p *patCmd) keepPAT(cfg *config.File, store *keychain.Store, adm admin, m *snowflake.Manifest, secret string, expires time.Time) error {
	err := patprofile.Keep(cfg, store, m, adm.profile, secret, expires, func(c *keychain.Credential) error { return recordNetwork(cfg, c) })
	if err != nil {
		return explainConflict(err, m, "store the PAT")
	}
	notifyDaemon(p.ctx, p.e, m.Profile)
	return nil
}

// runError explains a failed pat create, resume, replay, rotate or
// remove: a user sfmcp will not change, Snowflake's PAT rules, then what
// any SQL failure means.
func (p *patCmd) runError(err error, adminName string) error {
	var ue *snowflake.UserError
	if errors.As(err, &ue) {
		return withAdvice(fmt.Errorf("pat %s: %w", p.sub, err), exitcode.Usage, p.userAdvice(ue))
	}
	if adv := patAdvice(err); adv != err {
		return adv
	}
	return sqlAdvice(err, adminName)
}

// userAdvice is the next step when sfmcp refuses to change a user.
func (p *patCmd) userAdvice(ue *snowflake.UserError) string {
	const rule = "sfmcp only manages service users it created, and never takes over an existing user"
	switch {
	case ue.Missing:
		return fmt.Sprintf("it was dropped outside sfmcp: run sfmcp-token pat remove --manifest %s to clear what is left, then pat create again", p.manifest)
	case p.sub == "create":
		return rule + ": pick another --user"
	case p.sub == "remove" || p.sub == "rotate":
		return fmt.Sprintf("%s: %s names a user sfmcp did not create, so there is nothing of sfmcp's to %s; if the file came from elsewhere, delete it", rule, p.manifest, p.sub)
	case p.sub == "resume" && ue.Err != nil:
		// The rare case of a run cut off between Snowflake creating the
		// user and the manifest recording it.
		return fmt.Sprintf("%s: if %s came from elsewhere, delete it, or pick another --user with pat create. "+
			"(If this setup's own run stopped just after creating the user, DESCRIBE USER %s shows TYPE SERVICE and COMMENT '%s': drop that user, then resume.)",
			rule, p.manifest, ident.Quote(ue.User), snowflake.ServiceComment)
	}
	return fmt.Sprintf("%s: %s names a user sfmcp did not create; if it came from elsewhere, delete it, or pick another --user with pat create", rule, p.manifest)
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

func (p *patCmd) rotate() error {
	m, err := p.loadManifest()
	if err != nil {
		return err
	}
	if p.dryRun {
		fmt.Fprint(p.e.Stdout, snowflake.Script(m.RotateStatements(p.expireHours)))
		return nil
	}
	cfg, adm, store, state, err := p.prepare(m, "rotate")
	if err != nil {
		return err
	}
	// A rotation ends the old secret (at once with 0 hours) and puts the
	// new one in a profile here, so it is shown and confirmed like the
	// others; on stderr, because --print-token owns stdout.
	writePlan(p.e.Stderr, m, m.RotateStatements(p.expireHours), adm.name, storeChange(m, state))
	if err := p.confirm("rotate"); err != nil {
		return err
	}
	var secret string
	r := &snowflake.Runner{API: p.api(adm, m.Account.AdminRoleName()), Manifest: m, StoreSecret: func(s string, expires time.Time) error {
		secret = s
		return p.keepPAT(cfg, store, adm, m, s, expires)
	}}
	if err := r.Rotate(p.ctx, p.expireHours); err != nil {
		return p.runError(err, adm.name)
	}
	fmt.Fprintf(p.e.Stdout, "Rotated the PAT of %s; profile %s serves the new secret; the old one stays valid for %d hours.\n", m.Account.User, m.Profile, p.expireHours)
	if p.printToken {
		fmt.Fprintln(p.e.Stdout, secret)
	}
	return nil
}

func (p *patCmd) status() error {
	m, err := p.loadManifest()
	if err != nil {
		return err
	}
	_, adm, _, err := p.adminContext()
	if err != nil {
		return err
	}
	res, err := p.api(adm, m.Account.AdminRoleName()).Exec(p.ctx, m.Account.ShowPATsSQL())
	if err != nil {
		return sqlAdvice(err, adm.name)
	}
	type row struct {
		Name      string `json:"name"`
		Role      string `json:"role_restriction"`
		ExpiresAt string `json:"expires_at"`
		Status    string `json:"status"`
		DaysLeft  int    `json:"days_left"`
	}
	var rows []row
	for i := range res.Rows {
		r := row{}
		r.Name, _ = res.Column(i, "name")
		r.Role, _ = res.Column(i, "role_restriction")
		r.ExpiresAt, _ = res.Column(i, "expires_at")
		r.Status, _ = res.Column(i, "status")
		if t, err := time.Parse("2006-01-02 15:04:05.000 -0700", r.ExpiresAt); err == nil {
			r.DaysLeft = int(time.Until(t).Hours() / 24)
		}
		rows = append(rows, r)
	}
	if p.asJSON {
		return writeJSON(p.e, rows)
	}
	tw := tabwriter.NewWriter(p.e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tEXPIRES\tSTATUS\tDAYS LEFT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", r.Name, r.Role, r.ExpiresAt, r.Status, r.DaysLeft)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Status == "ACTIVE" && r.DaysLeft < 7 {
			fmt.Fprintf(p.e.Stdout, "%s expires in %d days: run sfmcp-token pat rotate --manifest %s\n", r.Name, r.DaysLeft, p.manifest)
		}
	}
	return nil
}

// verify proves the PAT authenticates: SELECT CURRENT_USER() through the
// SQL API with the PAT (served by the daemon), and tools/list on a server.
func (p *patCmd) verify() error {
	m, err := p.loadManifest()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(p.e)
	if err != nil {
		return err
	}
	prof, err := cfg.Profile(m.Profile)
	if err != nil {
		return err
	}
	ep, err := prof.Endpoint()
	if err != nil {
		return usagef("", "profile %s: %v", prof.Name, err)
	}
	api := p.api(admin{name: prof.Name, ep: ep, creds: daemonCreds{e: p.e, profile: prof.Name, server: ep.URL()}}, "")
	res, err := api.Exec(p.ctx, "SELECT CURRENT_USER()")
	if err != nil {
		return sqlAdvice(patAdvice(err), prof.Name)
	}
	got, _ := res.Column(0, "CURRENT_USER()")
	want := m.Account.UserName()
	if got != want {
		return fmt.Errorf("the PAT authenticated as %q, not %q", got, want)
	}
	fmt.Fprintf(p.e.Stdout, "✓ the PAT of profile %s authenticates as %s\n", prof.Name, got)
	if p.server != "" {
		_, url, err := profileAndServer(p.e, prof.Name, p.server)
		if err != nil {
			return err
		}
		n, err := listTools(p.ctx, p.e, prof.Name, url)
		if err != nil {
			return withAdvice(fmt.Errorf("MCP tools/list with the PAT: %w", err), exitcode.Error, "grant the PAT's role USAGE on the MCP server")
		}
		fmt.Fprintf(p.e.Stdout, "✓ MCP server %s lists %d tools with the PAT\n", p.server, n)
	}
	return nil
}
