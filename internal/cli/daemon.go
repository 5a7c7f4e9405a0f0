package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/internal/paths"
	"github.com/sfmcp/sfmcp/internal/signin"
	"github.com/sfmcp/sfmcp/internal/version"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

func newDaemonCommand(e *Env) *cobra.Command {
	var verbose, logFile bool
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run the token daemon in the foreground",
		Long: `Run the per-user token daemon in the foreground. It keeps access tokens fresh
and serves them on a Unix socket only this user can use. It starts on its
own when a client needs it; "sfmcp-token service install" runs it as a
systemd user unit or launchd agent instead.`,
		Example: "  sfmcp-token daemon --debug",
		Args:    noArgs,
		RunE: longRunning(func(ctx context.Context, _ []string) error {
			return runDaemon(ctx, e, verbose, logFile)
		}),
	}
	c.Flags().BoolVar(&verbose, "debug", false, "log at debug level")
	c.Flags().BoolVar(&logFile, "log-file", false, "log to the per-user log file, rotated by size, instead of stderr (what an auto-started daemon and the launchd agent do)")
	return c
}

func runDaemon(ctx context.Context, e *Env, verbose, logFile bool) error {
	where, err := paths.Resolve(e.Getenv)
	if err != nil {
		return err
	}
	// The daemon's live heap is a few kilobytes of tokens, and its garbage
	// is per-request; collecting at 50% growth keeps RSS small under load
	// at little CPU cost (bench/RESULTS.md).
	debug.SetGCPercent(50)
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	var out io.Writer = e.Stderr
	if logFile {
		rotating := rotatingLog(where.Log)
		defer rotating.Close()
		out = rotating
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	if err := daemon.Harden(); err != nil {
		log.Warn("could not make the daemon non-dumpable", "error", err.Error())
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	m, err := newManager(ctx, e, cfg, log)
	if err != nil {
		return err
	}
	// Timers stop while the machine sleeps; the watch looks at the wall
	// clock, so tokens are renewed within seconds of a resume.
	go m.Watch(ctx, 15*time.Second)
	srv := &daemon.Server{Manager: m, Log: log, Version: version.String()}
	err = srv.Serve(ctx, where.Socket, where.Lock, func() { signalReady(e) })
	if errors.Is(err, daemon.ErrAlreadyRunning) {
		return withAdvice(err, exitcode.Usage, "check it with: sfmcp-token status")
	}
	if err != nil {
		return withAdvice(err, exitcode.Unavailable, "")
	}
	return nil
}

// rotatingLog keeps the daemon's log, one line per token hand-out (the
// audit trail), within about 40 MB: 10 MB files, three old ones kept.
// Under systemd the daemon logs to stderr and journald rotates.
func rotatingLog(path string) *lumberjack.Logger {
	return &lumberjack.Logger{Filename: path, MaxSize: 10, MaxBackups: 3}
}

// newManager wires the daemon's token manager to the keychain, the config
// and Snowflake's token endpoint.
func newManager(ctx context.Context, e *Env, cfg *config.File, log *slog.Logger) (*daemon.Manager, error) {
	store, err := openStore(e, cfg)
	if err != nil {
		return nil, err
	}
	var signIn *daemon.SignIn // none without a desktop, or with SFMCP_NO_AUTO_LOGIN=1
	if run := signinRun(e, store, log); run != nil {
		signIn = &daemon.SignIn{Run: run, May: signinMay(e, store)}
	}
	return daemon.NewManager(ctx, daemon.Options{
		Store:        store,
		LoadConfig:   func() (*config.File, error) { return loadConfig(e) },
		NewRefresher: refresherFor(e, store),
		// The CA file's current certificates: a changed file rebuilds the
		// client, whose check then asks for a new sign-in.
		RefresherKey: func(_ config.Profile, cred keychain.Credential) string {
			return netconf.Of(cred).CAKey()
		},
		Probe:         (&daemon.Prober{HTTPClient: e.HTTPClient}).Refused,
		SignIn:        signIn,
		NeedsSignIn:   signin.NotifyNeeded(e.Getenv),
		Log:           log,
		ExpiryWarning: signin.NotifyExpiring(e.Getenv),
	})
}

// refresherFor builds the token-endpoint client of a stored sign-in
// (signin.Servers.Refresher): over the network it was made with.
func refresherFor(e *Env, store *keychain.Store) func(config.Profile, keychain.Credential) (daemon.Refresher, error) {
	return func(p config.Profile, cred keychain.Credential) (daemon.Refresher, error) {
		if _, err := p.Endpoint(); err != nil {
			return nil, usagef("", "profile %s: %v", p.Name, err)
		}
		servers := signin.Servers{Secrets: store, Secret: e.Getenv("SFMCP_CLIENT_SECRET")}
		if e.HTTPClient != nil { // tests
			return servers.Stored(p, cred, e.HTTPClient)
		}
		r, err := servers.Refresher(p, cred, exitcode.LoginHint(p.Name))
		if errors.Is(err, netconf.ErrCAChanged) {
			return nil, &oauth.LoginRequiredError{Cause: err}
		}
		return r, err
	}
}

// signinRun is the browser sign-in the daemon opens itself when Snowflake
// needs a new one (daemon.Options.SignIn), the same flow as `login`,
// renewing the stored sign-in as it was made (signin.Renewal); nil (never)
// without a desktop to open it on, or with SFMCP_NO_AUTO_LOGIN=1. It
// tells the daemon through show whether the browser opened.
func signinRun(e *Env, store *keychain.Store, log *slog.Logger) func(context.Context, config.Profile, func(func() error) error) error {
	if e.Getenv("SFMCP_NO_AUTO_LOGIN") == "1" || !signin.AtDesktop(e.Getenv) {
		return nil
	}
	renewal := renewalFor(e, store)
	return func(ctx context.Context, p config.Profile, show func(open func() error) error) error {
		flow := signin.Flow{
			Store:        store,
			ClientSecret: e.Getenv("SFMCP_CLIENT_SECRET"),
			Timeout:      2 * time.Minute,
			Announce: func(startURL, _ string) { // the authorization URL carries the state: never logged
				log.Info("sign-in page (if no browser opened, visit it)", "profile", p.Name, "url", startURL)
			},
			Open: func(url string) error {
				return show(func() error { return openerFailure(e.opener()(url)) })
			},
		}
		if err := renewal.Renew(ctx, flow, p); err != nil {
			return signInError(p.Name, err)
		}
		return nil
	}
}

// signinMay says why the daemon must not open a sign-in for a profile (""
// if it may): daemon.SignIn.May.
func signinMay(e *Env, store *keychain.Store) func(config.Profile) string {
	return renewalFor(e, store).Why
}

func renewalFor(e *Env, store *keychain.Store) *signin.Renewal {
	return &signin.Renewal{Store: store, Config: func() (*config.File, error) { return loadConfig(e) }, Home: e.Getenv("HOME")}
}

// openerFailure says how opening the browser failed, in words for the
// advice the daemon gives ("exit status 3" is xdg-open's "no method").
func openerFailure(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() >= 0 {
		return fmt.Errorf("the browser opener exited with status %d", exit.ExitCode())
	}
	if errors.As(err, &exit) {
		return errors.New("the browser opener was stopped by a signal")
	}
	if errors.Is(err, exec.ErrNotFound) {
		return errors.New("no browser opener (xdg-open) is installed")
	}
	return err
}

// signalReady tells the client that started this daemon that the socket
// accepts connections (see client.StartDaemon).
func signalReady(e *Env) {
	fd, err := strconv.Atoi(e.Getenv(client.ReadyFDEnv))
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "ready")
	_, _ = f.WriteString("ready\n")
	f.Close()
}
