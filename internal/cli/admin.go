package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/shellword"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/version"
	"github.com/sfmcp/sfmcp/keychain"
)

func newAdminCommand(e *Env) *cobra.Command {
	c := group("admin COMMAND", "SQL for Snowflake administrators", newAdminSetupCommand(e))
	c.Long = "Set up what MCP users need in Snowflake: the OAuth integration, the MCP server, the role and its grants."
	return c
}

type adminSetupOptions struct {
	s                                        snowflake.Setup
	search, analyst, agent, toRoles, toUsers []string
	sqlTool, apply                           bool
	clientType, adminProfile, account        string
	profileName, onboarding, systemConfig    string
}

func newAdminSetupCommand(e *Env) *cobra.Command {
	var o adminSetupOptions
	c := &cobra.Command{
		Use:   "setup --integration N --mcp-server DB.SCHEMA.NAME --role R [tools] [--apply]",
		Short: "Print (or --apply) the SQL for the integration, MCP server and grants",
		Long: `Produce the SQL that creates an OAuth security integration for sfmcp, a
Snowflake-managed MCP server with the given tools, and a role that may use
it. Without --apply the script is printed for review; with --apply it runs
through the SQL API with the admin profile's token, and a confidential
client's secret goes into the keychain. Either way, the commands users run
to get a profile are printed (or written to --onboarding-file).`,
		Example: `  sfmcp-token admin setup --integration SFMCP --mcp-server DB.PUBLIC.GONG_MCP \
      --role MCP_USERS --search-service DB.PUBLIC.GONG_SEARCH --grant-to-role ANALYST
  sfmcp-token admin setup ... --apply --admin-profile admin`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAdminSetup(cmd.Context(), e, o) },
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
	f.StringVar(&s.RedirectURI, "redirect-uri", snowflake.DefaultRedirectURI, "the loopback redirect URI to register")
	f.IntVar(&s.RefreshDays, "refresh-days", 90, "refresh token validity in days (1-90)")
	stringsFlag(f, &o.toRoles, "grant-to-role", "grant the MCP role to this role (repeatable)")
	stringsFlag(f, &o.toUsers, "grant-to-user", "grant the MCP role to this user (repeatable)")
	f.BoolVar(&o.apply, "apply", false, "run the SQL through the SQL API instead of printing it")
	f.StringVar(&o.adminProfile, "admin-profile", "", "profile whose token runs the SQL (default: the default profile)")
	f.StringVar(&o.account, "account", "", "account users put in their profile (default: the admin profile's)")
	f.StringVar(&o.profileName, "profile-name", "", "profile name users get (default: the integration name in lower case)")
	f.StringVar(&o.onboarding, "onboarding-file", "", "also write the users' onboarding file (for sfmcp-token setup --from FILE)")
	f.StringVar(&o.systemConfig, "system-config", "", "also write a system configuration for the whole organisation (ship it as /etc/sfmcp/config.toml)")
	for _, name := range []string{"integration", "mcp-server", "role"} {
		_ = c.MarkFlagRequired(name)
	}
	_ = c.RegisterFlagCompletionFunc("admin-profile", completeProfiles(e))
	_ = c.RegisterFlagCompletionFunc("client-type", cobra.FixedCompletions([]cobra.Completion{config.ClientPublic, config.ClientConfidential}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runAdminSetup(ctx context.Context, e *Env, o adminSetupOptions) error {
	s := o.s
	search, analyst, agent, toRoles, toUsers := o.search, o.analyst, o.agent, o.toRoles, o.toUsers
	sqlTool, clientType, apply, adminProfile, account, profileName, onboarding := &o.sqlTool, &o.clientType, &o.apply, &o.adminProfile, &o.account, &o.profileName, &o.onboarding
	if s.Integration == "" || s.MCPServer == "" || s.Role == "" {
		return usagef("e.g. sfmcp-token admin setup --integration SFMCP --mcp-server DB.PUBLIC.GONG_MCP --role MCP_USERS --search-service DB.PUBLIC.GONG_SEARCH", "admin setup: --integration, --mcp-server and --role are required")
	}
	switch *clientType {
	case config.ClientPublic:
	case config.ClientConfidential:
		s.Confidential = true
	default:
		return usagef("", "--client-type %q: use public or confidential", *clientType)
	}
	for _, o := range search {
		s.Tools = append(s.Tools, snowflake.Tool{Type: snowflake.ToolSearch, Object: o})
	}
	for _, o := range analyst {
		s.Tools = append(s.Tools, snowflake.Tool{Type: snowflake.ToolAnalyst, Object: o})
	}
	for _, o := range agent {
		s.Tools = append(s.Tools, snowflake.Tool{Type: snowflake.ToolAgent, Object: o})
	}
	if *sqlTool {
		s.Tools = append(s.Tools, snowflake.Tool{Type: snowflake.ToolSQL})
	}
	s.GrantToRoles, s.GrantToUsers = toRoles, toUsers
	stmts, err := s.Statements()
	if err != nil {
		var fe *snowflake.FieldError
		if errors.As(err, &fe) {
			flag := map[string]string{"integration": "--integration", "mcp_server": "--mcp-server", "role": "--role", "redirect_uri": "--redirect-uri",
				"refresh_days": "--refresh-days", "grant_to_roles": "--grant-to-role", "grant_to_users": "--grant-to-user", "sql_warehouse": "--sql-warehouse"}[fe.Field]
			return usagef("", "admin setup: %s: %v", flag, fe.Err)
		}
		return usagef("", "admin setup: %v", err)
	}
	if *profileName == "" {
		*profileName = strings.ToLower(storedName(s.Integration))
	}
	if !config.ValidProfileName(*profileName) {
		return usagef("pass --profile-name", "admin setup: %q is not a valid profile name", *profileName)
	}
	if *account != "" {
		// It is printed into the script (as a comment) and the onboarding file.
		if _, err := config.NormalizeAccount(*account); err != nil {
			return usagef("e.g. --account ORGNAME-ACCOUNTNAME", "admin setup: --account: %v", err)
		}
	}

	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	clientID := "<OAUTH_CLIENT_ID>"
	if *apply {
		if clientID, err = applySetup(ctx, e, cfg, *adminProfile, s, stmts, *profileName); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.Stdout, snowflake.Script(stmts))
		fmt.Fprint(e.Stdout, snowflake.Script([]snowflake.Statement{{What: "the client id for users' profiles", SQL: s.ShowSecretsSQL()}}))
	}
	acct := *account
	if acct == "" {
		if p, err := cfg.Profile(*adminProfile); err == nil {
			acct = p.Account
		} else {
			acct = "ORGNAME-ACCOUNTNAME"
		}
	}
	handout := onboardingFor(*profileName, acct, clientID, s)
	comment := "-- "
	if *apply {
		comment = ""
	}
	fmt.Fprintf(e.Stdout, "%sEach user then runs (it adds the profile, signs in, adds the MCP server to Claude Code and checks everything):\n", comment)
	if *onboarding != "" {
		data, err := handout.Encode()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*onboarding, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *onboarding, err)
		}
		fmt.Fprintf(e.Stdout, "%s  sfmcp-token setup --from %s\n", comment, shellword.Quote(filepath.Base(*onboarding)))
		fmt.Fprintf(e.Stderr, "sfmcp: wrote the onboarding file to %s (hand it out; it holds no secret)\n", *onboarding)
	} else {
		fmt.Fprintf(e.Stdout, "%s  %s\n", comment, setupCommand(handout))
	}
	if s.Confidential {
		fmt.Fprintf(e.Stdout, "%s(setup asks each user for the client secret, which you hand out separately; SFMCP_CLIENT_SECRET also works)\n", comment)
	}
	if o.systemConfig != "" {
		data, err := config.SystemFileFor(handout)
		if err != nil {
			return usagef("pass --account ORGNAME-ACCOUNTNAME", "admin setup: --system-config: %v", err)
		}
		if err := os.WriteFile(o.systemConfig, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.systemConfig, err)
		}
		fmt.Fprintf(e.Stderr, "sfmcp: wrote the system configuration to %s (ship it as %s; users then run sfmcp-token setup with no flags)\n", o.systemConfig, config.SystemPathFor("linux"))
	}
	return nil
}

