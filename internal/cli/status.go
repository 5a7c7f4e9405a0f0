package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/expiry"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
)

// statusView is the --json shape of status.
type statusView struct {
	Daemon   *apitype.Status         `json:"daemon"` // null when not running
	Socket   string                  `json:"socket"`
	Profiles []apitype.ProfileStatus `json:"profiles"`
	// Moved are the profiles' MCP servers that take their tokens from
	// another authorization server now.
	Moved []movedServer `json:"moved_mcp_servers,omitempty"`
}

// movedServer is an MCP server of a profile whose metadata names another
// authorization server than the profile signs in at.
type movedServer struct {
	Profile             string `json:"profile"`
	Server              string `json:"server"` // as the profile's mcp_servers names it
	URL                 string `json:"url"`
	AuthorizationServer string `json:"authorization_server"`
	Advice              string `json:"advice"`
}

func newStatusCommand(e *Env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [PROFILE]",
		Short: "Profiles, tokens and the daemon",
		Long: `Show whether the daemon runs, and for each profile its state, user, role and
how long its access token and its sign-in (or PAT) stay valid. For the MCP
servers a profile lists (mcp_servers), it asks each, without a token, where
it takes its tokens from, and says when that is no longer where the profile
signs in.`,
		Example: `  sfmcp-token status
  sfmcp-token status prod --json`,
		Args:              profileArg,
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), e, args, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func runStatus(ctx context.Context, e *Env, only []string, asJSON bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	store, err := openStore(e, cfg)
	if err != nil {
		return err
	}
	warnFileStore(e, store)
	c, err := findDaemon(ctx, e, 5*time.Second)
	if c == nil {
		return err
	}
	view := statusView{Socket: c.Socket}
	st := apitype.Status{}
	if err == nil {
		st, err = c.Status(ctx)
	}
	switch {
	case err == nil:
		view.Daemon, view.Profiles = &st, st.Profiles
	case errors.Is(err, client.ErrNoDaemon):
		view.Profiles = daemon.StatusWithoutDaemon(cfg, store)
	default:
		return daemonError(err, client.Request{})
	}
	if len(only) == 1 {
		view.Profiles = slices.DeleteFunc(view.Profiles, func(p apitype.ProfileStatus) bool { return p.Name != only[0] })
		if len(view.Profiles) == 0 {
			return fmt.Errorf("%w: %q", config.ErrNoProfile, only[0])
		}
	}
	view.Moved = movedServers(ctx, e, cfg, view.Profiles)
	if asJSON {
		return writeJSON(e, view)
	}
	return printStatus(e, view, c.Socket)
}

// printStatus prints view for people.
func printStatus(e *Env, view statusView, socket string) error {
	if view.Daemon != nil {
		d := view.Daemon
		fmt.Fprintf(e.Stdout, "daemon: running, pid %d, up %s, version %s, socket %s\n", d.PID, d.Uptime, d.Version, d.Socket)
	} else {
		fmt.Fprintf(e.Stdout, "daemon: not running (socket %s); it starts on the first sfmcp-token headers, or run: sfmcp-token daemon\n", socket)
	}
	if len(view.Profiles) == 0 {
		fmt.Fprintln(e.Stdout, "no profiles: run sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSTATE\tUSER\tROLE\tACCESS TOKEN\tREFRESH TOKEN / PAT")
	for _, p := range view.Profiles {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.State, mcpclients.Printable(dash(p.User)), dash(p.Role), expiry.Access(p.AccessExpiresAt, now), expiry.Secret(p, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range view.Profiles {
		if expiry.ExpiresSoon(p.SecretExpiresAt, now) {
			if left := expiry.InWords(p.SecretExpiresAt.Sub(now)); p.Auth == config.AuthPAT {
				fmt.Fprintf(e.Stdout, "profile %s: its PAT expires in %s: run sfmcp-token pat rotate (with the setup's --manifest)\n", p.Name, left)
			} else {
				fmt.Fprintf(e.Stdout, "profile %s: sign-in expires in %s: run sfmcp-token login --profile %s\n", p.Name, left, p.Name)
			}
		}
		if p.Issuer != "" {
			fmt.Fprintf(e.Stdout, "profile %s signs in at %s", p.Name, p.Issuer)
			if len(p.TokenScopes)+len(p.TokenAudience) > 0 {
				fmt.Fprintf(e.Stdout, "; its token's scopes: %s; audience: %s", mcpclients.Printable(dash(strings.Join(p.TokenScopes, " "))), mcpclients.Printable(dash(strings.Join(p.TokenAudience, " "))))
			}
			fmt.Fprintln(e.Stdout)
		}
		if p.State == apitype.CodeLoginRequired {
			fmt.Fprintf(e.Stdout, "profile %s needs a sign-in: run sfmcp-token login --profile %s\n", p.Name, p.Name)
		} else if p.LastError != "" {
			fmt.Fprintf(e.Stdout, "profile %s: %s\n", p.Name, p.LastError)
		}
	}
	for _, m := range view.Moved {
		fmt.Fprintf(e.Stdout, "profile %s, MCP server %s: %s\n", m.Profile, mcpclients.Printable(m.Server), m.Advice)
	}
	return nil
}

// movedServers asks the MCP servers of the OAuth profiles shown where they
// take their tokens from, as their metadata says after a request without
// a token (its 401 names it), and returns those that moved away from
// where the profile signs in. A server that cannot be asked says nothing:
// status is not the place to diagnose the network (doctor is).
func movedServers(ctx context.Context, e *Env, cfg *config.File, shown []apitype.ProfileStatus) []movedServer {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // all of them: status stays quick offline
	defer cancel()
	var moved []movedServer
	for _, ps := range shown {
		p, ok := cfg.Profiles[ps.Name]
		ep, err := p.Endpoint()
		if !ok || err != nil || p.IsPAT() {
			continue
		}
		for _, spec := range p.MCPServers {
			url, err := config.MCPServerURL(ep, spec)
			if err != nil || p.CheckServerURL(url) != nil {
				continue
			}
			var changed *idp.BindingChangedError
			if errors.As(idp.CheckBinding(ctx, e.snowflakeHTTP(), p, url, nil), &changed) {
				moved = append(moved, movedServer{Profile: p.Name, Server: spec, URL: url, AuthorizationServer: changed.AuthorizationServer,
					Advice: changed.Error() + "; " + changed.Hint()})
			}
		}
	}
	return moved
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// notifyDaemon asks a running daemon to reload a profile after its sign-in
// or configuration changed. No daemon, no problem: it reads fresh state
// when it starts.
func notifyDaemon(ctx context.Context, e *Env, profile string) {
	c, err := findDaemon(ctx, e, 2*time.Second)
	if err != nil {
		return
	}
	_ = c.Reload(ctx, profile)
}
