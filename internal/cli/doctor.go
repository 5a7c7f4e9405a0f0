package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/doctor"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
	"github.com/sfmcp/sfmcp/keychain"
)

// The checks and what they conclude are internal/doctor's; this file
// gives them this command's config, store, daemon and network, and prints
// what they found.

func newDoctorCommand(e *Env) *cobra.Command {
	var o doctorOptions
	c := &cobra.Command{
		Use:   "doctor [PROFILE]",
		Short: "Check everything, say what to fix",
		Long: `Check the config, the keychain, the daemon, the account host, the clock, the
sign-in and sfmcp's MCP servers in every client's files (your user
configuration and this directory's project files, as mcp list finds them),
and say what to fix for each check that fails. An entry naming a profile
that does not exist fails. A server whose URL is not on the profile's host
is skipped and sent nothing. --mcp-file checks that one file instead.`,
		Example: `  sfmcp-token doctor
  sfmcp-token doctor prod --json`,
		Args:              profileArg,
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = profileFrom(o.profile, args)
			o.everyClient = !cmd.Flags().Changed("mcp-file")
			return runDoctor(cmd.Context(), e, o)
		},
	}
	addProfileFlag(c, e, &o.profile, "profile to check (default: $SFMCP_PROFILE, then default_profile)")
	c.Flags().BoolVar(&o.asJSON, "json", false, "print JSON")
	c.Flags().StringVar(&o.mcpFile, "mcp-file", "", "one MCP configuration whose servers are checked, instead of every client's files (\"\": none)")
	return c
}

type doctorOptions struct {
	profile, mcpFile string
	// everyClient: check every client's files, as mcp list finds them;
	// else only mcpFile ("": none), as --mcp-file and setup ask.
	everyClient bool
	asJSON      bool
}

// checkJSON is one check as --json prints it.
type checkJSON struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Advice string `json:"advice,omitempty"`
}

func runDoctor(ctx context.Context, e *Env, o doctorOptions) error {
	checks := doctorChecks(ctx, e, o)
	if o.asJSON {
		out := make([]checkJSON, len(checks))
		for i, c := range checks {
			out[i] = checkJSON{Name: c.Name, OK: c.OK, Detail: c.Detail, Advice: c.Advice}
		}
		if err := writeJSON(e, out); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			printCheck(e.Stdout, c)
		}
	}
	return checksFailed(checks)
}

// doctorChecks runs every check with this command's pieces.
func doctorChecks(ctx context.Context, e *Env, o doctorOptions) []doctor.Check {
	path, _ := config.Path(e.Getenv)
	opts := doctor.Options{
		ConfigPath:       path,
		SystemConfigPath: config.SystemPath(e.Getenv),
		Network: func(cfg *config.File) (*http.Client, error) {
			if err := configureHTTP(e, cfg); err != nil {
				return nil, err
			}
			return e.snowflakeHTTP(), nil
		},
		SelectProfile: func(cfg *config.File) (config.Profile, error) { return selectProfile(e, cfg, o.profile) },
		OpenStore:     func(cfg *config.File) (*keychain.Store, error) { return openStore(e, cfg) },
		FindDaemon:    func(ctx context.Context) (*client.Client, error) { return findDaemon(ctx, e, 3*time.Second) },
		Autostart:     e.Getenv("SFMCP_NO_AUTOSTART") != "1",
		Token: func(ctx context.Context, profile string) error {
			_, err := daemonToken(ctx, e, client.Request{Profile: profile}, "", 0)
			return err
		},
		Bridge:  func(profile, serverURL string) http.RoundTripper { return bridgeTransport(e, profile, serverURL) },
		MCPFile: o.mcpFile,
		Profile: cmp.Or(o.profile, e.Getenv("SFMCP_PROFILE")),
	}
	if o.everyClient {
		env := clientEnv(e)
		opts.MCPClients, opts.Project = &env, "."
	}
	return doctor.Run(ctx, opts)
}

// bridgeTransport is the bridge's transport to the MCP server at url,
// with profile's token from the daemon, over the command's network. Its
// callers (doctor's check, pat test) advise the next step themselves, so
// a token error says only what happened, not the bridge's "Next: …".
func bridgeTransport(e *Env, profile, url string) *mcpproxy.Transport {
	base := http.DefaultTransport
	if hc := e.snowflakeHTTP(); hc != nil && hc.Transport != nil {
		base = hc.Transport
	}
	return &mcpproxy.Transport{Base: base, Tokens: daemonTokens(e, profile, url), Log: slog.New(slog.DiscardHandler), Profile: profile, Origin: mcpproxy.Origin(url),
		Advice: func(err error) string { return daemonError(err, client.Request{Profile: profile}).Error() }}
}

// listTools counts the tools the MCP server at url lists to profile.
func listTools(ctx context.Context, e *Env, profile, url string) (int, error) {
	return doctor.ListTools(ctx, url, bridgeTransport(e, profile, url))
}

func printCheck(w io.Writer, c doctor.Check) {
	mark := "✓"
	if !c.OK {
		mark = "✗"
	}
	fmt.Fprintf(w, "%s %s", mark, c.Name)
	if c.Detail != "" {
		fmt.Fprintf(w, ": %s", c.Detail)
	}
	fmt.Fprintln(w)
	if c.Advice != "" {
		fmt.Fprintf(w, "    → %s\n", c.Advice)
	}
}

// checksFailed is doctor's verdict: nil, or exit 5.
func checksFailed(checks []doctor.Check) error {
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if failed > 0 {
		return withAdvice(fmt.Errorf("%d of %d checks failed", failed, len(checks)), exitcode.ChecksFailed, "each ✗ above says what to do")
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
