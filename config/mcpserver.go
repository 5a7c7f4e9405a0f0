package config

import (
	"fmt"
	"net/url"
	"strings"
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
			return "", fmt.Errorf("--server %q is not a valid URL", spec)
		}
		host, err := NormalizeAccount(u.Scheme + "://" + strings.ReplaceAll(u.Host, "_", "-"))
		if err != nil {
			return "", fmt.Errorf("--server %q: %w", spec, err)
		}
		if !strings.Contains(u.Path, "/mcp-servers/") {
			return "", fmt.Errorf("--server %q is not an MCP server URL (…/api/v2/databases/DB/schemas/SCHEMA/mcp-servers/NAME)", spec)
		}
		u.Scheme, u.Host = host.Scheme, host.Host
		return u.String(), nil
	}
	parts, err := splitIdentifier(spec)
	if err != nil || len(parts) != 3 {
		return "", fmt.Errorf("--server %q: give DATABASE.SCHEMA.SERVER (e.g. DB.PUBLIC.GONG_MCP) or the server's full URL", spec)
	}
	return fmt.Sprintf("%s/api/v2/databases/%s/schemas/%s/mcp-servers/%s", ep.URL(),
		url.PathEscape(parts[0]), url.PathEscape(parts[1]), url.PathEscape(parts[2])), nil
}

// splitIdentifier splits a dotted Snowflake name, honouring "quoted parts"
// ("" is a literal quote) and upper-casing unquoted ones.
func splitIdentifier(s string) ([]string, error) {
	var parts []string
	for len(s) > 0 {
		var part string
		if s[0] == '"' {
			i := 1
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated quote")
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					break
				}
				b.WriteByte(s[i])
				i++
			}
			part, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, '.')
			if end < 0 {
				end = len(s)
			}
			part, s = s[:end], s[end:]
			if !PlainIdentifier(part) {
				return nil, fmt.Errorf("%q is not a plain identifier; quote it", part)
			}
			part = strings.ToUpper(part)
		}
		if part == "" {
			return nil, fmt.Errorf("empty name")
		}
		parts = append(parts, part)
		if s == "" {
			break
		}
		if s[0] != '.' {
			return nil, fmt.Errorf("expected '.'")
		}
		s = s[1:]
		if s == "" {
			return nil, fmt.Errorf("trailing '.'")
		}
	}
	return parts, nil
}
