package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/adminsetup"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/shellword"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/version"
	"github.com/sfmcp/sfmcp/keychain"
)

func newAdminCommand(e *Env) *cobra.Command {
	c := group("admin COMMAND", "SQL for Snowflake administrators", newAdminSetupCommand(e, nil))
	c.Long = "Set up what MCP users need in Snowflake: the OAuth integration, the MCP server, the role and its grants."
	return c
}

type adminSetupOptions struct {
	e                                        *Env
	s                                        snowflake.Setup
	search, analyst, agent, toRoles, toUsers []string
	sqlTool, apply                           bool
	clientType, adminProfile, account        string
	profileName, onboarding, systemConfig    string
	idp                                      adminsetup.IdP // --idp, --issuer and the flags that go with them
	// changed reports whether a flag was given (nil: none was).
	changed func(flag string) bool
}

// adminIdPFlags are the flags of an identity provider's integration: they
// need --idp or --issuer.
var adminIdPFlags = []string{"audience", "jwks-url", "user-claim", "user-attribute", "bind", "any-role", "client-id"}

func newAdminSetupCommand(e *Env, runF func(*adminSetupOptions) error) *cobra.Command {
	o := &adminSetupOptions{e: e}
	run := runOrTest(o, runF, runAdminSetup)
	c := &cobra.Command{
		Use:   "setup --integration N --mcp-server DB.SCHEMA.NAME --role R [tools] [--apply]",
		Short: "Print (or --apply) the SQL for the integration, MCP server and grants",
		Long: `Produce the SQL that creates an OAuth security integration for sfmcp, a
Snowflake-managed MCP server with the given tools, and a role that may use
it. Without --apply the script is printed for review; with --apply it runs
through the SQL API with the admin profile's token, and a confidential
client's secret goes into the keychain. Either way, the commands users run
to get a profile are printed (or written to --onboarding-file).

With --idp (or --issuer), users sign in at the organisation's identity
provider instead: the integration is an External OAuth one that trusts the
issuer's tokens, and the MCP server's schema (--bind: or its database, or
the account) is bound to it with OAUTH_AUTHORIZATION_SERVER, so that it
takes no other OAuth tokens. Okta and Entra ID get Snowflake's defaults for
the keys URL and the user mapping; ping and custom need them given. The
identity provider's administrator registers sfmcp's client as the script
says (docs/idp-okta.md, docs/idp-entra.md, docs/idp-custom.md).`,
		Example: `  sfmcp-token admin setup --integration SFMCP --mcp-server DB.PUBLIC.GONG_MCP \
      --role MCP_USERS --search-service DB.PUBLIC.GONG_SEARCH --grant-to-role ANALYST
  sfmcp-token admin setup ... --apply --admin-profile admin
  # users sign in at Okta; the MCP server takes Okta's tokens only
  sfmcp-token admin setup --integration OKTA_MCP --mcp-server DB.PUBLIC.GONG_MCP \
      --role MCP_USERS --sql --idp okta --issuer https://example.okta.com/oauth2/aus123 \
      --audience https://myorg-myaccount.snowflakecomputing.com --client-id 0oa123`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.changed = cmd.Flags().Changed
			return run(cmd.Context())
		},
	}
	f := c.Flags()
	s := &o.s
	f.StringVar(&s.Integration, "integration", "", "name of the OAuth security integration to create (required)")
	f.StringVar(&s.MCPServer, "mcp-server", "", "the MCP server to create: DATABASE.SCHEMA.NAME (required)")
	f.StringVar(&s.Role, "role", "", "the role MCP users get, created if missing (required)")
	stringsFlag(f, &o.search, "search-service", "a Cortex Search service tool: DB.SCHEMA.SERVICE (repeatable)")
	stringsFlag(f, &o.analyst, "analyst", "a Cortex Analyst tool over a semantic view: DB.SCHEMA.VIEW (repeatable)")
	stringsFlag(f, &o.agent, "agent", "a Cortex Agent tool: DB.SCHEMA.AGENT (repeatable)")
	f.BoolVar(&o.sqlTool, "sql", false, "add a read-only SQL execution tool")
	f.StringVar(&s.SQLWarehouse, "sql-warehouse", "", "warehouse for the SQL tool")
	f.StringVar(&o.clientType, "client-type", config.ClientPublic, "public (PKCE, no secret) or confidential")
	f.StringVar(&s.RedirectURI, "redirect-uri", snowflake.DefaultRedirectURI, "the loopback redirect URI to register (with --idp, default "+config.DefaultIdPRedirect+")")
	f.IntVar(&s.RefreshDays, "refresh-days", 90, "refresh token validity in days (1-90; with --idp, the identity provider decides)")
	stringsFlag(f, &o.toRoles, "grant-to-role", "grant the MCP role to this role (repeatable)")
	stringsFlag(f, &o.toUsers, "grant-to-user", "grant the MCP role to this user (repeatable)")
	f.BoolVar(&o.apply, "apply", false, "run the SQL through the SQL API instead of printing it")
	f.StringVar(&o.adminProfile, "admin-profile", "", "profile whose token runs the SQL (default: the default profile)")
	f.StringVar(&o.account, "account", "", "account users put in their profile (default: the admin profile's)")
	f.StringVar(&o.profileName, "profile-name", "", "profile name users get (default: the integration name in lower case)")
	f.StringVar(&o.onboarding, "onboarding-file", "", "also write the users' onboarding file (for sfmcp-token setup --from FILE)")
	f.StringVar(&o.systemConfig, "system-config", "", "also write a system configuration for the whole organisation (ship it as /etc/sfmcp/config.toml)")
	addAdminIdPFlags(c, &o.idp)
	for _, name := range []string{"integration", "mcp-server", "role"} {
		_ = c.MarkFlagRequired(name)
	}
	_ = c.RegisterFlagCompletionFunc("admin-profile", completeProfiles(e))
	_ = c.RegisterFlagCompletionFunc("client-type", cobra.FixedCompletions([]cobra.Completion{config.ClientPublic, config.ClientConfidential}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// addAdminIdPFlags adds the flags of an identity provider's integration.
func addAdminIdPFlags(c *cobra.Command, d *adminsetup.IdP) {
	f := c.Flags()
	f.StringVar(&d.Kind, "idp", "", "users sign in at this identity provider: okta, entra, ping or custom (an External OAuth integration; default with --issuer: from its host)")
	f.StringVar(&d.Issuer, "issuer", "", "the identity provider's issuer, exactly as its tokens' iss (Okta: https://<org>.okta.com/oauth2/<id>; Entra ID: https://login.microsoftonline.com/<tenant>/v2.0)")
	stringsFlag(f, &d.Audiences, "audience", "a token audience to accept (Okta: the account's URL; Entra ID: the Application ID URI, api://…); the first goes into users' profiles (repeatable)")
	f.StringVar(&d.JWKSURL, "jwks-url", "", "the identity provider's signing keys (default for okta and entra; required for ping and custom)")
	f.StringVar(&d.UserClaim, "user-claim", "", "the token claim that names the user: sub, upn, email, … (default: sub for okta, upn for entra)")
	f.StringVar(&d.UserAttribute, "user-attribute", "", "the user attribute that claim matches: LOGIN_NAME or EMAIL_ADDRESS (default LOGIN_NAME for okta and entra)")
	f.StringVar(&d.Bind, "bind", snowflake.BindSchema, "where the MCP server is bound to the identity provider: account, database or schema (its own)")
	f.BoolVar(&d.AnyRole, "any-role", false, "tokens ask for no role (session:role-any) and work as the user's default role")
	f.StringVar(&d.ClientID, "client-id", "", "the client id the identity provider registered for sfmcp, for users' profiles")
	_ = c.RegisterFlagCompletionFunc("idp", cobra.FixedCompletions(idp.Kinds, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("bind", cobra.FixedCompletions([]cobra.Completion{snowflake.BindAccount, snowflake.BindDatabase, snowflake.BindSchema}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("user-attribute", cobra.FixedCompletions([]cobra.Completion{snowflake.AttributeLoginName, snowflake.AttributeEmail}, cobra.ShellCompDirectiveNoFileComp))
}

// runAdminSetup checks the flags, plans the setup they ask for, prints or
// applies it, then tells the administrator what users run and writes the
// handouts.
func runAdminSetup(ctx context.Context, o *adminSetupOptions) error {
	req, err := o.request()
	if err != nil {
		return err
	}
	plan, err := adminsetup.New(req)
	if err != nil {
		return adminSetupError(err)
	}
	cfg, err := loadConfig(o.e)
	if err != nil {
		return err
	}
	clientID := plan.ClientID()
	if o.apply {
		id, err := applySetup(ctx, o.e, cfg, o.adminProfile, plan)
		if err != nil {
			return err
		}
		if plan.IdP == nil {
			clientID = id
		}
	} else {
		fmt.Fprint(o.e.Stdout, plan.Script())
	}
	return o.handOut(plan, plan.Handout(cfg, o.adminProfile, clientID))
}

// request is what the flags ask for; the plan validates its names.
func (o *adminSetupOptions) request() (adminsetup.Request, error) {
	s := o.s
	if s.Integration == "" || s.MCPServer == "" || s.Role == "" {
		return adminsetup.Request{}, usagef("e.g. sfmcp-token admin setup --integration SFMCP --mcp-server DB.PUBLIC.GONG_MCP --role MCP_USERS --search-service DB.PUBLIC.GONG_SEARCH", "admin setup: --integration, --mcp-server and --role are required")
	}
	switch o.clientType {
	case config.ClientPublic:
	case config.ClientConfidential:
		s.Confidential = true
	default:
		return adminsetup.Request{}, usagef("", "--client-type %q: use public or confidential", o.clientType)
	}
	for _, tools := range []struct {
		typ     string
		objects []string
	}{{snowflake.ToolSearch, o.search}, {snowflake.ToolAnalyst, o.analyst}, {snowflake.ToolAgent, o.agent}} {
		for _, obj := range tools.objects {
			s.Tools = append(s.Tools, snowflake.Tool{Type: tools.typ, Object: obj})
		}
	}
	if o.sqlTool {
		s.Tools = append(s.Tools, snowflake.Tool{Type: snowflake.ToolSQL})
	}
	s.GrantToRoles, s.GrantToUsers = o.toRoles, o.toUsers
	req := adminsetup.Request{Setup: s, Profile: o.profileName, Account: o.account}
	return req, o.idpRequest(&req)
}

// idpRequest adds the identity provider to req when --idp or --issuer is
// given: the IdP then registers the redirect URI (default
// config.DefaultIdPRedirect) and decides refresh token lifetimes.
func (o *adminSetupOptions) idpRequest(req *adminsetup.Request) error {
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	if o.idp.Kind == "" && o.idp.Issuer == "" {
		for _, f := range adminIdPFlags {
			if changed(f) {
				return usagef("e.g. --idp okta --issuer https://<org>.okta.com/oauth2/<id> --audience https://<account>.snowflakecomputing.com",
					"admin setup: --%s is for an identity provider's integration: give --idp and --issuer too", f)
			}
		}
		return nil
	}
	if !changed("redirect-uri") {
		req.Setup.RedirectURI = ""
	}
	if !changed("refresh-days") {
		req.Setup.RefreshDays = 0
	}
	d := o.idp
	req.IdP = &d
	return nil
}

// adminSetupFlags maps the fields adminsetup and snowflake.Setup name to
// the flags that set them, and the advice for a bad value.
var adminSetupFlags = map[string]struct{ flag, hint string }{
	"integration": {"--integration", ""}, "mcp_server": {"--mcp-server", ""}, "role": {"--role", ""}, "redirect_uri": {"--redirect-uri", ""},
	"refresh_days": {"--refresh-days", ""}, "grant_to_roles": {"--grant-to-role", ""}, "grant_to_users": {"--grant-to-user", ""},
	"sql_warehouse": {"--sql-warehouse", ""}, "profile": {"", "pass --profile-name"}, "account": {"--account", "e.g. --account ORGNAME-ACCOUNTNAME"},
	"system_config": {"--system-config", "pass --account ORGNAME-ACCOUNTNAME"}, "idp": {"--idp", ""}, "issuer": {"--issuer", ""},
	"audience": {"--audience", ""}, "jwks_url": {"--jwks-url", ""}, "user_claim": {"--user-claim", ""}, "user_attribute": {"--user-attribute", ""},
	"bind": {"--bind", ""}, "client_id": {"--client-id", ""}, "scopes": {"", "check --role and --audience"},
}

// adminSetupError says which flag holds an invalid value.
func adminSetupError(err error) error {
	var fe *snowflake.FieldError
	if !errors.As(err, &fe) {
		return usagef("", "admin setup: %v", err)
	}
	f := adminSetupFlags[fe.Field]
	if f.flag == "" {
		return usagef(f.hint, "admin setup: %v", fe.Err)
	}
	return usagef(f.hint, "admin setup: %s: %v", f.flag, fe.Err)
}

// handOut tells the administrator what each user runs (as SQL comments
// when the output is a script), and writes the handouts asked for.
func (o *adminSetupOptions) handOut(plan *adminsetup.Plan, h config.Onboarding) error {
	fill := fillIn(plan)(plan.ToFill(h))
	comment, stdout := "-- ", o.e.Stdout
	if o.apply {
		comment = ""
	}
	what := "it adds the profile, signs in, adds the MCP server to Claude Code and checks everything"
	if h.Issuer != "" {
		what = "a profile that signs in at " + h.Issuer + "; setup signs in, adds the MCP server to Claude Code and checks everything"
	}
	fmt.Fprintf(stdout, "%sEach user then runs (%s):\n", comment, what)
	if o.onboarding != "" {
		if err := adminsetup.WriteOnboarding(o.onboarding, h); err != nil {
			return err
		}
		from := "sfmcp-token setup --from " + shellword.Quote(filepath.Base(o.onboarding))
		if h.Issuer != "" {
			// A file from anywhere may name any issuer: the user names the
			// one you told them (or the system file's allowed_issuers does).
			from += " --issuer " + shellword.Quote(h.Issuer)
		}
		fmt.Fprintf(stdout, "%s  %s\n", comment, from)
		if fill == "" {
			fmt.Fprintf(o.e.Stderr, "sfmcp: wrote the onboarding file to %s (hand it out; it holds no secret)\n", o.onboarding)
		} else {
			fmt.Fprintf(o.e.Stderr, "sfmcp: wrote the onboarding file to %s, but do not hand it out yet: fill in %s\n", o.onboarding, fill)
		}
	} else {
		for _, c := range setupCommands(h) {
			fmt.Fprintf(stdout, "%s  %s\n", comment, c)
		}
	}
	if h.ClientType == config.ClientConfidential {
		fmt.Fprintf(stdout, "%s(setup asks each user for the client secret, which you hand out separately; SFMCP_CLIENT_SECRET also works)\n", comment)
	}
	if o.systemConfig == "" {
		return nil
	}
	var fe *snowflake.FieldError
	if err := adminsetup.WriteSystemConfig(o.systemConfig, h); errors.As(err, &fe) {
		return adminSetupError(err)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(o.e.Stderr, "sfmcp: wrote the system configuration to %s (ship it as %s; users then run sfmcp-token setup with no flags)\n", o.systemConfig, config.SystemPathFor("linux"))
	if fill != "" {
		fmt.Fprintf(o.e.Stderr, "sfmcp: before you ship %s, fill in %s\n", o.systemConfig, fill)
	}
	return nil
}

// fillIn says, in one line, what the administrator fills in before a
// handout of plan goes out ("" for nothing), and which flag would have
// filled it (Snowflake's client id comes from the integration itself).
func fillIn(plan *adminsetup.Plan) func([]adminsetup.Unfilled) string {
	flags := map[string]string{"account": "--account"}
	if plan.IdP != nil {
		flags["client_id"] = "--client-id"
	}
	return func(keys []adminsetup.Unfilled) string {
		var parts []string
		for _, k := range keys {
			part := k.Key
			if k.Where != "" {
				part += " (" + k.Where + ")"
			}
			if f := flags[k.Key]; f != "" {
				part += ", or run admin setup again with " + f
			}
			parts = append(parts, part)
		}
		return strings.Join(parts, "; and ")
	}
}

// setupCommands are the commands a user runs for o: one setup, or for an
// identity provider (which setup's flags do not name) the profile first.
func setupCommands(o config.Onboarding) []string {
	if o.Issuer == "" {
		return []string{fmt.Sprintf("sfmcp-token setup --profile %s --account %s --client-id %s --client-type %s --redirect-uri %s --role %s --server %s",
			o.Profile, shellword.Quote(o.Account), shellword.Quote(o.ClientID), o.ClientType, shellword.Quote(o.RedirectURI),
			shellword.Quote(o.Role), shellword.Quote(o.MCPServer))}
	}
	add := fmt.Sprintf("sfmcp-token profile add %s --account %s --issuer %s --idp %s --audience %s --client-id %s --client-type %s --redirect-uri %s",
		o.Profile, shellword.Quote(o.Account), shellword.Quote(o.Issuer), o.IdP, shellword.Quote(o.Audience), shellword.Quote(o.ClientID),
		o.ClientType, shellword.Quote(o.RedirectURI))
	if o.Role != "" {
		add += " --role " + shellword.Quote(o.Role)
	}
	return []string{add, fmt.Sprintf("sfmcp-token setup --profile %s --server %s", o.Profile, shellword.Quote(o.MCPServer))}
}

// daemonCreds gives the SQL API the admin profile's token from the daemon.
type daemonCreds struct {
	e       *Env
	profile string
	// server is where the token goes (the SQL API's base URL): the daemon
	// applies its host rule, since this command's config may not be the
	// daemon's.
	server string
}

func (d daemonCreds) Token(ctx context.Context, refused string) (string, string, error) {
	tok, err := daemonToken(ctx, d.e, client.Request{Profile: d.profile, ServerURL: d.server}, refused, 0)
	if err != nil {
		return "", "", daemonError(err, client.Request{Profile: d.profile})
	}
	return tok.AccessToken, tok.TokenType, nil
}

// applySetup runs the plan with the admin profile's token, reads the
// integration's client id (and, for a confidential client, stores its
// secret in the keychain without printing it).
func applySetup(ctx context.Context, e *Env, cfg *config.File, adminProfile string, plan *adminsetup.Plan) (string, error) {
	admin, err := selectProfile(e, cfg, adminProfile)
	if err != nil {
		return "", err
	}
	ep, err := admin.Endpoint()
	if err != nil {
		return "", usagef("", "profile %s: %v", admin.Name, err)
	}
	api := &snowflake.Client{BaseURL: ep.URL(), HTTPClient: e.snowflakeHTTP(), Creds: daemonCreds{e: e, profile: admin.Name, server: ep.URL()}, UserAgent: "sfmcp/" + version.String()}
	client, err := plan.Apply(ctx, api, func(st snowflake.Statement) { fmt.Fprintf(e.Stdout, "✓ %s\n", st.What) })
	if err != nil {
		return "", sqlAdvice(err, admin.Name)
	}
	if plan.IdP != nil {
		fmt.Fprintf(e.Stdout, "Integration %s is ready; the MCP server %s takes tokens from %s only.\n", storedName(plan.Setup.Integration), plan.Setup.MCPServer, plan.IdP.Issuer)
		return "", nil
	}
	if plan.Setup.Confidential {
		store, err := openStore(e, cfg)
		if err != nil {
			return "", err
		}
		if err := plan.KeepSecret(store, client, plan.Handout(cfg, admin.Name, client.ID)); err != nil {
			return "", err
		}
		fmt.Fprintf(e.Stdout, "✓ client secret stored in %s for profile %s (not shown; hand it to users through your secret manager)\n", store.Where(), plan.Profile)
		notifyDaemon(ctx, e, plan.Profile) // a running daemon picks up the new secret
	}
	fmt.Fprintf(e.Stdout, "Integration %s is ready; client id %s.\n", storedName(plan.Setup.Integration), client.ID)
	return client.ID, nil
}

// sqlAdvice names the usual causes of an admin statement failing.
func sqlAdvice(err error, profile string) error {
	var se *snowflake.Error
	switch {
	case errors.As(err, &se) && se.Unauthorized() && strings.HasPrefix(profile, "connection "):
		return withAdvice(err, exitcode.LoginRequired, "the key-pair JWT was refused: register the connection's public key on the user (ALTER USER … SET RSA_PUBLIC_KEY = '…') and check account and user")
	case errors.As(err, &se) && se.Unauthorized():
		return withAdvice(err, exitcode.LoginRequired, exitcode.LoginHint(profile))
	case snowflake.IsCode(err, "003001"):
		return withAdvice(err, exitcode.Usage, "the admin profile's role lacks a privilege (CREATE INTEGRATION needs ACCOUNTADMIN or SECURITYADMIN, which Snowflake OAuth blocks by default): use a role with the grants, or print the SQL and run it in Snowsight")
	case errors.Is(err, keychain.ErrUnavailable):
		return err
	}
	return withAdvice(err, exitcode.Error, "print the SQL (without --apply) and run it in Snowsight to see the full error")
}
