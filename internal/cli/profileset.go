package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/signin"
)

// profileSettingFlags declares the flags of a profile's settings, which
// profile add and profile set share, writing into p.
func profileSettingFlags(c *cobra.Command, p *config.Profile) {
	f := c.Flags()
	f.StringVar(&p.Account, "account", "", "Snowflake account: orgname-accountname, a legacy locator, or a URL")
	f.StringVar(&p.Host, "host", "", "host[:port] override (https; http only for loopback)")
	f.StringVar(&p.ClientID, "client-id", "", "OAuth client id of a custom integration (default: SNOWFLAKE$LOCAL_APPLICATION)")
	f.StringVar(&p.ClientType, "client-type", "", "public or confidential (custom integrations; default confidential)")
	f.StringVar(&p.RedirectURI, "redirect-uri", "", "the integration's loopback OAUTH_REDIRECT_URI, e.g. http://127.0.0.1:3000/oauth/callback")
	f.StringVar(&p.Role, "role", "", "role for the session (scope session:role:ROLE)")
	f.StringVar(&p.User, "user", "", "the Snowflake user who must sign in; a sign-in as anyone else is refused")
	stringsFlag(f, &p.Scopes, "scope", "extra scope (repeatable)")
	f.StringVar(&p.Issuer, "issuer", "", "the identity provider (OpenID/OAuth issuer URL) to sign in at, when the account takes its MCP tokens through External OAuth")
	f.StringVar(&p.IdP, "idp", "", "the identity provider's kind: okta, entra, ping or custom (default: from the issuer's host)")
	f.StringVar(&p.Audience, "audience", "", "the token audience the account accepts (EXTERNAL_OAUTH_AUDIENCE_LIST); for Entra ID the Application ID URI, api://…")
	_ = c.RegisterFlagCompletionFunc("client-type", cobra.FixedCompletions([]cobra.Completion{config.ClientPublic, config.ClientConfidential}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("idp", cobra.FixedCompletions(idp.Kinds, cobra.ShellCompDirectiveNoFileComp))
}

// settingFlag is the flag of a setting's config key: client_id is
// --client-id, scopes --scope.
func settingFlag(key string) string {
	if key == "scopes" {
		return "scope"
	}
	return strings.ReplaceAll(key, "_", "-")
}

// settingKey is the config key a name on the command line means: the
// flag's name (client-id, scope) or the key itself (client_id, scopes).
func settingKey(name string) (string, bool) {
	for _, key := range config.SettingKeys {
		if name == key || name == settingFlag(key) {
			return key, true
		}
	}
	return "", false
}

func newProfileSetCommand(e *Env) *cobra.Command {
	var p config.Profile
	c := &cobra.Command{
		Use:   "set NAME --SETTING VALUE...",
		Short: "Change settings of a profile",
		Long: `Change the settings of an existing profile whose flags are given; the
others stay. A new account without a new host drops the old host
override. The result is checked as profile add checks a new profile
before it is saved, and a running daemon is told. A new issuer, host or
client id leaves the stored client secret behind: it was for the old
one, so store the new one with profile set-secret.`,
		Example: `  sfmcp-token profile set prod --role ANALYST
  sfmcp-token profile set corp --client-id 0oa456 --redirect-uri http://127.0.0.1:8000/callback`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Name = args[0]
			given := func(key string) bool { return cmd.Flags().Changed(settingFlag(key)) }
			if !slices.ContainsFunc(config.SettingKeys, given) {
				return usagef("e.g. sfmcp-token profile set "+p.Name+" --role ANALYST", "profile set: name a setting to change")
			}
			return runProfileChange(cmd.Context(), e, p, given)
		},
	}
	profileSettingFlags(c, &p)
	return c
}

func newProfileUnsetCommand(e *Env) *cobra.Command {
	names := make([]string, len(config.SettingKeys))
	for i, key := range config.SettingKeys {
		names[i] = settingFlag(key)
	}
	return &cobra.Command{
		Use:   "unset NAME SETTING...",
		Short: "Clear settings of a profile",
		Long: `Clear settings of an existing profile, so that their defaults apply; the
others stay. A setting is named as its profile add flag without the
dashes (` + strings.Join(names, ", ") + `) or by its key in the config file.
The result is checked and saved as with profile set.`,
		Example: "  sfmcp-token profile unset prod role\n  sfmcp-token profile unset corp redirect-uri user",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("", "profile unset: give the profile and the settings to clear")
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return completeProfiles(e)(nil, nil, "")
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			unset := map[string]bool{}
			for _, name := range args[1:] {
				key, ok := settingKey(name)
				if !ok {
					return usagef("settings: "+strings.Join(names, ", "), "profile unset: no setting %q", name)
				}
				unset[key] = true
			}
			return runProfileChange(cmd.Context(), e, config.Profile{Name: args[0]}, func(key string) bool { return unset[key] })
		},
	}
}

// runProfileChange lays the settings given names from p over the existing
// profile p.Name, checks and saves the result, and tells the daemon.
func runProfileChange(ctx context.Context, e *Env, p config.Profile, given func(string) bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	old, ok := cfg.Profiles[p.Name]
	if !ok {
		return usagef("to add it: sfmcp-token profile add "+p.Name+" --account ORGNAME-ACCOUNTNAME", "%v: %q", config.ErrNoProfile, p.Name)
	}
	p, _, err = cfg.Add(config.Change{Profile: p, Given: given, Replace: true, Getenv: e.Getenv})
	if err != nil {
		hint, _ := issuerRefusal(err)
		return usagef(hint, "%v", err)
	}
	if _, err := signin.Scopes(p); err != nil {
		return usagef("e.g. --idp okta", "%v", err)
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	notifyDaemon(ctx, e, p.Name)
	ep, _ := p.Endpoint()
	at := ""
	if p.IsIdP() {
		at = ", signs in at " + p.Issuer
	}
	fmt.Fprintf(e.Stdout, "Profile %s updated (%s, client %s%s). Next: sfmcp-token login --profile %s\n", p.Name, ep.Host, p.ClientLabel(), at, p.Name)
	if config.SecretRebound(old, p) && hasClientSecret(e, cfg, p.Name) {
		fmt.Fprintf(e.Stderr, "The stored client secret was for %s; store the new one: sfmcp-token profile set-secret %s --client-secret-stdin\n", old.SecretBinding(), p.Name)
	}
	return nil
}

// hasClientSecret reports whether the store holds a client secret for the
// profile; a store that cannot be read says no.
func hasClientSecret(e *Env, cfg *config.File, profile string) bool {
	store, err := openStore(e, cfg)
	if err != nil {
		return false
	}
	secret, err := store.ClientSecret(profile)
	return err == nil && secret != ""
}
