package onboard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/keychain"
)

const bin = "/opt/sfmcp/sfmcp-token"

// setting is one user's machine: a config, a HOME with Claude Code's
// file, and what they gave setup.
type setting struct {
	profiles []config.Profile // in the config already
	claude   string           // ~/.claude.json, "" for none
	system   string           // the system file, "" for none
	req      Request
	ask      Ask
}

// run plans s in a fresh HOME and returns the plan, the questions asked
// (in order) and the error.
func (s setting) run(t *testing.T) (*Plan, []string, error) {
	t.Helper()
	home := t.TempDir()
	system := ""
	if s.system != "" {
		system = filepath.Join(home, "system.toml")
		if err := os.WriteFile(system, []byte(s.system), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.LoadLayered(system, filepath.Join(home, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.profiles {
		if err := cfg.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	if s.claude != "" {
		if err := os.WriteFile(filepath.Join(home, ".claude.json"), []byte(s.claude), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := s.req
	r.EntryName, r.Scope, r.Project, r.Bin = "snowflake", mcpclients.User, home, bin
	r.ClientEnv = mcpclients.Env{Home: home, GOOS: "linux"}
	var asked []string
	ask := s.ask
	record := func(name string, f func(context.Context) (string, error)) func(context.Context) (string, error) {
		if f == nil {
			return nil
		}
		return func(ctx context.Context) (string, error) { asked = append(asked, name); return f(ctx) }
	}
	ask.Account, ask.MCPServer = record("account", ask.Account), record("server", ask.MCPServer)
	if trust := ask.TrustHost; trust != nil {
		ask.TrustHost = func(ctx context.Context, host string) (bool, error) {
			asked = append(asked, "trust "+host)
			return trust(ctx, host)
		}
	}
	if trust := ask.TrustIssuer; trust != nil {
		ask.TrustIssuer = func(ctx context.Context, issuer string) (bool, error) {
			asked = append(asked, "trust "+issuer)
			return trust(ctx, issuer)
		}
	}
	if id := ask.ClientID; id != nil {
		ask.ClientID = func(ctx context.Context, issuer string) (string, error) {
			asked = append(asked, "client id")
			return id(ctx, issuer)
		}
	}
	plan, err := New(context.Background(), cfg, r, ask)
	return plan, asked, err
}

func says(answer string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return answer, nil }
}

func trusts(yes bool) func(context.Context, string) (bool, error) {
	return func(context.Context, string) (bool, error) { return yes, nil }
}

var team = config.Profile{Name: "team", Account: "myorg-acct", Role: "MCP_USERS"}

// sfmcpEntry is Claude Code's file with sfmcp's entry for server, running command.
func sfmcpEntry(command, profile, server string) string {
	return `{"mcpServers":{"snowflake":{"type":"stdio","command":"` + command + `","args":["mcp-proxy","--profile","` + profile + `","--server","` + server + `"]}}}`
}

// What the inputs become: the file under what was given, defaults, and
// answers asked for only when missing.
func TestNewPlansTheInputs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       setting
		profile string // the planned profile
		isNew   bool
		server  string
		asked   []string
	}{
		{"the file", setting{req: Request{File: config.Onboarding{Profile: "team", Account: "myorg-acct", MCPServer: "DB.S.M"}}},
			"team", true, "DB.S.M", nil},
		{"given wins over the file", setting{req: Request{File: config.Onboarding{Profile: "team", Account: "myorg-acct", MCPServer: "DB.S.M"},
			Given: config.Onboarding{Profile: "mine", MCPServer: "DB.S.OTHER"}}}, "mine", true, "DB.S.OTHER", nil},
		{"nothing given: the default profile", setting{profiles: []config.Profile{team}},
			"team", false, "", nil},
		{"an account given: a profile named snowflake", setting{profiles: []config.Profile{team}, req: Request{Given: config.Onboarding{Account: "myorg-acct"}}},
			"snowflake", true, "", nil},
		{"the profile's own MCP server", setting{profiles: []config.Profile{{Name: "team", Account: "myorg-acct", MCPServers: []string{"DB.S.ORG"}}},
			ask: Ask{MCPServer: says("DB.S.ASKED")}}, "team", false, "DB.S.ORG", nil},
		{"missing: asked", setting{req: Request{Given: config.Onboarding{Profile: "fresh"}}, ask: Ask{Account: says("myorg-acct"), MCPServer: says("DB.S.M")}},
			"fresh", true, "DB.S.M", []string{"account", "server"}},
		{"a host is an account", setting{req: Request{Given: config.Onboarding{Profile: "fresh", Host: "127.0.0.1:8443"}}, ask: Ask{Account: says("x-y"), MCPServer: says("")}},
			"fresh", true, "", []string{"server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, asked, err := tc.s.run(t)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Profile.Name != tc.profile || plan.NewProfile != tc.isNew || plan.Server != tc.server || !slices.Equal(asked, tc.asked) {
				t.Errorf("profile %s (new %v), server %q, asked %v; want %s (%v), %q, %v", plan.Profile.Name, plan.NewProfile, plan.Server, asked,
					tc.profile, tc.isNew, tc.server, tc.asked)
			}
			if tc.server != "" && (plan.Bin != bin || strings.Join(plan.Args, " ") != "mcp-proxy --profile "+tc.profile+" --server "+tc.server) {
				t.Errorf("entry runs %s %v", plan.Bin, plan.Args)
			}
		})
	}
}

// An administrator's file for an identity provider plans a profile that
// signs in there, once the user trusts the issuer; a profile of that name
// that signs in at Snowflake is another profile, refused.
func TestNewPlansAnIdPProfileFromTheFile(t *testing.T) {
	file := config.Onboarding{Profile: "corp", Account: "myorg-acct", ClientID: "0oa123", ClientType: config.ClientPublic,
		RedirectURI: config.DefaultIdPRedirect, Role: "MCP_USERS", MCPServer: "DB.PUBLIC.GONG_MCP",
		Issuer: "https://example.okta.com/oauth2/aus123", IdP: "okta", Audience: "https://myorg-acct.snowflakecomputing.com"}
	plan, _, err := setting{req: Request{File: file}, ask: Ask{TrustIssuer: func(context.Context, string) (bool, error) { return true, nil }}}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if p := plan.Profile; !plan.NewProfile || !p.IsIdP() || p.Issuer != file.Issuer || p.IdP != "okta" || p.Audience != file.Audience ||
		p.ClientID != "0oa123" || p.Role != "MCP_USERS" || plan.Server != "DB.PUBLIC.GONG_MCP" {
		t.Fatalf("plan: %+v", plan)
	}
	// The issuer is where users type their password: a file from anywhere
	// may name any, so a new profile's needs the user's yes.
	asked := []string{}
	plan, _, err = setting{req: Request{File: file, TrustHost: true}, ask: Ask{TrustIssuer: func(_ context.Context, issuer string) (bool, error) {
		asked = append(asked, issuer)
		return false, nil
	}}}.run(t)
	var u *UntrustedIssuerError
	if !errors.As(err, &u) || u.Issuer != file.Issuer || !slices.Equal(asked, []string{file.Issuer}) {
		t.Fatalf("issuer refused: %v %v asked %v", plan, err, asked)
	}
	sf := config.Profile{Name: "corp", Account: "myorg-acct", Role: "MCP_USERS"}
	_, _, err = setting{profiles: []config.Profile{sf}, req: Request{File: file, Issuer: file.Issuer}}.run(t)
	var c *ProfileConflictError
	if !errors.As(err, &c) || !slices.ContainsFunc(c.Differences, func(d string) bool { return strings.HasPrefix(d, "identity provider none") }) {
		t.Fatalf("a Snowflake OAuth profile of that name: %v", err)
	}
}

// Each client's entry: added, left as it is, or sfmcp's own rewritten.
func TestNewPlansTheEntries(t *testing.T) {
	given := Request{Given: config.Onboarding{Profile: "team", MCPServer: "DB.PUBLIC.GONG_MCP"}}
	for _, tc := range []struct {
		name   string
		claude string
		want   State
	}{
		{"no file", "", Absent},
		{"another entry", `{"mcpServers":{"github":{"command":"gh"}}}`, Absent},
		{"already there", sfmcpEntry(bin, "team", "DB.PUBLIC.GONG_MCP"), Same},
		{"the same server said differently", sfmcpEntry(bin, "team", "db.public.gong_mcp"), Earlier},
		{"another binary", sfmcpEntry("/usr/bin/sfmcp-token", "team", "DB.PUBLIC.GONG_MCP"), Earlier},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, _, err := setting{profiles: []config.Profile{team}, claude: tc.claude, req: given}.run(t)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Entries) != 1 || plan.Entries[0].State != tc.want || plan.ClaudeFile != plan.Entries[0].Config.Path {
				t.Fatalf("entries %+v, Claude Code's file %q; want one %v", plan.Entries, plan.ClaudeFile, tc.want)
			}
			if tc.want == Same {
				return
			}
			if err := plan.Write(plan.Entries[0]); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(plan.ClaudeFile)
			if !strings.Contains(string(data), bin) || !strings.Contains(string(data), `"DB.PUBLIC.GONG_MCP"`) {
				t.Errorf("written:\n%s", data)
			}
		})
	}
}

