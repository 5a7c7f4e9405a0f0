// Package tokencmd is what runs on every MCP connection: `sfmcp-token
// headers` and `token`. It asks the daemon over its socket, starts one if
// none answers, and turns failures into one or two lines of advice and a
// documented exit code. It imports only the client, so the sfmcp-token
// binary that Claude Code runs starts in about the time of a minimal Go
// program; every other command lives in sfmcp-token-full.
package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/paths"
	"github.com/sfmcp/sfmcp/internal/safesocket"
	"github.com/sfmcp/sfmcp/internal/version"
)

// Env is what the hot path touches outside the process.
type Env struct {
	Getenv  func(string) string
	Environ func() []string // what an auto-started daemon inherits
	Stdout  io.Writer
	Stderr  io.Writer
	// DaemonExe is the binary that runs `daemon` when one must be started;
	// FindDaemonExe finds it only then (it costs a few system calls).
	DaemonExe     string
	FindDaemonExe func() (string, error)
}

// Main is the whole of sfmcp-token: headers, token and the version are
// answered here; every other command line, help and mistakes included, is
// handed to sfmcp-token-full, which has the command tree.
func Main(ctx context.Context, e Env, args []string) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		io.WriteString(e.Stdout, "sfmcp-token "+version.String()+"\n")
		return exitcode.OK
	}
	if len(args) > 0 && (args[0] == "headers" || args[0] == "token") {
		if o, ok := parseHot(args[1:]); ok {
			return Run(ctx, e, args[0], o)
		}
	}
	return ExecFull(args)
}

// Options are the flags of headers and token.
type Options struct {
	Profile string // --profile, else $SFMCP_PROFILE, else the daemon's choice
	Force   bool   // --force: a new access token even if the cached one is valid
}

// parseHot parses the flags of headers and token as sfmcp-token-full's
// command tree does. Anything else (help, a mistake) is not ok, and the
// full binary answers it with its usage.
func parseHot(args []string) (Options, bool) {
	var o Options
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if name == "-profile" || name == "-force" {
			name = "-" + name // as Go's flag package took them before
		}
		switch name {
		case "--profile":
			if !hasValue {
				if i+1 == len(args) {
					return o, false
				}
				i++
				value = args[i]
			}
			o.Profile = value
		case "--force":
			if hasValue {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return o, false
				}
				o.Force = b
				continue
			}
			o.Force = true
		default:
			return o, false
		}
	}
	return o, true
}

// Run runs `headers` or `token` and returns the exit code.
func Run(ctx context.Context, e Env, command string, o Options) int {
	err := Print(ctx, e, command, o)
	if err == nil {
		return exitcode.OK
	}
	code, hint := Advise(err, e.Getenv, profileOf(e, o))
	exitcode.Report(e.Stderr, err, hint)
	return code
}

