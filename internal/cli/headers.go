package cli

import (
	"context"
	"os"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

// hotEnv is the hot path's view of the environment; a daemon it starts is
// this very binary.
func hotEnv(e *Env) tokencmd.Env {
	exe, _ := os.Executable()
	return tokencmd.Env{Getenv: e.Getenv, Environ: e.Environ, Stdout: e.Stdout, Stderr: e.Stderr, DaemonExe: exe}
}

// runHot runs `headers` or `token`, which print their own errors.
func runHot(ctx context.Context, e *Env, args []string) int {
	return tokencmd.Run(ctx, hotEnv(e), args)
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
