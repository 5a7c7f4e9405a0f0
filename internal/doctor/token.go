package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/mcpjson"
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

// checkMCPServers runs initialize + tools/list on each server of the MCP
// file that uses this profile, with the official Go SDK client.
func (r *runner) checkMCPServers(path string) {
	names, entries, err := loadEntries(path)
	if err != nil {
		r.add(Check{Name: "MCP configuration", Detail: err.Error(), Advice: "fix " + path})
		return
	}
	checked := 0
	for _, n := range names {
		url, ok := r.serverURL(entries[n])
		if !ok {
			continue
		}
		checked++
		// A cloned repo's .mcp.json is not the user's word: probe only
		// servers on the profile's own host, and say which were skipped.
		if err := r.profile.CheckServerURL(url); err != nil {
			code := apitype.CodeHostMismatch
			r.add(Check{Name: fmt.Sprintf("MCP server %s skipped", n), Detail: err.Error(), Code: code,
				Advice: "no token goes there; if " + path + " came with a project, remove or fix that entry (" + hint(code, r.profile.Name) + ")"})
			continue
		}
		tools, err := ListTools(r.ctx, url, r.o.Bridge(r.profile.Name, url))
		c := Check{Name: fmt.Sprintf("MCP server %s answers initialize + tools/list", n), OK: err == nil, Detail: fmt.Sprintf("%d tools", tools) + errSuffix(err)}
		c.Code, c.Advice = mcpServerAdvice(err, r.profile.Name)
		if c.Code == apitype.CodeLoginRequired {
			// Refused: the server may take its tokens from elsewhere now.
			if moved := r.binding(url); moved != nil {
				c.Code, c.Advice = "", moved.Error()+"; "+moved.Hint()
			}
		}
		r.add(c)
	}
	if checked == 0 {
		r.add(Check{Name: "MCP servers configured", OK: true, Detail: "none in " + path + " use profile " + r.profile.Name})
	}
}

// binding is what the MCP server's metadata says after it refused the
// profile's token: that it takes its tokens from another authorization
// server now, or nil when that is not so or cannot be read.
func (r *runner) binding(url string) *idp.BindingChangedError {
	ctx, cancel := context.WithTimeout(r.ctx, 15*time.Second)
	defer cancel()
	var moved *idp.BindingChangedError
	if errors.As(idp.CheckBinding(ctx, r.httpClient(), r.profile, url, nil), &moved) {
		return moved
	}
	return nil
}

func loadEntries(path string) ([]string, map[string]json.RawMessage, error) {
	f, err := mcpjson.Load(path)
	if err != nil {
		return nil, nil, err
	}
	return f.Entries()
}

// serverURL finds the MCP URL of an sfmcp entry using this profile.
func (r *runner) serverURL(raw json.RawMessage) (string, bool) {
	ours, ok := mcpclients.ParseEntry(raw).Ours()
	if !ok || ours.Profile != r.profile.Name {
		return "", false
	}
	if ours.Mode == "headers" {
		return ours.URL, true
	}
	u, err := config.MCPServerURL(r.ep, ours.Server)
	return u, err == nil
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
