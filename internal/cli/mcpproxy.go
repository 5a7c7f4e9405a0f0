package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/mcpbridge"
	"github.com/sfmcp/sfmcp/internal/netconf"
)

// runMCPProxy bridges the MCP client on stdin/stdout to a Snowflake MCP
// server, asking the daemon for the token on every request. Only MCP
// messages go to stdout; diagnostics go to stderr.
func newMCPProxyCommand(e *Env) *cobra.Command {
	var profile, server string
	var quiet bool
	c := &cobra.Command{
		Use:   "mcp-proxy --server DB.SCHEMA.NAME [--profile P]",
		Short: "Stdio MCP bridge to a Snowflake MCP server",
		Long: `Bridge an MCP client on stdin/stdout to a Snowflake MCP server, with a fresh
token from the daemon on every request. A token Snowflake refuses is renewed
and the request retried once; if the renewed one is refused too, the
server's metadata says whether it takes its tokens from another
authorization server now (an identity provider it was bound to), and the
error says so. Only MCP messages go to stdout.`,
		Example: `  # in an MCP client's config: "command": "sfmcp-token",
  #   "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"]
  sfmcp-token mcp-proxy --profile prod --server DB.PUBLIC.GONG_MCP`,
		Args: noArgs,
		RunE: longRunning(func(ctx context.Context, _ []string) error {
			return runMCPProxy(ctx, e, profile, server, quiet)
		}),
	}
	addProfileFlag(c, e, &profile, "profile whose token is used (default: $SFMCP_PROFILE, then default_profile)")
	c.Flags().StringVar(&server, "server", "", "the MCP server: DATABASE.SCHEMA.NAME or its full URL (required)")
	c.Flags().BoolVar(&quiet, "quiet", false, "log only errors to stderr")
	_ = c.MarkFlagRequired("server")
	return c
}

func runMCPProxy(ctx context.Context, e *Env, profileName, server string, quiet bool) error {
	// An MCP client entry sets this process's environment: proxies and
	// TLS roots come from the config only.
	e.networkFromConfigOnly = true
	if e.HTTPClient == nil { // a real process, not an in-process test
		if err := netconf.DropEnv(); err != nil {
			return err
		}
	}
	p, serverURL, err := profileAndServer(e, profileName, server)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelError
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level})).With("component", "mcp-proxy")
	tokens := daemonTokens(e, p.Name, serverURL)
	// Each token names the network to use; a test's client carries all.
	tokens.ViaSignIn = e.HTTPClient == nil
	o := mcpbridge.Options{Tokens: tokens, Log: log,
		Advice:  func(err error) string { return adviceLine(daemonError(err, client.Request{Profile: p.Name})) },
		Refused: mcpbridge.BindingAdvice(p, serverURL)}
	if e.HTTPClient != nil && e.HTTPClient.Transport != nil {
		o.Base = e.HTTPClient.Transport.(*http.Transport)
	}
	return mcpbridge.Run(ctx, o, e.Stdin, e.Stdout)
}

// daemonTokens asks the daemon for profile's token to serverURL on every
// request (the bridge, doctor's MCP check).
func daemonTokens(e *Env, profile, serverURL string) *mcpbridge.Tokens {
	return &mcpbridge.Tokens{Daemon: daemonOptions(e), Profile: profile, ServerURL: serverURL, NoSignIn: e.Getenv("SFMCP_NO_AUTO_LOGIN") == "1"}
}

// adviceLine renders an error and its next step as one sentence.
func adviceLine(err error) string {
	var adv *adviceError
	if errors.As(err, &adv) && adv.hint != "" {
		return adv.err.Error() + ". Next: " + adv.hint
	}
	return err.Error()
}