// onboardingFor is what users get: their profile and the MCP server.
func onboardingFor(profile, account, clientID string, s snowflake.Setup) config.Onboarding {
	redirect := s.RedirectURI
	if redirect == "" {
		redirect = snowflake.DefaultRedirectURI
	}
	clientType := config.ClientPublic
	if s.Confidential {
		clientType = config.ClientConfidential
	}
	return config.Onboarding{Profile: profile, Account: account, ClientID: clientID, ClientType: clientType,
		RedirectURI: redirect, Role: storedName(s.Role), MCPServer: s.MCPServer}
}

// setupCommand is the one command a user runs for o.
func setupCommand(o config.Onboarding) string {
	return fmt.Sprintf("sfmcp-token setup --profile %s --account %s --client-id %s --client-type %s --redirect-uri %s --role %s --server %s",
		o.Profile, shellword.Quote(o.Account), shellword.Quote(o.ClientID), o.ClientType, shellword.Quote(o.RedirectURI),
		shellword.Quote(o.Role), shellword.Quote(o.MCPServer))
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

// applySetup runs the statements with the admin profile's token, reads the
// integration's client id (and, for a confidential client, stores its
// secret in the keychain without printing it).
func applySetup(ctx context.Context, e *Env, cfg *config.File, adminProfile string, s snowflake.Setup, stmts []snowflake.Statement, profileName string) (string, error) {
	admin, err := selectProfile(e, cfg, adminProfile)
	if err != nil {
		return "", err
	}
	ep, err := admin.Endpoint()
	if err != nil {
		return "", usagef("", "profile %s: %v", admin.Name, err)
	}
	api := &snowflake.Client{BaseURL: ep.URL(), HTTPClient: e.snowflakeHTTP(), Creds: daemonCreds{e: e, profile: admin.Name, server: ep.URL()}, UserAgent: "sfmcp/" + version.String()}
	name := storedName(s.Integration)
	client, err := s.Apply(ctx, api, stmts, func(st snowflake.Statement) { fmt.Fprintf(e.Stdout, "✓ %s\n", st.What) })
	if err != nil {
		return "", sqlAdvice(err, admin.Name)
	}
	if s.Confidential {
		store, err := openStore(e, cfg)
		if err != nil {
			return "", err
		}
		if err := store.SaveClientSecret(profileName, client.Secret); err != nil {
			return "", fmt.Errorf("store the client secret: %w", err)
		}
		fmt.Fprintf(e.Stdout, "✓ client secret stored in %s for profile %s (not shown; hand it to users through your secret manager)\n", store.Where(), profileName)
		notifyDaemon(ctx, e, profileName) // a running daemon picks up the new secret
	}
	fmt.Fprintf(e.Stdout, "Integration %s is ready; client id %s.\n", name, client.ID)
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