// New refuses, before anything changes, what setup must not do.
func TestNewRefuses(t *testing.T) {
	lookalike := Request{Given: config.Onboarding{Profile: "new", Account: "https://snowflake-login.example.com"}}
	withServer := Request{Given: config.Onboarding{Profile: "team", MCPServer: "DB.PUBLIC.GONG_MCP"}}
	for _, tc := range []struct {
		name string
		s    setting
		want func(error) bool
	}{
		{"invalid name", setting{req: Request{Given: config.Onboarding{Profile: "bad name", Account: "myorg-acct"}}}, isField("profile")},
		{"no account", setting{req: Request{Given: config.Onboarding{Profile: "fresh"}}, ask: Ask{Account: says("")}}, isField("account")},
		{"nobody to ask for an account", setting{req: Request{Given: config.Onboarding{Profile: "fresh"}}}, isField("account")},
		{"profile with other settings", setting{profiles: []config.Profile{team}, req: Request{Given: config.Onboarding{Profile: "team", Role: "ANALYST"}}},
			func(err error) bool {
				var c *ProfileConflictError
				return errors.As(err, &c) && c.Profile == "team" && slices.Equal(c.Differences, []string{`role "MCP_USERS", not "ANALYST"`})
			}},
		{"invalid new profile", setting{req: Request{Given: config.Onboarding{Profile: "corp", Account: "myorg-acct", ClientID: "CID"}}},
			func(err error) bool {
				var i *InvalidProfileError
				return errors.As(err, &i) && i.Profile == "corp" && strings.Contains(err.Error(), "redirect-uri")
			}},
		{"an unknown identity provider in the file", setting{req: Request{File: config.Onboarding{Profile: "corp", Account: "myorg-acct", ClientID: "CID",
			Issuer: "https://idp.example/o", IdP: "auth0"}, Issuer: "https://idp.example/o"}},
			func(err error) bool {
				var i *InvalidProfileError
				return errors.As(err, &i) && strings.Contains(err.Error(), `identity provider "auth0"`)
			}},
		{"Entra ID without its Application ID URI", setting{req: Request{File: config.Onboarding{Profile: "corp", Account: "myorg-acct", ClientID: "CID",
			Issuer: "https://login.microsoftonline.com/t/v2.0"}, Issuer: "https://login.microsoftonline.com/t/v2.0"}},
			func(err error) bool {
				var i *InvalidProfileError
				return errors.As(err, &i) && strings.Contains(err.Error(), "Application ID URI")
			}},
		{"look-alike host, nobody to ask", setting{req: lookalike}, isUntrusted},
		{"look-alike host, answered no", setting{req: lookalike, ask: Ask{TrustHost: trusts(false)}}, isUntrusted},
		{"invalid server", setting{req: Request{Given: config.Onboarding{Profile: "p", Account: "myorg-acct", MCPServer: "a.b.c.d"}}}, isField("mcp_server")},
		{"no client chosen", setting{profiles: []config.Profile{team}, req: withServer,
			ask: Ask{Clients: func(context.Context) ([]string, error) { return nil, nil }}}, func(err error) bool { return errors.Is(err, ErrNoClient) }},
		{"unknown client", setting{profiles: []config.Profile{team}, req: Request{Given: withServer.Given, Clients: []string{"nope"}}},
			func(err error) bool {
				var f *ClientFileError
				return errors.As(err, &f) && errors.As(err, new(*mcpclients.UnknownClientError))
			}},
		{"another program's entry", setting{profiles: []config.Profile{team}, req: withServer, claude: `{"mcpServers":{"snowflake":{"type":"http","url":"https://x.example/mcp"}}}`},
			func(err error) bool {
				var c *EntryConflictError
				return errors.As(err, &c) && c.Name == "snowflake" && errors.As(c.Err, new(*mcpclients.NotOursError))
			}},
		{"sfmcp's entry for another server", setting{profiles: []config.Profile{team}, req: withServer, claude: sfmcpEntry(bin, "team", "DB.PUBLIC.OTHER")}, isOtherEntry},
		{"sfmcp's entry for another profile", setting{profiles: []config.Profile{team}, req: withServer, claude: sfmcpEntry(bin, "prod", "DB.PUBLIC.GONG_MCP")}, isOtherEntry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, _, err := tc.s.run(t)
			if plan != nil || !tc.want(err) {
				t.Errorf("plan %+v, error %v", plan, err)
			}
		})
	}
}

