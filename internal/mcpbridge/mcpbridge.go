// Package mcpbridge is the MCP bridge as sfmcp runs it (mcp-proxy):
// mcpproxy's relay, with the profile's token asked of the daemon on every
// request, and each token sent over the network its sign-in was made
// with, never the environment's. When the server refuses a renewed token,
// and only then, its metadata says whether it takes its tokens from
// another authorization server now (BindingAdvice). It never logs a token
// and never prints: the caller words what the MCP client's user is told
// (Options.Advice).
package mcpbridge

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sfmcp/sfmcp/internal/mcpproxy"
)

// Options are one bridge's parts.
type Options struct {
	// Tokens gives the profile's token for its MCP server
	// (Tokens.ServerURL), the one server the bridge talks to.
	Tokens *Tokens
	// Base carries requests whose token names no network (Tokens.ViaSignIn
	// off: tests); nil goes direct, without a proxy. It is cloned.
	Base *http.Transport
	Log  *slog.Logger
	// Advice words a failure to get a token for the MCP client's user.
	Advice mcpproxy.Advice
	// Refused says why the server refused a renewed token
	// (BindingAdvice); nil keeps the usual advice.
	Refused func(ctx context.Context, wwwAuthenticate []string, via http.RoundTripper) string
}

// New is the bridge o describes.
func New(o Options) *mcpproxy.Bridge {
	var base *http.Transport
	if o.Base != nil {
		base = o.Base.Clone()
	} else {
		base = http.DefaultTransport.(*http.Transport).Clone()
		base.Proxy = nil
	}
	// Bounded connect, TLS, idle reuse and dead-peer detection, but no
	// response-header timeout: an agent's tool call may think for minutes.
	mcpproxy.ConfigureTransport(base)
	server := o.Tokens.ServerURL
	return &mcpproxy.Bridge{
		ServerURL: server,
		Log:       o.Log,
		Transport: &mcpproxy.Transport{
			Base:    base,
			Tokens:  o.Tokens,
			Advice:  o.Advice,
			Log:     o.Log,
			Profile: o.Tokens.Profile,
			Origin:  mcpproxy.Origin(server),
			Refused: o.Refused,
		},
	}
}

// Run bridges the MCP client on in and out (stdio: only MCP messages go
// to out) to the bridge o describes, until the client closes its side or
// ctx ends.
func Run(ctx context.Context, o Options, in io.Reader, out io.Writer) error {
	b := New(o)
	down, err := (&mcp.IOTransport{Reader: io.NopCloser(in), Writer: nopWriteCloser{out}}).Connect(ctx)
	if err != nil {
		return err
	}
	defer down.Close()
	b.Log.Info("bridging", "profile", o.Tokens.Profile, "server", b.ServerURL)
	return b.Run(ctx, down)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