// Print asks the daemon for the profile's token and prints it: headers as
// the JSON a headersHelper prints, token bare.
func Print(ctx context.Context, e Env, command string, o Options) error {
	req := client.Request{Profile: profileOf(e, o), ServerURL: e.Getenv("CLAUDE_CODE_MCP_SERVER_URL"), ServerName: e.Getenv("CLAUDE_CODE_MCP_SERVER_NAME"),
		Force: o.Force, NoSignIn: e.Getenv("SFMCP_NO_AUTO_LOGIN") == "1"}
	var out []byte
	err := WithDaemon(ctx, e, func(c *client.Client) error {
		if command == "token" {
			tok, err := c.Token(ctx, req)
			out = []byte(tok.AccessToken + "\n")
			return err
		}
		var err error
		out, err = c.Headers(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	_, err = e.Stdout.Write(out)
	return err
}

func profileOf(e Env, o Options) string {
	if o.Profile != "" {
		return o.Profile
	}
	return e.Getenv("SFMCP_PROFILE")
}

// Advise is Explain for headers and token: it also names the variables an
// auto-started daemon did not take from this environment, when they may
// explain a missing profile or sign-in.
func Advise(err error, getenv func(string) string, profile string) (int, string) {
	code, hint := Explain(err, profile)
	if ignored := ignoredByDaemon(getenv); ignored != "" && (code == exitcode.Usage || code == exitcode.LoginRequired) {
		hint += "\nsfmcp: note: the daemon does not read " + ignored + " from your environment (it may have been started by an MCP client); keep the config at ~/.config/sfmcp/config.toml (with keyring = \"file\" there for the file store), or run the daemon with your environment: sfmcp-token service install"
	}
	return code, hint
}

// ignoredByDaemon lists the variables set here that an auto-started
// daemon does not take from its caller, when a missing profile or sign-in
// may be explained by them.
func ignoredByDaemon(getenv func(string) string) string {
	var set []string
	for _, k := range []string{"SFMCP_CONFIG", "SFMCP_SYSTEM_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "SFMCP_KEYRING"} {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	return strings.Join(set, ", ")
}

// WithDaemon runs call against the user's daemon: at the socket this
// environment names, else at the one the running daemon recorded in the
// user's lock (a client started with another environment looks elsewhere,
// but there is one daemon per user). With none running it starts one
// (unless SFMCP_NO_AUTOSTART=1) and tries again for up to 2 s.
func WithDaemon(ctx context.Context, e Env, call func(*client.Client) error) error {
	where, err := paths.Resolve(e.Getenv)
	if err != nil {
		return err
	}
	c := &client.Client{Socket: where.Socket}
	err = call(c)
	if !errors.Is(err, client.ErrNoDaemon) {
		return err
	}
	if socket, _, ok := client.RunningDaemon(where.Lock); ok && socket != c.Socket {
		// Only a daemon's answer there counts. A record a crashed daemon
		// left may name a socket that is gone or no longer safe to use;
		// that must not keep a daemon from starting here.
		recorded := &client.Client{Socket: socket}
		if rerr := call(recorded); daemonAnswered(rerr) {
			return rerr
		}
	}
	if e.Getenv("SFMCP_NO_AUTOSTART") == "1" {
		return err
	}
	if e.DaemonExe == "" && e.FindDaemonExe != nil {
		exe, ferr := e.FindDaemonExe()
		if ferr != nil {
			return fmt.Errorf("%w (and it cannot be started: %v)", err, ferr)
		}
		e.DaemonExe = exe
	}
	if e.DaemonExe == "" {
		return err
	}
	environ := e.Environ
	if environ == nil {
		environ = os.Environ
	}
	deadline := time.Now().Add(2 * time.Second)
	started, serr := client.StartDaemon(e.DaemonExe, daemonEnviron(environ()), where.Log, time.Until(deadline))
	if serr != nil {
		return fmt.Errorf("%w (and starting one failed: %v)", err, serr)
	}
	for {
		err = call(c)
		if !errors.Is(err, client.ErrNoDaemon) || time.Now().After(deadline) {
			if started == client.DaemonExited && errors.Is(err, client.ErrNoDaemon) {
				// No other daemon took its place: its log says why it stopped.
				err = fmt.Errorf("%w (the one started for this exited; see %s)", err, where.Log)
			}
			return err
		}
		// The daemon we started lost a race with another one, which may
		// listen elsewhere, or is still binding: look again briefly. Only
		// a daemon that answers at a recorded socket counts.
		if socket, _, ok := client.RunningDaemon(where.Lock); ok && socket != c.Socket {
			if rerr := call(&client.Client{Socket: socket}); daemonAnswered(rerr) {
				return rerr
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// daemonAnswered reports whether err (nil included) came from a daemon
// that answered, rather than from finding none to ask.
func daemonAnswered(err error) bool {
	var ce *client.Error
	return err == nil || errors.As(err, &ce) || errors.Is(err, client.ErrBusy)
}

// DaemonSocket is where the user's daemon listens: the socket the running
// daemon recorded in the user's lock, else where this environment says
// one would listen.
func DaemonSocket(getenv func(string) string) (string, error) {
	where, err := paths.Resolve(getenv)
	if err != nil {
		return "", err
	}
	if socket, _, ok := client.RunningDaemon(where.Lock); ok {
		return socket, nil
	}
	return where.Socket, nil
}

// Explain maps a daemon answer to its exit code and next step.
func Explain(err error, profile string) (int, string) {
	var ce *client.Error
	if errors.As(err, &ce) {
		if ce.Profile != "" {
			profile = ce.Profile
		}
		if profile == "" {
			profile = "NAME"
		}
		switch ce.Code {
		case apitype.CodeLoginRequired:
			if ce.SignInOpened {
				// The daemon opened the sign-in; a second one would race it.
				return exitcode.LoginRequired, "finish the sign-in in the browser window sfmcp opened, then try again (if you closed it: sfmcp-token login --profile " + profile + ")"
			}
			return exitcode.LoginRequired, exitcode.LoginHint(profile)
		case apitype.CodeUnknownProfile:
			return exitcode.Usage, "run: sfmcp-token profile list (or sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME)"
		case apitype.CodeKeychainUnavailable:
			return exitcode.Unavailable, exitcode.KeychainAdvice()
		case apitype.CodeUnavailable:
			return exitcode.Unavailable, "Snowflake could not be reached; the daemon keeps retrying with backoff, so try again shortly (details: sfmcp-token status; behind a proxy, set https_proxy in the config and sign in again)"
		case apitype.CodeHostMismatch:
			return exitcode.Usage, exitcode.HostMismatchHint()
		case apitype.CodeClientConfig:
			return exitcode.Usage, "fix the profile (sfmcp-token profile show " + profile + ") or ask your Snowflake administrator to check the integration"
		}
		return exitcode.Error, "see the daemon log for details"
	}
	if errors.Is(err, client.ErrBusy) {
		return exitcode.Unavailable, "try again; if this persists, a process on this machine is flooding the daemon (see the daemon log)"
	}
	if errors.Is(err, safesocket.ErrUnsafe) {
		return exitcode.Usage, "use a socket in a directory of your own: unset SFMCP_SOCKET or XDG_RUNTIME_DIR if they point elsewhere, or set SFMCP_SOCKET to a path under a 0700 directory you own"
	}
	if errors.Is(err, client.ErrNoDaemon) {
		return exitcode.Unavailable, "start it: sfmcp-token daemon (autostart is off when SFMCP_NO_AUTOSTART=1)"
	}
	return exitcode.Unavailable, "check the daemon: sfmcp-token status"
}

// daemonEnviron is the environment an auto-started daemon inherits: an
// allow-list. The caller may be a bridge whose environment a project's MCP
// client entry set, and the daemon it starts serves every later session, so
// nothing that chooses the configuration, the credential store, proxies,
// TLS roots or runtime debugging (GODEBUG can log HTTP/2 frames) comes from
// there. The daemon reads those from the user's config file. Secrets never
// pass either: a process's environment is readable by the same user.
func daemonEnviron(env []string) []string {
	out := make([]string, 0, len(daemonEnvAllowed)+1)
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !daemonEnvAllowed[name] && !strings.HasPrefix(name, "LC_") {
			continue
		}
		// A relative path would resolve in the caller's directory.
		if pathEnv[name] && !filepath.IsAbs(value) {
			continue
		}
		// The daemon stores secrets on this bus and opens the browser on
		// this display: only the user's own, never a remote one a
		// project's client entry names. The bus is passed on as checked
		// (rebuilt from its path), never as the entry wrote it.
		if name == "DBUS_SESSION_BUS_ADDRESS" {
			bus, ok := paths.CheckedBus(value)
			if !ok {
				continue
			}
			kv = name + "=" + bus
		}
		if name == "DISPLAY" && !localDisplay(value) || name == "WAYLAND_DISPLAY" && !waylandName(value) {
			continue
		}
		// A zone or locale by name only: a path (TZ=/repo/fifo) would make
		// the daemon, or the helpers it runs, read a file a project chose.
		if !namedSetting(name, value) {
			continue
		}
		out = append(out, kv)
	}
	// Helpers the daemon runs (notify-send) are looked up on the system
	// path, not on one a project chose.
	return append(out, "PATH="+systemPath)
}

// localDisplay reports whether d is an X display on this machine (":0",
// ":1.0"), not one over the network ("evil.example:0").
func localDisplay(d string) bool {
	num, screen, _ := strings.Cut(strings.TrimPrefix(d, ":"), ".")
	return strings.HasPrefix(d, ":") && digits(num) && (screen == "" && !strings.HasSuffix(d, ".") || digits(screen))
}

// waylandName reports whether w names a compositor socket in the user's
// runtime directory ("wayland-0"), not a path elsewhere.
func waylandName(w string) bool {
	return w != "" && w != "." && w != ".." && !strings.ContainsAny(w, "/\x00")
}

// namedSetting reports whether a TZ or locale variable names a zone or
// locale ("Europe/Paris", ":UTC", "en_US.UTF-8") rather than a file: not
// absolute, not relative to "." (musl reads "./x" as a path), no "..",
// and for a locale no "/" at all. Other variables pass.
func namedSetting(name, v string) bool {
	locale := name == "LANG" || name == "LANGUAGE" || strings.HasPrefix(name, "LC_")
	if name != "TZ" && !locale {
		return true
	}
	v = strings.TrimPrefix(v, ":")
	return !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, ".") && !strings.Contains(v, "..") && !strings.ContainsRune(v, 0) &&
		!(locale && strings.Contains(v, "/"))
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

var daemonEnvAllowed = map[string]bool{
	"HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "LANG": true, "LANGUAGE": true, "TZ": true,
	// The session: its keychain and its desktop notifications.
	"DBUS_SESSION_BUS_ADDRESS": true, "XDG_RUNTIME_DIR": true, "DISPLAY": true, "WAYLAND_DISPLAY": true,
	// Where the daemon listens must be where its clients look. Nothing
	// that changes what the daemon does for every later session (its
	// keychain timeout, auto-login, notifications): a bridge passes its
	// own no-sign-in wish per request, and the rest is the user's config
	// or the service's environment.
	"SFMCP_SOCKET": true,
}

var pathEnv = map[string]bool{"HOME": true, "XDG_RUNTIME_DIR": true, "SFMCP_SOCKET": true}

const systemPath = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
