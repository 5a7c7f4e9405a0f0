package mcpjson

import (
	"encoding/json"
	"testing"
)

// What sfmcp writes it recognises again, exactly; anything else is not
// taken for its own.
func TestEntriesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		entry any
		want  Ours
	}{
		{NewProxyEntry("/usr/local/bin/sfmcp-token", "prod", "DB.PUBLIC.GONG_MCP"), Ours{Mode: "proxy", Profile: "prod", Server: "DB.PUBLIC.GONG_MCP"}},
		{NewHeadersEntry("/opt/my tools/sfmcp-token", "https://a.snowflakecomputing.com/x", "it's"), Ours{Mode: "headers", Profile: "it's", URL: "https://a.snowflakecomputing.com/x"}},
	} {
		raw, _ := json.Marshal(c.entry)
		got, ok := Parse(raw)
		if !ok || got != c.want {
			t.Errorf("%s: parsed %+v %v, want %+v", raw, got, ok, c.want)
		}
	}
	for raw, want := range map[string]Ours{
		`{"type":"stdio","command":"/home/me/go/bin/sfmcp-token-full","args":["mcp-proxy","--profile=prod","-server","D.S.M"]}`: {Mode: "proxy", Profile: "prod", Server: "D.S.M"},
		`{"type":"http","url":"https://u","headersHelper":"sfmcp-token headers --profile a --profile b"}`:                       {Mode: "headers", Profile: "b", URL: "https://u"},
	} {
		if got, ok := Parse(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("%s: %+v %v, want %+v", raw, got, ok, want)
		}
	}
	for _, raw := range []string{
		`{"type":"http","url":"https://x","headersHelper":"sfmcp-token headers \\\nrm"}`,
		`{"type":"http","url":"https://x","headersHelper":"curl -s https://x"}`,
		`{"type":"stdio","command":"npx","args":["mcp-remote","https://x"]}`,
		`{"type":"stdio","command":"/bin/sfmcp-token-evil","args":["mcp-proxy"]}`,
		`{"type":"http","url":"https://x","headersHelper":"sfmcp-token headers --profile $(id)"}`,
		`not json`,
	} {
		if got, ok := Parse(json.RawMessage(raw)); ok {
			t.Errorf("%s taken for sfmcp's: %+v", raw, got)
		}
	}
}
