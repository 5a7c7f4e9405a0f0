package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
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
and the request retried once. Only MCP messages go to stdout.`,
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
	// Each token names the network to use (Token.Via); base is for tests
	// that inject a client, and otherwise goes direct.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = nil
	if e.HTTPClient != nil && e.HTTPClient.Transport != nil {
		base = e.HTTPClient.Transport.(*http.Transport).Clone()
	}
	// Bounded connect, TLS, idle reuse and dead-peer detection, but no
	// response-header timeout: an agent's tool call may think for minutes.
	mcpproxy.ConfigureTransport(base)
	tokens := &daemonTokens{e: e, profile: p.Name, serverURL: serverURL, viaSignIn: true}
	bridge := &mcpproxy.Bridge{
		ServerURL: serverURL,
		Log:       log,
		Transport: &mcpproxy.Transport{
			Base:    base,
			Tokens:  tokens,
			Advice:  func(err error) string { return adviceLine(daemonError(err, client.Request{Profile: p.Name})) },
			Log:     log,
			Profile: p.Name,
			Origin:  mcpproxy.Origin(serverURL),
		},
	}
	down, err := (&mcp.IOTransport{Reader: io.NopCloser(e.Stdin), Writer: nopWriteCloser{e.Stdout}}).Connect(ctx)
	if err != nil {
		return err
	}
	defer down.Close()
	log.Info("bridging", "profile", p.Name, "server", serverURL)
	return bridge.Run(ctx, down)
}

// signInWait is how long the bridge holds a request while a browser
// sign-in the daemon opened completes.
const signInWait = 120 * time.Second

// daemonTokens asks the daemon for the profile's token on every request.
type daemonTokens struct {
	e         *Env
	profile   string
	serverURL string // where the token goes; the daemon checks it too
	// viaSignIn sends each token over the network its sign-in was made
	// with, as the daemon reports it (the bridge), not the config's.
	viaSignIn bool
	// timeout bounds one exchange with the daemon, a refresh or a browser
	// sign-in included (default signInWait + 45 s).
	timeout time.Duration

	mu     sync.Mutex
	netKey string
	via    http.RoundTripper
}

func (d *daemonTokens) Token(ctx context.Context, refused string) (mcpproxy.Token, error) {
	// When Snowflake needs a new sign-in, the daemon opens it in the
	// browser (at a desktop) and holds this request until it completes,
	// so the user's call succeeds after one click.
	req := client.Request{Profile: d.profile, ServerURL: d.serverURL, WaitSignIn: signInWait,
		NoSignIn: d.e.Getenv("SFMCP_NO_AUTO_LOGIN") == "1"}
	timeout := d.timeout
	if timeout <= 0 {
		timeout = signInWait + 45*time.Second
	}
	tok, err := daemonToken(ctx, d.e, req, refused, timeout)
	if err != nil {
		return mcpproxy.Token{}, err
	}
	out := mcpproxy.Token{AccessToken: tok.AccessToken, Type: tok.TokenType}
	if d.viaSignIn && d.e.HTTPClient == nil {
		again := exitcode.LoginHint(d.profile)
		if tok.TokenType == config.TokenPAT {
			again = "rotate the PAT to record them: sfmcp-token pat rotate --manifest <its manifest> --yes"
		}
		if out.Via, err = d.transportFor(tok); err != nil {
			return mcpproxy.Token{}, withAdvice(err, exitcode.LoginRequired, again)
		}
		if !tok.NetworkRecorded {
			out.Via = netconf.Legacy(out.Via, again)
		}
	}
	return out, nil
}

// transportFor returns the transport for a sign-in's network, built once
// per distinct network.
func (d *daemonTokens) transportFor(tok apitype.TokenBody) (http.RoundTripper, error) {
	key := tok.CAFile + "\x00" + tok.CAFileSHA256 + "\x00" + tok.HTTPSProxy
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.via != nil && d.netKey == key {
		return d.via, nil
	}
	hc, err := netconf.Network{CAFile: tok.CAFile, CAFileSHA256: tok.CAFileSHA256, HTTPSProxy: tok.HTTPSProxy}.Client(netconf.NoEnvProxy)
	if err != nil {
		return nil, err
	}
	t := hc.Transport.(*http.Transport)
	mcpproxy.ConfigureTransport(t) // no response-header timeout: a tool call may think for minutes
	d.netKey, d.via = key, t
	return t, nil
}

// adviceLine renders an error and its next step as one sentence.
func adviceLine(err error) string {
	var adv *adviceError
	if errors.As(err, &adv) && adv.hint != "" {
		return adv.err.Error() + ". Next: " + adv.hint
	}
	return err.Error()
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
