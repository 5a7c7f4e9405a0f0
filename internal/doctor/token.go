package doctor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
	"github.com/sfmcp/sfmcp/internal/version"
)

// The checks that use a token: getting one from the daemon, and the MCP
// servers it is for.

// checkToken asks the daemon for a token, which refreshes if needed.
func (r *runner) checkToken() bool {
	const name = "access token (refresh works)"
	if err := r.o.Token(r.ctx, r.profile.Name); err != nil {
		code, advice := tokenAdvice(err, r.profile.Name)
		if code == apitype.CodeUnavailable && r.skipped(name) {
			return false // the daemon could not reach the host either
		}
		return r.add(Check{Name: name, Detail: err.Error(), Code: code, Advice: advice})
	}
	return r.add(Check{Name: name, OK: true, Detail: "profile " + r.profile.Name})
}

// tokenAdvice is the code and next step of a failure to get a token, as
// every command advises it, with what Snowflake's token endpoint said: the
// daemon passes its error and advice on as fields
// (oauth.TokenError.Advice).
func tokenAdvice(err error, profile string) (code, advice string) {
	code = client.CodeOf(err)
	if p := errcode.ProfileOf(err); p != "" {
		profile = p
	}
	advice = hint(code, profile)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Advice != "" {
		said := ce.OAuthError
		if ce.SnowflakeCode != "" {
			said += " " + ce.SnowflakeCode
		}
		advice += " — Snowflake said " + strings.TrimSpace(said) + ": " + ce.Advice + "."
	}
	return code, strings.TrimPrefix(advice, " — ")
}

// mcpServerAdvice is the next step when an MCP server check fails: the
// bridge's transport answers a missing or refused token with its own
// JSON-RPC error code, anything else is most often a missing grant.
func mcpServerAdvice(err error, profile string) (code, advice string) {
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) && rpcErr.Code == mcpproxy.CodeUnauthorized {
		return apitype.CodeLoginRequired, "sign in again: " + loginCommand(profile)
	}
	return "", "the role may lack USAGE on the MCP server (GRANT USAGE ON MCP SERVER … TO ROLE …), or the user has no default warehouse"
}

// ListTools connects to the MCP server at url with the official Go SDK
// client over rt (the bridge's transport, which adds the token) and
// counts the tools it lists.
func ListTools(ctx context.Context, url string, rt http.RoundTripper) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "sfmcp-doctor", Version: version.String()}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: rt}, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	res, err := s.ListTools(ctx, nil)
	if err != nil {
		return 0, err
	}
	return len(res.Tools), nil
}