func isField(name string) func(error) bool {
	return func(err error) bool {
		var f *FieldError
		return errors.As(err, &f) && f.Field == name
	}
}

func isUntrusted(err error) bool {
	var u *UntrustedHostError
	return errors.As(err, &u) && u.Host == "snowflake-login.example.com"
}

func isOtherEntry(err error) bool {
	var c *EntryConflictError
	return errors.As(err, &c) && c.Err == nil && strings.HasSuffix(err.Error(), `already has an MCP server "snowflake" for something else; nothing was changed`)
}

// A host outside Snowflake's domains is asked about only for a new
// profile, and never for this machine.
func TestNewTrustsHosts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     setting
		asked []string
	}{
		{"answered yes", setting{req: Request{Given: config.Onboarding{Profile: "new", Account: "https://snowflake-login.example.com"}}, ask: Ask{TrustHost: trusts(true)}},
			[]string{"trust snowflake-login.example.com"}},
		{"yes beforehand", setting{req: Request{Given: config.Onboarding{Profile: "new", Account: "https://snowflake-login.example.com"}, TrustHost: true}, ask: Ask{TrustHost: trusts(false)}}, nil},
		{"this machine", setting{req: Request{Given: config.Onboarding{Profile: "new", Host: "127.0.0.1:8443"}}, ask: Ask{TrustHost: trusts(false)}}, nil},
		{"a profile that exists", setting{profiles: []config.Profile{{Name: "proxied", Host: "sf.example.com"}}, req: Request{Given: config.Onboarding{Profile: "proxied"}},
			ask: Ask{TrustHost: trusts(false)}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, asked, err := tc.s.run(t)
			if err != nil || !slices.Equal(asked, tc.asked) {
				t.Errorf("error %v, asked %v; want %v", err, asked, tc.asked)
			}
		})
	}
}

