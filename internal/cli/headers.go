package cli

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

// hotEnv is the hot path's view of the environment: headers and token run
// the same code in both binaries. A daemon it starts is this very binary.
func hotEnv(e *Env) tokencmd.Env {
	h := tokencmd.Env{Getenv: e.Getenv, Environ: e.Environ, Stdout: e.Stdout, Stderr: e.Stderr, DaemonExe: e.DaemonExe}
	if h.DaemonExe == "" {
		h.FindDaemonExe = os.Executable
	}
	return h
}

// connect finds the user's daemon, starting one if needed (this binary);
// timeout bounds each request (0: the client's default).
func connect(ctx context.Context, e *Env, timeout time.Duration) (*client.Client, error) {
	o := daemonOptions(e)
	o.Timeout = timeout
	return client.Connect(ctx, o)
}

// daemonOptions find the user's daemon, or start this binary as one.
func daemonOptions(e *Env) client.Options {
	o := client.Options{Getenv: e.Getenv, Environ: e.Environ, DaemonExe: e.DaemonExe}
	if o.DaemonExe == "" {
		o.FindDaemonExe = os.Executable
	}
	return o
}

// findDaemon connects to a running daemon without starting one; with none
// running, the client names the socket one would listen on and the error
// wraps client.ErrNoDaemon.
func findDaemon(ctx context.Context, e *Env, timeout time.Duration) (*client.Client, error) {
	return client.Connect(ctx, client.Options{Getenv: e.Getenv, Timeout: timeout})
}

// newHotCommand is headers or token: the same code sfmcp-token runs.
func newHotCommand(e *Env, name string) *cobra.Command {
	var o tokencmd.Options
	c := &cobra.Command{
		Use:  name,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := hotEnv(e)
			if err := tokencmd.Print(cmd.Context(), h, name, o); err != nil {
				profile := o.Profile
				if profile == "" {
					profile = e.Getenv("SFMCP_PROFILE")
				}
				code, hint := tokencmd.Advise(err, e.Getenv, profile)
				return withAdvice(err, code, hint)
			}
			return nil
		},
	}
	switch name {
	case "headers":
		c.Short = "Print the headersHelper JSON for Claude Code"
		c.Long = `Print {"Authorization": "Bearer …"} for the profile, as a Claude Code
headersHelper prints it. The token comes from the per-user daemon, which is
started if none runs. With CLAUDE_CODE_MCP_SERVER_URL set (Claude Code sets
it), the token goes only to that URL's profile, and only over https.`
		c.Example = `  # in .mcp.json: "headersHelper": "sfmcp-token headers --profile prod"
  sfmcp-token headers --profile prod`
	case "token":
		c.Short = "Print the bare access token"
		c.Example = `  curl -H "Authorization: Bearer $(sfmcp-token token --profile prod)" …`
	}
	addProfileFlag(c, e, &o.Profile, "profile (default: $SFMCP_PROFILE, then the profile matching $CLAUDE_CODE_MCP_SERVER_URL, then default_profile)")
	c.Flags().BoolVar(&o.Force, "force", false, "get a new access token even if the cached one is valid")
	return c
}

// daemonToken asks the daemon for req's token, starting one if needed;
// refused is a token the server just rejected (sent as its fingerprint),
// timeout bounds the exchange (0: the client's default).
func daemonToken(ctx context.Context, e *Env, req client.Request, refused string, timeout time.Duration) (apitype.TokenBody, error) {
	if refused != "" {
		req.Refused = daemon.Fingerprint(refused)
	}
	c, err := connect(ctx, e, timeout)
	if err != nil {
		return apitype.TokenBody{}, err
	}
	return c.Token(ctx, req)
}

// daemonError turns a failure to get a token from the daemon into advice
// and an exit code.
func daemonError(err error, req client.Request) error {
	code := client.CodeOf(err)
	profile := errcode.ProfileOf(err)
	if profile == "" {
		profile = req.Profile
	}
	exit, hint := exitcode.ForCode(code, profile)
	return withAdvice(err, exit, hint)
}
