package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/keychain"
)

// Prober is the daemon's MCP probe (Options.Probe): it asks an MCP server
// whether it takes a token, over the network the token's sign-in was made
// with (the environment's proxy allowed where it names none, as for the
// daemon's refreshes). One HTTP client per network is kept, so a client's
// reconnects reuse a warm connection instead of a new TLS handshake inside
// the helper's 10 s.
type Prober struct {
	// HTTPClient, when set, carries every probe (tests); nil builds one
	// per sign-in network.
	HTTPClient *http.Client

	mu      sync.Mutex
	clients map[netconf.Network]*http.Client
}

// Refused reports whether the MCP server at serverURL refuses t (a 401).
func (pr *Prober) Refused(ctx context.Context, _ config.Profile, cred keychain.Credential, serverURL string, t Token) (bool, error) {
	hc, err := pr.client(netconf.Of(cred))
	if err != nil {
		return false, err
	}
	return refusedBy(ctx, hc, serverURL, t)
}

// client returns the HTTP client for network n, built once.
func (pr *Prober) client(n netconf.Network) (*http.Client, error) {
	if pr.HTTPClient != nil {
		return pr.HTTPClient, nil
	}
	pr.mu.Lock()
	hc := pr.clients[n]
	pr.mu.Unlock()
	if hc != nil {
		return hc, nil
	}
	hc, err := n.Client(netconf.WithEnvProxy)
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.clients == nil {
		pr.clients = map[netconf.Network]*http.Client{}
	}
	pr.clients[n] = hc
	return hc, nil
}

// refusedBy asks the MCP server whether it takes t, with the cheapest
// request Snowflake's MCP servers answer (tools/list): only a 401 is a
// refusal. Redirects are not followed (the token stays on serverURL), and
// the answer is drained, not read.
func refusedBy(ctx context.Context, hc *http.Client, serverURL string, t Token) (bool, error) {
	body := strings.NewReader(`{"jsonrpc":"2.0","id":"sfmcp-token-check","method":"tools/list","params":{}}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverURL, body)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+t.AccessToken)
	req.Header.Set("X-Snowflake-Authorization-Token-Type", t.TokenType)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("check the token at the MCP server: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode == http.StatusUnauthorized, nil
}