// A stored sign-in counts only for the plan's host and client, and only
// until it expires.
func TestSignedIn(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	plan := &Plan{Profile: team, Endpoint: config.Endpoint{Scheme: "https", Host: "myorg-acct.snowflakecomputing.com"}}
	ok := keychain.Credential{Kind: keychain.CredentialOAuth, Host: "myorg-acct.snowflakecomputing.com", ClientID: config.LocalApplication}
	for _, tc := range []struct {
		name   string
		change func(*keychain.Credential)
		want   bool
	}{
		{"signed in", func(*keychain.Credential) {}, true},
		{"not yet expired", func(c *keychain.Credential) { c.SecretExpiresAt = now.Add(time.Minute) }, true},
		{"expired", func(c *keychain.Credential) { c.SecretExpiresAt = now.Add(-time.Minute) }, false},
		{"another host", func(c *keychain.Credential) { c.Host = "other.snowflakecomputing.com" }, false},
		{"another client", func(c *keychain.Credential) { c.ClientID = "CID" }, false},
		{"a PAT", func(c *keychain.Credential) { c.Kind = keychain.CredentialPAT }, false},
	} {
		c := ok
		tc.change(&c)
		if got := plan.SignedIn(c, now); got != tc.want {
			t.Errorf("%s: SignedIn = %v", tc.name, got)
		}
	}
}
