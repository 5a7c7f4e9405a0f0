package config

import (
	"errors"
	"testing"
)

// An MCP server's URL comes apart into its account's endpoint and a name
// that gives the same URL back; anything else is refused.
func TestParseMCPServerURL(t *testing.T) {
	for raw, want := range map[string]MCPServerAddress{
		"https://myorg-my_acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP": {
			URL:      "https://myorg-my-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP",
			Endpoint: Endpoint{"https", "myorg-my-acct.snowflakecomputing.com"}, Server: "DB.PUBLIC.GONG_MCP"},
		"https://MYORG-ACCT.snowflakecomputing.com/api/v2/databases/db/schemas/My%20S/mcp-servers/x.y/": {
			URL:      "https://myorg-acct.snowflakecomputing.com/api/v2/databases/db/schemas/My%20S/mcp-servers/x.y",
			Endpoint: Endpoint{"https", "myorg-acct.snowflakecomputing.com"}, Server: `"db"."My S"."x.y"`},
		"http://127.0.0.1:8080/api/v2/databases/DB/schemas/S/mcp-servers/N": {
			URL: "http://127.0.0.1:8080/api/v2/databases/DB/schemas/S/mcp-servers/N", Endpoint: Endpoint{"http", "127.0.0.1:8080"}, Server: "DB.S.N"},
	} {
		got, err := ParseMCPServerURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseMCPServerURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
		if back, _ := MCPServerURL(got.Endpoint, got.Server); back != got.URL {
			t.Errorf("%s: the name gives back %s", got.Server, back)
		}
	}
	for _, bad := range []string{
		"DB.PUBLIC.X",
		"http://example.com/api/v2/databases/D/schemas/S/mcp-servers/N",
		"http://localhost:8080/api/v2/databases/D/schemas/S/mcp-servers/N",
		"https://myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S/mcp-servers/N?x=1",
		"https://myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S/mcp-servers/N#f",
		"https://u:p@myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S/mcp-servers/N",
		"https://myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S/mcp-servers/N/tools",
		"https://myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S/agents/N",
		"https://myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S%01/mcp-servers/N",
	} {
		if got, err := ParseMCPServerURL(bad); err == nil {
			t.Errorf("ParseMCPServerURL(%q) = %+v, want an error", bad, got)
		}
	}
}

// A profile for a server is on the server's host: one that names another
// host is refused, and one that names none takes the server's.
func TestMCPServerAddressOnHost(t *testing.T) {
	sf, _ := ParseMCPServerURL("https://myorg-acct.snowflakecomputing.com/api/v2/databases/D/schemas/S/mcp-servers/N")
	local, _ := ParseMCPServerURL("https://127.0.0.1:8443/api/v2/databases/D/schemas/S/mcp-servers/N")
	plain, _ := ParseMCPServerURL("http://127.0.0.1:8080/api/v2/databases/D/schemas/S/mcp-servers/N")
	for _, tc := range []struct {
		a             MCPServerAddress
		in            Profile
		account, host string
		mismatch      bool
	}{
		{sf, Profile{}, "myorg-acct", "", false},
		{sf, Profile{Account: "myorg_acct"}, "myorg_acct", "", false},
		{sf, Profile{Account: "myorg-other"}, "", "", true},
		{sf, Profile{Account: "myorg-acct", Host: "myorg-acct.privatelink.snowflakecomputing.com"}, "", "", true},
		{local, Profile{}, "", "127.0.0.1:8443", false},
		{local, Profile{Account: "myorg-acct", Host: "127.0.0.1:8443"}, "myorg-acct", "127.0.0.1:8443", false},
		{plain, Profile{}, "", "http://127.0.0.1:8080", false},
	} {
		tc.in.Name = "p"
		p, err := tc.a.OnHost(tc.in)
		if tc.mismatch {
			if !errors.Is(err, ErrHostMismatch) {
				t.Errorf("%+v on %s: %v; want a host mismatch", tc.in, tc.a.URL, err)
			}
			continue
		}
		if err != nil || p.Account != tc.account || p.Host != tc.host || p.CheckServerURL(tc.a.URL) != nil {
			t.Errorf("%+v on %s: account %q, host %q, %v", tc.in, tc.a.URL, p.Account, p.Host, err)
		}
	}
}
