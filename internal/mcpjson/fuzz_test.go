package mcpjson

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tailscale/hujson"
)

// realistic MCP client files (JSON and JSONC), and ones that try the
// editor's placement of members and comments.
var jsoncSeeds = []string{
	"",
	"{}",
	"  \n",
	`{
  "numStartups": 42,
  "theme": "dark",
  "mcpServers": {
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${GITHUB_PAT}"}},
    "snowflake": {
      "type": "stdio",
      "command": "/usr/local/bin/sfmcp-token",
      "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"],
      "env": {"SFMCP_LOG": "debug"},
      "enabled": false
    }
  },
  "projects": {"/home/me/repo": {"mcpServers": {}, "allowedTools": []}}
}
`,
	`// VS Code user mcp.json
{
  "inputs": [
    {"type": "promptString", "id": "key", "password": true}, // trailing comma next
  ],
  "servers": {
    /* the old one */
    "snowflake": {"type": "http", "url": "https://old", "headersHelper": "x"}, // ours
    "a.b": {"command": "npx", "args": ["-y", "x"],},
  },
}
`,
	`{"context_servers": {"snowflake": {"command": {"path": "sfmcp-token", "args": []}, "settings": {}}}, "theme": "One Dark"}`,
	`{"mcp": {"snowflake": {"type": "local", "command": ["sfmcp-token", "mcp-proxy"], "enabled": true}}, "$schema": "https://opencode.ai/config.json"}`,
	"{\r\n  \"mcpServers\": {\r\n    \"github\": {\"command\": \"gh\"}\r\n  }\r\n}\r\n",
	`{"mcpServers": {"snowflake": {"command": "a"}, "snowflake": {"command": "b"}}}`,
	`{"mcpServers": {}, "mcpServers": {}}`,
	`{"mcpServers": [], "servers": "x", "mcp": null, "context_servers": 1}`,
	`{"mcpServers": {"snowflake": {"command": "a", "command": "b", "type": "stdio"}}}`,
	`{"\u006dcpServers": {"snow\u0066lake": {"url": "https://x"}}}`,
	`{"mcpServers": {"snowflake": {"url": "https://x", "enabled": false, "timeout": 1.50, "big": 12345678901234567890}} /* end */}`,
	`{"a": {"b": [1, {"c": [[], {}]}]}, "mcpServers": {"x": {"command": "y"}} // no newline at the end`,
	"[1, 2]",
	`{"mcpServers": {"snowflake": {"command": "x"}`,
	"\ufeff{}",
	`{"projects": {"/home/me/repo": {"mcpServers": {"snowflake": {"command": "x"}}}}}`,
}

// keyPaths are where clients keep their servers (and one a level deeper,
// as ~/.claude.json does per project).
var keyPaths = [][]string{{"mcpServers"}, {"servers"}, {"context_servers"}, {"projects", "/home/me/repo", "mcpServers"}}

