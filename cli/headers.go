package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/daemon"
)

// runHeaders prints the headersHelper JSON object and nothing else. It is on
// the hot path of every MCP connection: no config, no keychain, no network,
// just one round trip to the daemon.
func runHeaders(ctx context.Context, e *Env, args []string) error {
	req, err := tokenRequest(e, "headers", args)
	if err != nil {
		return err
	}
	body, err := withDaemon(ctx, e, func(c *client.Client) ([]byte, error) { return c.Headers(ctx, req) })
	if err != nil {
		return daemonError(err, req)
	}
	_, err = e.Stdout.Write(body)
	return err
}

// runToken prints the bare access token, for curl and scripts.
func runToken(ctx context.Context, e *Env, args []string) error {
	req, err := tokenRequest(e, "token", args)
	if err != nil {
		return err
	}
	var tok daemon.TokenBody
	_, err = withDaemon(ctx, e, func(c *client.Client) ([]byte, error) {
		var err error
		tok, err = c.Token(ctx, req)
		return nil, err
	})
	if err != nil {
		return daemonError(err, req)
	}
	_, err = fmt.Fprintln(e.Stdout, tok.AccessToken)
	return err
}

func tokenRequest(e *Env, name string, args []string) (client.Request, error) {
	fs := newFlags(e, name)
	profile := fs.String("profile", "", "profile (default: $SFMCP_PROFILE, then the profile matching $CLAUDE_CODE_MCP_SERVER_URL, then default_profile)")
	force := fs.Bool("force", false, "get a new access token even if the cached one is valid")
	if _, err := parse(fs, args); err != nil {
		return client.Request{}, err
	}
	return client.Request{
		Profile:   firstNonEmpty(*profile, e.Getenv("SFMCP_PROFILE")),
		ServerURL: e.Getenv("CLAUDE_CODE_MCP_SERVER_URL"),
		Force:     *force,
	}, nil
}

// withDaemon runs call against the daemon, starting one if none answers
// (unless SFMCP_NO_AUTOSTART=1) and trying again for up to 2 s.
func withDaemon(ctx context.Context, e *Env, call func(*client.Client) ([]byte, error)) ([]byte, error) {
	socket, err := daemon.SocketPath(e.Getenv)
	if err != nil {
		return nil, err
	}
	c := &client.Client{Socket: socket}
	body, err := call(c)
	if !errors.Is(err, client.ErrNoDaemon) || e.Getenv("SFMCP_NO_AUTOSTART") == "1" {
		return body, err
	}
	exe, xerr := os.Executable()
	if xerr != nil {
		return nil, err
	}
	environ := os.Environ
	if e.Environ != nil {
		environ = e.Environ
	}
	deadline := time.Now().Add(2 * time.Second)
	if serr := client.StartDaemon(exe, withoutSecrets(environ()), daemonLogPath(e), time.Until(deadline)); serr != nil {
		return nil, withAdvice(serr, ExitUnavailable, "start it yourself: sfmcp-token daemon")
	}
	for {
		body, err = call(c)
		if !errors.Is(err, client.ErrNoDaemon) || time.Now().After(deadline) {
			return body, err
		}
		// The daemon we started lost a race with another one, or is still
		// binding: poll briefly.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// daemonLogPath is where an auto-started daemon writes its log:
// $XDG_STATE_HOME/sfmcp/daemon.log, ~/.local/state/sfmcp/daemon.log, or
// ~/Library/Logs/sfmcp/daemon.log on macOS.
func daemonLogPath(e *Env) string {
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Logs", "sfmcp", "daemon.log")
	}
	if d := e.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sfmcp", "daemon.log")
	}
	return filepath.Join(home, ".local", "state", "sfmcp", "daemon.log")
}

// daemonError turns a daemon answer into advice and an exit code.
func daemonError(err error, req client.Request) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		profile := req.Profile
		if profile == "" {
			profile = "NAME"
		}
		switch ce.Code {
		case daemon.CodeLoginRequired:
			return withAdvice(ce, ExitLoginRequired, loginHint(profileOr(ce, profile)))
		case daemon.CodeUnknownProfile:
			return withAdvice(ce, ExitUsage, "run: sfmcp-token profile list (or sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME)")
		case daemon.CodeKeychainUnavailable:
			return withAdvice(ce, ExitUnavailable, keychainAdvice())
		case daemon.CodeUnavailable:
			return withAdvice(ce, ExitUnavailable, "Snowflake could not be reached; the daemon keeps retrying with backoff, so try again shortly (details: sfmcp-token status)")
		case daemon.CodeClientConfig:
			return withAdvice(ce, ExitUsage, "fix the profile (sfmcp-token profile show "+profileOr(ce, profile)+") or ask your Snowflake administrator to check the integration")
		}
		return withAdvice(ce, ExitError, "see the daemon log for details")
	}
	if errors.Is(err, client.ErrNoDaemon) {
		return withAdvice(err, ExitUnavailable, "start it: sfmcp-token daemon (autostart is off when SFMCP_NO_AUTOSTART=1)")
	}
	return withAdvice(err, ExitUnavailable, "check the daemon: sfmcp-token status")
}

func profileOr(ce *client.Error, fallback string) string {
	if ce.Profile != "" {
		return ce.Profile
	}
	return fallback
}

// withoutSecrets drops secrets from the environment an auto-started daemon
// inherits: it outlives the caller, and a process's environment is readable
// by the same user (/proc/PID/environ). The daemon reads client secrets from
// the keychain instead.
func withoutSecrets(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "SFMCP_CLIENT_SECRET=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
