package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// statusView is the --json shape of status.
type statusView struct {
	Daemon   *apitype.Status         `json:"daemon"` // null when not running
	Socket   string                  `json:"socket"`
	Profiles []apitype.ProfileStatus `json:"profiles"`
}

func newStatusCommand(e *Env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [PROFILE]",
		Short: "Profiles, tokens and the daemon",
		Long: `Show whether the daemon runs, and for each profile its state, user, role and
how long its access token and its sign-in (or PAT) stay valid.`,
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
	c, found := findDaemon(ctx, e, 5*time.Second)
	if c == nil {
		return found
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	store, err := openStore(e, cfg)
	if err != nil {
		return err
	}
	warnFileStore(e, store)
	view := statusView{Socket: c.Socket}
	st, err := apitype.Status{}, found
	if err == nil {
		st, err = c.Status(ctx)
	}
	switch {
	case err == nil:
		view.Daemon, view.Profiles = &st, st.Profiles
	case errors.Is(err, client.ErrNoDaemon):
		// No daemon: report what the config and the keychain say.
		m, err := newManager(ctx, e, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		view.Profiles = m.Status()
	default:
		return withAdvice(err, exitcode.Unavailable, "the daemon did not answer; restart it: sfmcp-token daemon")
	}
	if len(only) == 1 {
		view.Profiles = slices.DeleteFunc(view.Profiles, func(p apitype.ProfileStatus) bool { return p.Name != only[0] })
		if len(view.Profiles) == 0 {
			return fmt.Errorf("%w: %q", config.ErrNoProfile, only[0])
		}
	}
	if asJSON {
		return writeJSON(e, view)
	}
	if view.Daemon != nil {
		d := view.Daemon
		fmt.Fprintf(e.Stdout, "daemon: running, pid %d, up %s, version %s, socket %s\n", d.PID, d.Uptime, d.Version, d.Socket)
	} else {
		fmt.Fprintf(e.Stdout, "daemon: not running (socket %s); it starts on the first sfmcp-token headers, or run: sfmcp-token daemon\n", c.Socket)
	}
	if len(view.Profiles) == 0 {
		fmt.Fprintln(e.Stdout, "no profiles: run sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSTATE\tUSER\tROLE\tACCESS TOKEN\tREFRESH TOKEN / PAT")
	for _, p := range view.Profiles {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.State, dash(p.User), dash(p.Role), accessLeft(p.AccessExpiresAt, now), secretLeft(p, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range view.Profiles {
		if !p.SecretExpiresAt.IsZero() && p.SecretExpiresAt.Sub(now) < 7*24*time.Hour && p.SecretExpiresAt.After(now) {
			if p.Auth == config.AuthPAT {
				fmt.Fprintf(e.Stdout, "profile %s: its PAT expires in %s: run sfmcp-token pat rotate (with the setup's --manifest)\n", p.Name, inWords(p.SecretExpiresAt.Sub(now)))
			} else {
				fmt.Fprintf(e.Stdout, "profile %s: sign-in expires in %s: run sfmcp-token login --profile %s\n", p.Name, inWords(p.SecretExpiresAt.Sub(now)), p.Name)
			}
		}
		if p.State == apitype.CodeLoginRequired {
			fmt.Fprintf(e.Stdout, "profile %s needs a sign-in: run sfmcp-token login --profile %s\n", p.Name, p.Name)
		} else if p.LastError != "" {
			fmt.Fprintf(e.Stdout, "profile %s: %s\n", p.Name, p.LastError)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func accessLeft(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case t.Before(now):
		return "expired"
	}
	return "expires in " + inWords(t.Sub(now))
}

// secretLeft is how long a profile's sign-in or PAT stays valid.
func secretLeft(p apitype.ProfileStatus, now time.Time) string {
	switch {
	case p.State == apitype.CodeLoginRequired:
		return "not signed in"
	case p.SecretExpiresAt.IsZero():
		return "expiry not reported"
	case p.SecretExpiresAt.Before(now):
		return "expired"
	}
	return inWords(p.SecretExpiresAt.Sub(now)) + " left"
}

// inWords says a duration as people do: "45 seconds", "9 minutes",
// "5 hours", "30 days", rounded to the nearest unit.
func inWords(d time.Duration) string {
	unit := func(n float64, name string) string {
		v := int(math.Round(n))
		if v == 1 {
			return "1 " + name
		}
		return strconv.Itoa(v) + " " + name + "s"
	}
	switch {
	case d < time.Minute:
		return unit(d.Seconds(), "second")
	case d < time.Hour:
		return unit(d.Minutes(), "minute")
	case d < 48*time.Hour:
		return unit(d.Hours(), "hour")
	}
	return unit(d.Hours()/24, "day")
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