// FuzzEditJSONC: whatever a client's JSON or JSONC file holds, adding,
// replacing or removing a server either fails or leaves text that hujson
// parses to the old document with that server exactly as intended: the
// entry as given (one of the same kind keeping the user's other keys and an
// "enabled" they chose), or gone; every other server and key reads as
// before, numbers written as they were.
func FuzzEditJSONC(f *testing.F) {
	for _, s := range jsoncSeeds {
		for op, name := range []string{"snowflake", "github", "a.b", "new"} {
			f.Add([]byte(s), name, uint8(op), "prod")
		}
	}
	f.Add([]byte(jsoncSeeds[3]), "", uint8(1), "")
	f.Add([]byte(jsoncSeeds[4]), "\"}\n//", uint8(0), "a\"\n/*b")
	f.Add([]byte(jsoncSeeds[4]), "é\u2028", uint8(9), "\xff")
	path := filepath.Join(f.TempDir(), "mcp.json")
	f.Fuzz(func(t *testing.T, data []byte, name string, op uint8, value string) {
		if len(data) > 64<<10 {
			return // the parsers recurse; a deep nest is the reader's to refuse
		}
		key := keyPaths[int(op/3)%len(keyPaths)]
		before, parseErr := standard(data)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := Open(path, Options{Key: key})
		if err != nil {
			return
		}
		if parseErr != nil && len(bytes.TrimSpace(data)) > 0 {
			t.Fatalf("opened a file hujson refuses (%v):\n%s", parseErr, data)
		}
		want, _ := before.(map[string]any)
		if want == nil {
			want = map[string]any{} // an empty file
		}
		var entry any
		switch op % 3 {
		case 0:
			entry = proxyEntry("/usr/local/bin/sfmcp-token", value, "DB.PUBLIC.GONG_MCP")
		case 1:
			entry = headersEntry("https://x.snowflakecomputing.com/"+value, "/usr/local/bin/sfmcp-token headers --profile "+value)
		}
		if entry != nil {
			if err := file.Set(name, entry); err != nil {
				return
			}
			servers := want
			for _, k := range key {
				next, ok := servers[k].(map[string]any)
				if _, there := servers[k]; there && !ok {
					t.Fatalf("Set through %s, which is not an object:\n%s", k, data)
				}
				if !ok {
					next = map[string]any{}
					servers[k] = next
				}
				servers = next
			}
			fresh := asJSON(t, entry).(map[string]any)
			old, ok := servers[name].(map[string]any)
			_, oldURL := old["url"]
			_, newURL := fresh["url"]
			if ok && oldURL == newURL {
				for k, v := range fresh {
					if _, chosen := old[k]; k != "enabled" || !chosen {
						old[k] = v
					}
				}
				fresh = old
			}
			servers[name] = fresh
		} else {
			removed, err := file.Remove(name)
			if err != nil {
				return
			}
			servers := want
			for _, k := range key {
				servers, _ = servers[k].(map[string]any)
			}
			if _, had := servers[name]; removed != had {
				t.Fatalf("Remove(%q) = %v, but the server was there: %v\n%s", name, removed, had, data)
			}
			delete(servers, name)
		}
		out := file.root.Pack() // what Save writes, but for a final newline
		after, err := standard(out)
		if err != nil {
			t.Fatalf("op %d on %q left text hujson refuses (%v):\n%s\nwas:\n%s", op%3, name, err, out, data)
		}
		if !reflect.DeepEqual(after, want) {
			t.Fatalf("op %d on %q at %q:\n%s\nreads as %v\nwant %v\nwas:\n%s", op%3, name, key, out, after, want, data)
		}
		if !bytes.Contains(data, []byte("\r")) && bytes.Contains(out, []byte("\r")) {
			t.Fatalf("an LF file now has a CR:\n%q", out)
		}
	})
}

// standard parses JSONC as hujson does and returns it as plain JSON values,
// numbers as written (json.Number).
func standard(data []byte) (any, error) {
	v, err := hujson.Parse(data)
	if err != nil {
		return nil, err
	}
	v.Standardize()
	d := json.NewDecoder(bytes.NewReader(v.Pack()))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// asJSON is v as encoding/json writes it and standard reads it back.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := standard(data)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := out.(map[string]any); ok {
		return maps.Clone(m)
	}
	return out
}

// The fuzz target's model of an edit is not vacuous: the seeds it starts
// from are mostly edited, not refused.
func TestFuzzSeedsAreEdited(t *testing.T) {
	edited := 0
	for _, s := range jsoncSeeds {
		path := filepath.Join(t.TempDir(), "mcp.json")
		os.WriteFile(path, []byte(s), 0o600)
		f, err := Open(path, Options{})
		if err == nil && f.Set("snowflake", proxyEntry("sfmcp-token", "prod", "DB.S.X")) == nil {
			edited++
		}
	}
	if edited < len(jsoncSeeds)/2 {
		t.Fatalf("only %d of %d seed files could be edited", edited, len(jsoncSeeds))
	}
}

// proxyEntry and headersEntry are entries of the two shapes sfmcp writes
// (internal/mcpclients owns them), with their keys in the order it writes
// them.
func proxyEntry(bin, profile, server string) any {
	return struct {
		Type    string   `json:"type"`
		Command string   `json:"command"`
		Args    []string `json:"args"`
	}{"stdio", bin, []string{"mcp-proxy", "--profile", profile, "--server", server}}
}

func headersEntry(url, helper string) any {
	return struct {
		Type          string `json:"type"`
		URL           string `json:"url"`
		HeadersHelper string `json:"headersHelper"`
	}{"http", url, helper}
}
