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
