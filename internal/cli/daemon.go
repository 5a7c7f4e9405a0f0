package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/paths"
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
	if run := daemonSignIn(e, store, log); run != nil {
		signIn = &daemon.SignIn{Run: run, May: mayOpenSignIn(e, store)}
	}
	return daemon.NewManager(ctx, daemon.Options{
		Store:      store,
		LoadConfig: func() (*config.File, error) { return loadConfig(e) },
		NewRefresher: func(p config.Profile, cred keychain.Credential) (daemon.Refresher, error) {
			ep, err := p.Endpoint()
			if err != nil {
				return nil, usagef("", "profile %s: %v", p.Name, err)
			}
			hc := e.HTTPClient // tests
			if hc == nil {
				// The network the sign-in was made with; the environment's
				// proxy only for a daemon the user started (an auto-started
				// one has none in its allow-listed environment).
				if hc, err = signInHTTP(cred, true); errors.Is(err, errCAChanged) {
					return nil, &oauth.LoginRequiredError{Cause: err}
				} else if err != nil {
					return nil, err
				}
				if !cred.NetworkRecorded {
					hc.Transport = legacyNetwork{rt: hc.Transport, advice: exitcode.LoginHint(p.Name)}
				}
			}
			return oauthClient(e, store, p, ep, hc)
		},
		// The CA file's current certificates: a changed file rebuilds the
		// client, whose check then asks for a new sign-in.
		RefresherKey: func(_ config.Profile, cred keychain.Credential) string {
			if cred.CAFile == "" {
				return ""
			}
			pem, err := readCAFile(cred.CAFile, "")
			if err != nil {
				return "unreadable"
			}
			return caDigest(pem)
		},
		Probe:         (&probeClients{e: e}).refused,
		SignIn:        signIn,
		NeedsSignIn:   notifySignIn(e),
		Log:           log,
		ExpiryWarning: notifyExpiry(e),
	})
}

