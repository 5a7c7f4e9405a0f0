package mcpclients

import (
	"encoding/json"
	"strings"
	"testing"
)

// What sfmcp writes it recognises again, exactly; anything else is not
// taken for its own.
func TestEntriesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want Ours
	}{
		{Spec{Bin: "/usr/local/bin/sfmcp-token", Profile: "prod", Mode: Proxy, Server: "DB.PUBLIC.GONG_MCP"}, Ours{Mode: Proxy, Profile: "prod", Server: "DB.PUBLIC.GONG_MCP"}},
		{Spec{Bin: "/opt/my tools/sfmcp-token", Profile: "it's", Mode: Headers, URL: "https://a.snowflakecomputing.com/x"}, Ours{Mode: Headers, Profile: "it's", URL: "https://a.snowflakecomputing.com/x"}},
	} {
		raw := c.spec.claudeJSON()
		got, ok := ParseEntry(json.RawMessage(raw)).Ours()
		if !ok || got != c.want {
			t.Errorf("%s: parsed %+v %v, want %+v", raw, got, ok, c.want)
		}
	}
	for raw, want := range map[string]Ours{
		`{"type":"stdio","command":"/home/me/go/bin/sfmcp-token-full","args":["mcp-proxy","--profile=prod","-server","D.S.M"]}`: {Mode: Proxy, Profile: "prod", Server: "D.S.M"},
		`{"type":"http","url":"https://u","headersHelper":"sfmcp-token headers --profile a --profile b"}`:                       {Mode: Headers, Profile: "b", URL: "https://u"},
		`{"type":"local","command":["/usr/bin/sfmcp-token","mcp-proxy","--profile","p","--server","D.S.M"],"enabled":true}`:     {Mode: Proxy, Profile: "p", Server: "D.S.M"},
	} {
		if got, ok := ParseEntry(json.RawMessage(raw)).Ours(); !ok || got != want {
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
		if got, ok := ParseEntry(json.RawMessage(raw)).Ours(); ok {
			t.Errorf("%s taken for sfmcp's: %+v", raw, got)
		}
	}
}

// The header command is one the shell runs as written: the binary and
// the profile stay one word each, whatever they hold.
func TestSpecHelper(t *testing.T) {
	s := Spec{Bin: "/opt/my tools/sfmcp-token", Profile: "$(id)", Mode: Headers}
	if got, want := s.Helper(), `'/opt/my tools/sfmcp-token' headers --profile '$(id)'`; got != want {
		t.Fatalf("Helper() = %s, want %s", got, want)
	}
	if got := strings.Join(Spec{Bin: "b", Profile: "p", Server: "D.S.M"}.Args(), " "); got != "mcp-proxy --profile p --server D.S.M" {
		t.Fatalf("Args() = %s", got)
	}
}

// FuzzHeadersEntry: an entry sfmcp writes in headers mode is recognised
// with the profile and URL it was written with, whatever they hold; and
// no entry, however odd, makes recognition panic.
func FuzzHeadersEntry(f *testing.F) {
	for _, s := range []string{"prod", "it's", "$(id)", "a b", "\\", "\x00\xff", "--profile", ""} {
		f.Add(s, "sfmcp-token headers --profile prod")
	}
	f.Fuzz(func(t *testing.T, s, line string) {
		spec := Spec{Bin: "/opt/" + s + "/sfmcp-token", Profile: s, Mode: Headers, URL: "https://x/" + s}
		e := Entry{URL: spec.URL, Helper: spec.Helper()}
		if got, ok := e.Ours(); !ok || got.Mode != Headers || got.Profile != s || got.URL != spec.URL {
			t.Fatalf("a headers entry for %q wrote %q, recognised as %+v (%v)", s, e.Helper, got, ok)
		}
		Entry{Command: line, Args: strings.Fields(s), URL: s, Helper: line}.Ours()
	})
}
