package atomicfile

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/tailscale/hujson"
)

// deep nests n arrays after a comment with an apostrophe in it.
func deep(comment, open, close string, n int) string {
	return comment + "\n" + open + strings.Repeat("[", n) + strings.Repeat("]", n) + close + "\n"
}

// Whenever hujson parses a file, NestingJSONC counts at least as deep.
func FuzzNestingJSONC(f *testing.F) {
	for _, s := range []string{
		deep("// it's", `{"a": `, "}", 300),
		deep("/* it's */", "", "", 300),
		`/* ' */ {"a": [[[]]]}`,
		`/* " */ {"a": [[[]]]} // '` + "\n",
		"{\"it's\": \"'\", \"b\": [[[\"//\", \"#\", \"/*\"]]]}\n",
		`{"a": "\\", "b": [{"c": "\"'"}]}`,
		"{\n  // a comment\n  \"mcpServers\": {\n    \"s\": {\"command\": \"x\", \"args\": [\"-y\"],},\n  },\n}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := hujson.Parse(data)
		if err != nil {
			return
		}
		if got, want := NestingJSONC(data), jsonDepth(v); got < want {
			t.Fatalf("NestingJSONC = %d, hujson nests %d deep:\n%q", got, want, data)
		}
	})
}

func jsonDepth(v hujson.Value) int {
	d := 0
	switch v := v.Value.(type) {
	case *hujson.Object:
		for _, m := range v.Members {
			d = max(d, jsonDepth(m.Value))
		}
	case *hujson.Array:
		for _, e := range v.Elements {
			d = max(d, jsonDepth(e))
		}
	default:
		return 0
	}
	return d + 1
}

// Whenever BurntSushi/toml decodes a file, NestingTOML counts at least as
// deep as the tables and arrays it decodes to.
func FuzzNestingTOML(f *testing.F) {
	for _, s := range []string{
		deep("# it's", "a = ", "", 300),
		"a = '''it's \"[[[\" '' '''\nb = [[[1]]]\n",
		"a = '''x'''''\nb = [[[1]]]\n",
		"a = \"\"\"x \\\"\"\" '[[[\"\"\"\"\"\nb = [[[1]]]\n",
		"a = \"it's # not a comment\"\nb = [[[1]]]\n",
		"a.b.c = [{d.e = [1.5, {f = 1979-05-27T07:32:00.999Z}]}]\n[x.'y.z'.\"w\"]\nv = 1\n[[x.y]]\n[[x.y.z]]\nq.r = {s.t = []}\n",
		"0='''''''\n1=[]", // seven quotes: ''' and the text's last two
		// A dotted key reaches into arrays of tables: each part may be two deep.
		"[[a.x]]\n[[a.x.y]]\n[a]\nx.y.z = [[[1]]]\n",
		"[mcp_servers.s]\ncommand = \"x\"\nargs = ['-y', \"a\"] # it's\n\n[mcp_servers.s.env]\nA = '1'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if _, err := toml.Decode(string(data), &m); err != nil {
			return
		}
		if got, want := NestingTOML(data), tomlDepth(m)-1; got < want {
			t.Fatalf("NestingTOML = %d, the decoded document nests %d deep:\n%q", got, want, data)
		}
	})
}

func tomlDepth(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, tomlDepth(e))
		}
	case []map[string]any:
		for _, e := range v {
			d = max(d, tomlDepth(e))
		}
	case []any:
		for _, e := range v {
			d = max(d, tomlDepth(e))
		}
	default:
		return 0
	}
	return d + 1
}
