package mcpclients

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// realistic Codex config.toml files, and ones that try the editor's
// reading of headers and strings.
var codexSeeds = []string{
	"",
	"# only a comment, no newline at the end",
	`# Codex configuration
model = "gpt-5-codex"
model_provider = "openai"
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[sandbox_workspace_write]
network_access = false
writable_roots = ["/home/me/.cache", 'C:\tmp']

[model_providers.azure]
name = "Azure"
base_url = "https://example.openai.azure.com/openai"
env_key = "AZURE_OPENAI_API_KEY"
query_params = { api-version = "2025-04-01-preview" }

[mcp_servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]
env = { GITHUB_TOKEN = "x" }
startup_timeout_sec = 20
tool_timeout_sec = 60.5

[mcp_servers."a.b"] # a dotted name
url = "https://mcp.example.com/mcp"
bearer_token_env_var = "TOKEN"

[mcp_servers.snowflake]
command = "/usr/local/bin/sfmcp-token"
args = ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"]
enabled = false

[mcp_servers.snowflake.env]
SFMCP_LOG = "debug"

[profiles.fast]
model = "o4-mini"

[[notify_hooks]]
cmd = "x"

[[notify_hooks]]
cmd = "y"

[tui]
notifications = true

[projects."/home/me/[work]/repo"]
trust_level = "trusted"
`,
	`instructions = """
[mcp_servers.snowflake]
command = "not a server"
"""
notes = '''
[mcp_servers.snowflake]
'''
[mcp_servers.snowflake]
command = "old"
description = """one ''' two"""
`,
	"mcp_servers.snowflake.command = \"x\"\n",
	"mcp_servers = { snowflake = { command = \"x\" }, other = { url = \"https://x\" } }\n",
	"[mcp_servers]\nsnowflake = { command = \"x\" }\n\n[mcp_servers.github]\ncommand = \"gh\"\n",
	"model = \"o3\"\r\n\r\n[mcp_servers.snowflake]\r\ncommand = \"x\"\r\n\r\n[other]\r\nk = 1\r\n",
	"[ mcp_servers . snowflake ]  # spaced\ncommand = \"a\"\n[mcp_servers.'snowflake'.env]\nA = \"1\"\n[mcp_servers.\"\\u0073nowflake\".x]\nB = 2\n",
	"[mcp_servers.snowflake]\nurl = \"https://old\"\nhttp_headers_helper = \"old\"\nenabled = true\nenv_vars = [\"A\"]\n",
	"[mcp_servers.snowflake]\ncommand = \"x\"\n[[mcp_servers.snowflake.tools]]\nname = \"t\"\n",
	"[mcp_servers.\"snow flake\"]\ncommand = \"x\"\n[mcp_servers.\"\"]\ncommand = \"empty\"\n[mcp_servers.\"é\"]\ncommand = \"e\"\n",
	"when = 1979-05-27T07:32:00-07:00\nday = 1979-05-27\nat = 07:32:00.999\nn = nan\ni = -inf\nx = 0x1F\nbig = 9_223_372_036_854_775_807\n[mcp_servers.snowflake]\ncommand = \"x\"\nf = -0.0\n",
	"[a]\nx = [[1, 2], [\"a\"]]\ny = { z = { w = [ { v = 1 } ] } }\n[mcp_servers.snowflake]\ncommand = \"x\"\n",
	"[mcp_servers.snowflake]\ncommand = \"x\"\n# trailing comment\n\n# before next\n[next]\nk = 'v'\n",
	"[mcp_servers.snowflake]\ncommand = \"x\"", // no final newline
	"key = \"\"\"a\\\"\"\"\"\n[mcp_servers.snowflake]\ncommand = \"x\"\n",
	"[mcp_servers.snowflake]\ncommand = \"x\"\n[mcp_servers]\ngithub = { command = \"gh\" }\n",
}

