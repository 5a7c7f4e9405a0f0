package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// MCPServerURL returns the endpoint of a Snowflake-managed MCP server:
// spec is DB.SCHEMA.NAME (parts may be "double quoted") on the profile's
// endpoint, or a full URL. Unquoted identifiers are upper-cased, as
// Snowflake resolves them; underscores in a Snowflake account host become
// hyphens, which MCP clients need.
func MCPServerURL(ep Endpoint, spec string) (string, error) {
	spec = strings.TrimSpace(spec)
	if strings.Contains(spec, "://") {
		u, err := url.Parse(spec)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("MCP server %q is not a valid URL", spec)
		}
		host, err := NormalizeAccount(u.Scheme + "://" + strings.ReplaceAll(u.Host, "_", "-"))
		if err != nil {
			return "", fmt.Errorf("MCP server %q: %w", spec, err)
		}
		if !strings.Contains(u.Path, "/mcp-servers/") {
			return "", fmt.Errorf("%q is not an MCP server URL (…/api/v2/databases/DB/schemas/SCHEMA/mcp-servers/NAME)", spec)
		}
		u.Scheme, u.Host = host.Scheme, host.Host
		return u.String(), nil
	}
	parts, err := ident.Parse(spec)
	if err != nil || len(parts) != 3 {
		return "", fmt.Errorf("MCP server %q: give DATABASE.SCHEMA.SERVER (e.g. DB.PUBLIC.GONG_MCP) or the server's full URL", spec)
	}
	return fmt.Sprintf("%s/api/v2/databases/%s/schemas/%s/mcp-servers/%s", ep.URL(),
		url.PathEscape(parts[0]), url.PathEscape(parts[1]), url.PathEscape(parts[2])), nil
}

// MCPServerAddress is a Snowflake-managed MCP server's URL taken apart.
type MCPServerAddress struct {
	URL      string   // as MCPServerURL writes it
	Endpoint Endpoint // the account's
	// Server is DATABASE.SCHEMA.NAME, each part quoted where it must be
	// for MCPServerURL to give URL back.
	Server string
}

// ParseMCPServerURL takes the URL of a Snowflake-managed MCP server apart:
// https (http only to a loopback address), the path
// /api/v2/databases/DB/schemas/SCHEMA/mcp-servers/NAME, no query,
// fragment or user info.
func ParseMCPServerURL(raw string) (MCPServerAddress, error) {
	bad := fmt.Errorf("%q is not an MCP server URL (https://ORGNAME-ACCOUNTNAME.snowflakecomputing.com/api/v2/databases/DB/schemas/SCHEMA/mcp-servers/NAME)", truncate(raw, 200))
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return MCPServerAddress{}, bad
	}
	ep, err := NormalizeAccount(u.Scheme + "://" + strings.ReplaceAll(u.Host, "_", "-"))
	if err != nil {
		return MCPServerAddress{}, fmt.Errorf("MCP server %q: %w", truncate(raw, 200), err)
	}
	seg := strings.Split(strings.TrimSuffix(u.EscapedPath(), "/"), "/")
	if len(seg) != 9 || seg[0] != "" || seg[1] != "api" || seg[2] != "v2" || seg[3] != "databases" || seg[5] != "schemas" || seg[7] != "mcp-servers" {
		return MCPServerAddress{}, bad
	}
	var names []string
	for _, s := range []string{seg[4], seg[6], seg[8]} {
		name, err := url.PathUnescape(s)
		if err == nil {
			err = ident.Check(name)
		}
		if err != nil {
			return MCPServerAddress{}, fmt.Errorf("MCP server %q: %v", truncate(raw, 200), err)
		}
		names = append(names, name)
	}
	a := MCPServerAddress{Endpoint: ep, Server: ident.Join(names...)}
	if a.URL, err = MCPServerURL(ep, a.Server); err != nil {
		return MCPServerAddress{}, err
	}
	return a, nil
}

// OnHost is p on the server's host: p as it is when its account or host
// names that host (a token goes only to its profile's own host: another is
// an error), else with the server's account or host.
func (a MCPServerAddress) OnHost(p Profile) (Profile, error) {
	if p.Account != "" || p.Host != "" {
		return p, p.CheckServerURL(a.URL)
	}
	h := a.Endpoint.Host
	switch {
	case a.Endpoint.Scheme == "https" && a.Endpoint.SnowflakeHost():
		p.Account = h
		// The short form where it names the same host: myorg-myaccount.
		if short, ok := strings.CutSuffix(h, defaultDomain); ok {
			if ep, err := NormalizeAccount(short); err == nil && ep == a.Endpoint {
				p.Account = short
			}
		}
	case a.Endpoint.Scheme == "https":
		p.Host = h
	default:
		p.Host = a.Endpoint.URL()
	}
	return p, nil
}
