package cli

import (
	"context"
	"os"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/hotpath"
)

// hotEnv is the hot path's view of the environment; a daemon it starts is
// this very binary.
func hotEnv(e *Env) hotpath.Env {
	exe, _ := os.Executable()
	return hotpath.Env{Getenv: e.Getenv, Environ: e.Environ, Stdout: e.Stdout, Stderr: e.Stderr, DaemonExe: exe}
}

// runHot runs `headers` or `token`, which print their own errors.
func runHot(ctx context.Context, e *Env, args []string) int {
	return hotpath.Run(ctx, hotEnv(e), args)
}

// withDaemon runs call against the daemon, starting one if needed.
func withDaemon(ctx context.Context, e *Env, call func(*client.Client) ([]byte, error)) ([]byte, error) {
	return hotpath.WithDaemon(ctx, hotEnv(e), call)
}

// daemonError turns a daemon answer into advice and an exit code.
func daemonError(err error, req client.Request) error {
	code, hint := hotpath.Explain(err, req.Profile)
	return withAdvice(err, code, hint)
}