// FuzzCodexTOML: whatever Codex's config.toml holds, adding, replacing or
// removing a server either fails, changing nothing, or leaves a file that
// BurntSushi/toml decodes to the old document with that server exactly as
// intended: new keys as given (a server of the same kind keeping the
// user's other keys and an "enabled" they chose), or gone. A removal only
// deletes lines; the file's line endings stay as they were.
func FuzzCodexTOML(f *testing.F) {
	for _, s := range codexSeeds {
		for op, name := range []string{"snowflake", "a.b", "snow flake", "github"} {
			f.Add([]byte(s), name, uint8(op), "/usr/local/bin/sfmcp-token")
		}
	}
	f.Add([]byte(codexSeeds[2]), "", uint8(0), "")
	f.Add([]byte(codexSeeds[2]), `"]`, uint8(1), "a\"\nb\\u0000\r\t'''")
	f.Add([]byte(codexSeeds[2]), "\x00\xff", uint8(0), "é")
	// One file per worker process, rewritten for each input (a directory
	// for each would cost more than the edit).
	path := filepath.Join(f.TempDir(), "config.toml")
	f.Fuzz(func(t *testing.T, data []byte, name string, op uint8, value string) {
		if len(data) > 64<<10 {
			return // the parsers recurse; a deep nest is the reader's to refuse
		}
		var before map[string]any
		_, decodeErr := toml.Decode(string(data), &before)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tf, err := loadTOML(path, "mcp_servers", false)
		if err != nil {
			return
		}
		if decodeErr != nil {
			t.Fatalf("loaded a file that is not TOML (%v):\n%s", decodeErr, data)
		}
		if got := strings.Join(tf.lines, ""); got != string(data) {
			t.Fatalf("read as %q, not as written", got)
		}
		want := cloneTOML(before)
		servers, _ := want["mcp_servers"].(map[string]any)
		var keys []tomlKey
		switch op % 3 {
		case 0:
			keys = []tomlKey{{"command", value}, {"args", []string{"mcp-proxy", "--profile", value}}}
		case 1:
			keys = []tomlKey{{"url", value}, {"http_headers_helper", "sfmcp-token headers --profile " + value}}
		}
		if keys != nil {
			err = tf.Set(name, keys)
			if servers == nil {
				servers = map[string]any{}
				want["mcp_servers"] = servers
			}
			// A server of the same kind (HTTP has a url) keeps its keys.
			entry := map[string]any{}
			old, ok := servers[name].(map[string]any)
			if _, oldURL := old["url"]; ok && oldURL == (op%3 == 1) {
				entry = old
			}
			for _, k := range keys {
				if _, chosen := entry[k.name]; k.name == "enabled" && chosen {
					continue
				}
				entry[k.name] = k.value
				if args, ok := k.value.([]string); ok {
					entry[k.name] = anySlice(args)
				}
			}
			servers[name] = entry
		} else {
			var removed bool
			removed, err = tf.Remove(name)
			_, had := servers[name]
			if err == nil && removed != had {
				t.Fatalf("remove(%q) = %v, but the server was there: %v\n%s", name, removed, had, data)
			}
			delete(servers, name)
		}
		if err != nil {
			if got := strings.Join(tf.lines, ""); got != string(data) {
				t.Fatalf("the edit failed (%v) yet changed the file to\n%s", err, got)
			}
			return
		}
		out := strings.Join(tf.lines, "") // what Save writes
		var after map[string]any
		if _, err := toml.Decode(out, &after); err != nil {
			t.Fatalf("op %d on %q left a file that is not TOML (%v):\n%s\nwas:\n%s", op%3, name, err, out, data)
		}
		// An [mcp_servers] left with no server is as good as none.
		for _, m := range []map[string]any{after, want} {
			if s, ok := m["mcp_servers"].(map[string]any); ok && len(s) == 0 {
				delete(m, "mcp_servers")
			}
		}
		if !sameTOML(after, want) {
			t.Fatalf("op %d on %q with %q:\n%s\nreads as %#v\nwant %#v\nwas:\n%s", op%3, name, value, out, after, want, data)
		}
		if keys == nil && !subsequence(lines(out), lines(string(data))) {
			t.Fatalf("remove(%q) did more than delete lines:\n%s\nwas:\n%s", name, out, data)
		}
		crlf := func(s string) bool { return strings.Count(s, "\n") == strings.Count(s, "\r\n") }
		if strings.Contains(string(data), "\n") && crlf(string(data)) && !crlf(out) {
			t.Fatalf("a CRLF file now mixes line endings:\n%q", out)
		}
		if !strings.Contains(string(data), "\r") && strings.Contains(out, "\r") {
			t.Fatalf("an LF file now has a CR:\n%q", out)
		}
	})
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// cloneTOML copies what toml.Decode returns, deeply.
func cloneTOML(m map[string]any) map[string]any {
	c := maps.Clone(m)
	if c == nil {
		c = map[string]any{}
	}
	for k, v := range c {
		switch v := v.(type) {
		case map[string]any:
			c[k] = cloneTOML(v)
		case []map[string]any:
			s := make([]map[string]any, len(v))
			for i := range v {
				s[i] = cloneTOML(v[i])
			}
			c[k] = s
		}
	}
	return c
}

// sameTOML compares decoded TOML values: as reflect.DeepEqual, but a NaN
// equals a NaN and times are equal when they are the same instant in the
// same offset.
func sameTOML(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameTOML(v, w) {
				return false
			}
		}
		return true
	case []map[string]any:
		b, ok := b.([]map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameTOML(a[i], b[i]) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameTOML(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		b, ok := b.(float64)
		return ok && (a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b))
	case time.Time:
		b, ok := b.(time.Time)
		_, ao := a.Zone()
		_, bo := b.Zone()
		return ok && a.Equal(b) && ao == bo && a.Location().String() == b.Location().String()
	}
	return reflect.DeepEqual(a, b)
}

// lines splits s after each newline.
func lines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// subsequence reports whether sub is seq with some elements left out.
func subsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

// The fuzz target's model of an edit is not vacuous: the seeds it starts
// from are mostly edited, not refused.
func TestFuzzSeedsAreEdited(t *testing.T) {
	edited := 0
	for _, s := range codexSeeds {
		path := filepath.Join(t.TempDir(), "config.toml")
		os.WriteFile(path, []byte(s), 0o600)
		f, err := loadTOML(path, "mcp_servers", false)
		if err == nil && f.Set("snowflake", []tomlKey{{"command", "sfmcp-token"}, {"args", []string{"mcp-proxy"}}}) == nil {
			edited++
		}
	}
	if edited < len(codexSeeds)/2 {
		t.Fatalf("only %d of %d seed files could be edited", edited, len(codexSeeds))
	}
}
