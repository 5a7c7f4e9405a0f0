package mcpbridge

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
	"github.com/sfmcp/sfmcp/internal/netconf"
)

// SignInWait is how long the daemon may hold a request of the bridge while
// a browser sign-in it opened completes.
const SignInWait = 120 * time.Second

// Tokens is the bridge's token source: it asks the daemon for the
// profile's token on every request, so a token never outlives the
// daemon's view of it.
type Tokens struct {
	// Daemon says how to find the daemon, or start one; its Timeout is
	// Tokens.Timeout.
	Daemon    client.Options
	Profile   string
	ServerURL string // where the token goes; the daemon checks it too
	// NoSignIn asks the daemon not to open a browser sign-in
	// (SFMCP_NO_AUTO_LOGIN=1 in the MCP client's entry).
	NoSignIn bool
	// ViaSignIn sends each token over the network its sign-in was made
	// with, as the daemon reports it (the bridge), not the config's: the
	// bridge's environment and config are an MCP client entry's. Off,
	// requests go over the transport's Base.
	ViaSignIn bool
	// Timeout bounds one exchange with the daemon, a refresh or a browser
	// sign-in included (default SignInWait + 45 s).
	Timeout time.Duration

	mu  sync.Mutex
	net netconf.Network // the network via was built for
	via http.RoundTripper
}

// Token asks the daemon for the profile's token; refused is a token the
// server just rejected, which the daemon then renews.
func (t *Tokens) Token(ctx context.Context, refused string) (mcpproxy.Token, error) {
	// When Snowflake needs a new sign-in, the daemon opens it in the
	// browser (at a desktop) and holds this request until it completes,
	// so the user's call succeeds after one click.
	req := client.Request{Profile: t.Profile, ServerURL: t.ServerURL, WaitSignIn: SignInWait, NoSignIn: t.NoSignIn}
	if refused != "" {
		req.Refused = daemon.Fingerprint(refused) // never the token itself
	}
	o := t.Daemon
	o.Timeout = t.Timeout
	if o.Timeout <= 0 {
		o.Timeout = SignInWait + 45*time.Second
	}
	c, err := client.Connect(ctx, o)
	if err != nil {
		return mcpproxy.Token{}, err
	}
	tok, err := c.Token(ctx, req)
	if err != nil {
		return mcpproxy.Token{}, err
	}
	out := mcpproxy.Token{AccessToken: tok.AccessToken, Type: tok.TokenType}
	if !t.ViaSignIn {
		return out, nil
	}
	if out.Via, err = t.transportFor(networkOf(tok)); err != nil {
		return mcpproxy.Token{}, err
	}
	if !tok.NetworkRecorded {
		out.Via = netconf.Legacy(out.Via, signInAgain(t.Profile, tok.TokenType))
	}
	return out, nil
}

// networkOf is the network the daemon says tok's sign-in was made with.
func networkOf(tok apitype.TokenBody) netconf.Network {
	return netconf.Network{CAFile: tok.CAFile, CAFileSHA256: tok.CAFileSHA256, HTTPSProxy: tok.HTTPSProxy}
}

// signInAgain is how a sign-in made before sfmcp recorded its network gets
// one recorded.
func signInAgain(profile, tokenType string) string {
	if tokenType == config.TokenPAT {
		return "rotate the PAT to record them: sfmcp-token pat rotate --manifest <its manifest> --yes"
	}
	return exitcode.LoginHint(profile)
}

// transportFor returns the transport for a sign-in's network, built once
// per distinct network: a session's requests reuse its connections.
func (t *Tokens) transportFor(n netconf.Network) (http.RoundTripper, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.via != nil && t.net == n {
		return t.via, nil
	}
	hc, err := n.Client(netconf.NoEnvProxy)
	if err != nil {
		return nil, err
	}
	tr := hc.Transport.(*http.Transport)
	mcpproxy.ConfigureTransport(tr) // no response-header timeout: a tool call may think for minutes
	t.net, t.via = n, tr
	return tr, nil
}
