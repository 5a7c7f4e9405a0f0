package cli

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

// hotEnv is the hot path's view of the environment; a daemon it starts is
// this very binary.
func hotEnv(e *Env) tokencmd.Env {
	h := e.Env
	if h.DaemonExe == "" && h.FindDaemonExe == nil {
		h.FindDaemonExe = os.Executable
	}
	return h
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
	var tok apitype.TokenBody
	err := withDaemon(ctx, e, func(c *client.Client) error {
		c.Timeout = timeout
		var err error
		tok, err = c.Token(ctx, req)
		return err
	})
	return tok, err
}

// withDaemon runs call against the daemon, starting one if needed.
func withDaemon(ctx context.Context, e *Env, call func(*client.Client) error) error {
	return tokencmd.WithDaemon(ctx, hotEnv(e), call)
}

// daemonError turns a daemon answer into advice and an exit code.
func daemonError(err error, req client.Request) error {
	code, hint := tokencmd.Explain(err, req.Profile)
	return withAdvice(err, code, hint)
}