// daemonSignIn is the browser sign-in the daemon opens itself when
// Snowflake needs a new one, the same flow as `login`; nil (never) without
// a desktop to open it on, or with SFMCP_NO_AUTO_LOGIN=1. It renews the
// stored sign-in as it was made (see renewal), checked again right before,
// and tells the daemon whether the browser opened (see daemon.Options).
func daemonSignIn(e *Env, store *keychain.Store, log *slog.Logger) func(context.Context, config.Profile, func(func() error) error) error {
	if e.Getenv("SFMCP_NO_AUTO_LOGIN") == "1" || !atDesktop(e.Getenv) {
		return nil
	}
	return func(ctx context.Context, p config.Profile, show func(open func() error) error) error {
		bound, cred, why := renewal(e, store, p)
		if why != "" {
			return errors.New(why)
		}
		ep, err := bound.Endpoint()
		if err != nil {
			return err
		}
		hc, err := signInHTTP(cred, true) // as the daemon's refreshes go
		if err != nil {
			return err
		}
		network := signInNetwork{http: hc, record: func(c *keychain.Credential) error {
			c.NetworkRecorded, c.CAFile, c.CAFileSHA256, c.HTTPSProxy = true, cred.CAFile, cred.CAFileSHA256, cred.HTTPSProxy
			return nil
		}}
		announce := func(startURL, _ string) { // the authorization URL carries the state: never logged
			log.Info("sign-in page (if no browser opened, visit it)", "profile", p.Name, "url", startURL)
		}
		open := func(url string) error {
			return show(func() error { return openerFailure(e.opener()(url)) })
		}
		_, err = browserSignIn(ctx, e, store, bound, ep, network, 2*time.Minute, announce, open, nil)
		return err
	}
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

// mayOpenSignIn says why the daemon must not open a sign-in for p ("" if
// it may); see renewal.
func mayOpenSignIn(e *Env, store *keychain.Store) func(config.Profile) string {
	return func(p config.Profile) string {
		_, _, why := renewal(e, store, p)
		return why
	}
}

// renewal decides whether the daemon may open a browser sign-in for p, and
// returns the profile to sign in with and the sign-in it renews. The
// daemon renews only a sign-in the user made, exactly as made: the same
// host, OAuth client and scopes, network (ca_file, https_proxy) and user,
// and no further extra hosts. A daemon an MCP client entry started with a
// HOME of the project's choosing reads that project's config; a sign-in
// opened from it must not gain a proxy, a host or a client the user never
// signed in with. The file store of a HOME that is not the account's may
// be the project's own, so there the user signs in with `login`.
func renewal(e *Env, store *keychain.Store, p config.Profile) (config.Profile, keychain.Credential, string) {
	cfg, err := loadConfig(e)
	if err != nil {
		return p, keychain.Credential{}, "the config cannot be read"
	}
	// On macOS the keychain a process finds also follows HOME (its
	// keychain search list lives under ~/Library).
	if (store.Kind() == keychain.KindFile || runtime.GOOS == "darwin") && !homeIsAccounts(e.Getenv) {
		return p, keychain.Credential{}, "the credential store is not under your account's home directory"
	}
	cred, err := store.Credential(p.Name)
	if err != nil || cred.Kind != keychain.CredentialOAuth || cred.User == "" {
		return p, keychain.Credential{}, "sfmcp renews only a sign-in you made (and Snowflake named its user); sign in with login"
	}
	ep, err := p.Endpoint()
	if err != nil || !config.SameHost(cred.Host, ep.Host) {
		return p, cred, "the profile's host is not the one its last sign-in was made for"
	}
	if cred.ClientID != p.EffectiveClientID() || !slices.Equal(cred.Scopes, p.OAuthScopes()) {
		return p, cred, "the profile's OAuth client or scopes are not the ones its last sign-in was made with"
	}
	for _, h := range p.ExtraHosts {
		if !slices.ContainsFunc(cred.ExtraHosts, func(c string) bool { return config.SameHost(c, h) }) {
			return p, cred, "the profile's extra_hosts name a host its last sign-in did not"
		}
	}
	var now keychain.Credential
	if err := recordNetwork(cfg, &now); err != nil || !cred.NetworkRecorded ||
		now.CAFile != cred.CAFile || now.CAFileSHA256 != cred.CAFileSHA256 || now.HTTPSProxy != cred.HTTPSProxy {
		return p, cred, "the config's network (ca_file, https_proxy) is not the one the last sign-in was made over"
	}
	bound := p
	bound.ExtraHosts = cred.ExtraHosts
	bound.User = cred.User // the renewal must be the same Snowflake user
	return bound, cred, ""
}

// homeIsAccounts reports whether HOME is the account's home directory, as
// the user database says (os/user's Current would fall back to $HOME for
// a uid it does not find, e.g. one from LDAP in a static build).
func homeIsAccounts(getenv func(string) string) bool {
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	return err == nil && filepath.IsAbs(u.HomeDir) && filepath.Clean(getenv("HOME")) == filepath.Clean(u.HomeDir)
}

// atDesktop reports whether the daemon runs in a session with a screen to
// open a browser on: a macOS login, or elsewhere an X or Wayland display.
// A session bus alone is no screen: containers, lingering user sessions,
// CI runners and dbus-run-session have one, and a browser opened there
// shows nowhere.
func atDesktop(getenv func(string) string) bool {
	switch runtime.GOOS {
	case "darwin":
		return true
	case "windows":
		return false
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// probeClients asks MCP servers whether they take a token, over the
// network each sign-in was made with. One HTTP client per network is
// kept, so a client's reconnects reuse a warm connection instead of a new
// TLS handshake inside the helper's 10 s.
type probeClients struct {
	e       *Env
	mu      sync.Mutex
	clients map[string]*http.Client
}

func (pc *probeClients) refused(ctx context.Context, p config.Profile, cred keychain.Credential, serverURL string, t daemon.Token) (bool, error) {
	hc := pc.e.HTTPClient // tests
	if hc == nil {
		key := cred.CAFile + "\x00" + cred.CAFileSHA256 + "\x00" + cred.HTTPSProxy
		pc.mu.Lock()
		hc = pc.clients[key]
		pc.mu.Unlock()
		if hc == nil {
			var err error
			if hc, err = signInHTTP(cred, true); err != nil {
				return false, err
			}
			pc.mu.Lock()
			if pc.clients == nil {
				pc.clients = map[string]*http.Client{}
			}
			pc.clients[key] = hc
			pc.mu.Unlock()
		}
	}
	return refusedBy(ctx, hc, serverURL, t)
}

// refusedBy asks the MCP server whether it takes t, with the cheapest
// request Snowflake's MCP servers answer (tools/list): only a 401 is a
// refusal. The answer is drained, not read.
func refusedBy(ctx context.Context, hc *http.Client, serverURL string, t daemon.Token) (bool, error) {
	body := strings.NewReader(`{"jsonrpc":"2.0","id":"sfmcp-token-check","method":"tools/list","params":{}}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverURL, body)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+t.AccessToken)
	req.Header.Set("X-Snowflake-Authorization-Token-Type", t.TokenType)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("check the token at the MCP server: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode == http.StatusUnauthorized, nil
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
