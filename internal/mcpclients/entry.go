package mcpclients

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/sfmcp/sfmcp/internal/shellword"
)

// The server entries sfmcp writes into an MCP client's configuration, and
// how it recognises them again (mcp list, doctor, and whether an edit may
// touch an entry). One owner for both, so what is read is what was
// written.

// Mode is how a client reaches the server through sfmcp.
type Mode string

const (
	Proxy   Mode = "proxy"   // the stdio bridge: sfmcp-token mcp-proxy
	Headers Mode = "headers" // HTTP, with sfmcp-token headers as the header helper
)

// Spec is the entry sfmcp writes for one MCP server.
type Spec struct {
	Bin     string // the sfmcp-token the client runs
	Profile string // whose token the server gets
	Mode    Mode
	Server  string // proxy: the server, DB.SCHEMA.NAME or its URL
	URL     string // headers: the server's URL
}

// Args are the bridge's arguments: mcp-proxy --profile P --server S.
func (s Spec) Args() []string {
	return []string{"mcp-proxy", "--profile", s.Profile, "--server", s.Server}
}

// Helper is the header command, as /bin/sh runs it.
func (s Spec) Helper() string {
	return shellword.Quote(s.Bin) + " headers --profile " + shellword.Quote(s.Profile)
}

// claudeJSON is the entry as Claude Code's own CLI takes it.
func (s Spec) claudeJSON() string {
	entry := typedStdio(s.Bin, s.Args())
	if s.Mode == Headers {
		entry = claudeHeaders(s.URL, s.Helper())
	}
	data, _ := json.Marshal(entry)
	return string(data)
}

// Entry is what an entry runs, in any client's shape: a command and its
// arguments (opencode's command array included), or a URL and a header
// helper.
type Entry struct {
	Command string
	Args    []string
	URL     string
	Helper  string
}

// ParseEntry reads what an entry runs, in any client's shape: a command
// and its arguments (opencode's command array holds both), or a URL and a
// header helper (Claude Code's headersHelper, Codex's
// http_headers_helper). Keys are matched exactly, as the clients match
// them: Go's struct decoding would also take "Command" or "ARGS", which
// no client runs. A key that is there counts even when its value is not
// a string: such an entry runs something sfmcp did not write.
func ParseEntry(raw json.RawMessage) Entry {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return Entry{}
	}
	// field is the key's string value; a key of another type reads as
	// opaque, which no check takes for sfmcp's.
	field := func(key string) string {
		var s string
		if v, ok := m[key]; ok && json.Unmarshal(v, &s) != nil {
			return opaque
		}
		return s
	}
	var e Entry
	var words []string
	switch e.Command = field("command"); {
	case e.Command != opaque:
		if json.Unmarshal(m["args"], &e.Args) != nil {
			e.Args = nil
		}
	case json.Unmarshal(m["command"], &words) == nil && len(words) > 0:
		e.Command, e.Args = words[0], words[1:] // opencode reads no "args" beside it
	}
	// Gemini CLI and Qwen Code prefer httpUrl to url, Windsurf names it
	// serverUrl: any of them makes the entry a remote one.
	for _, k := range []string{"url", "httpUrl", "serverUrl"} {
		if e.URL == "" {
			e.URL = field(k)
		}
	}
	e.Helper = field("headersHelper") + field("http_headers_helper")
	return e
}

// opaque stands for a value that is not a string where one was expected.
const opaque = "\x00opaque"

// Ours describes an entry sfmcp wrote.
type Ours struct {
	Mode    Mode
	Profile string // "" when the entry names none
	Server  string // proxy: the --server value
	URL     string // headers: the server URL
}

// Ours tells whether the entry is sfmcp's, and for what. An entry that
// also names the other transport is not: a client would run what sfmcp
// did not write (an npx server with sfmcp's headersHelper beside it runs
// npx).
func (e Entry) Ours() (o Ours, ok bool) {
	if words, ok := shellword.Split(e.Helper); ok && e.Command == "" && len(words) >= 2 && isSfmcp(words[0]) && words[1] == "headers" {
		return Ours{Mode: Headers, Profile: flagValue(words[2:], "--profile"), URL: e.URL}, true
	}
	if isSfmcp(e.Command) && e.URL == "" && e.Helper == "" && len(e.Args) > 0 && e.Args[0] == "mcp-proxy" {
		return Ours{Mode: Proxy, Profile: flagValue(e.Args[1:], "--profile"), Server: flagValue(e.Args[1:], "--server")}, true
	}
	return Ours{}, false
}

// Describe says what an entry runs: its URL or its program. Never its
// arguments: another server's may carry a key.
func (e Entry) Describe() string {
	if e.URL != "" {
		return e.URL
	}
	return e.Command
}

// isSfmcp: sfmcp-token, or sfmcp-token-full where no fast binary sits
// beside it (mcp add then writes that one).
func isSfmcp(command string) bool {
	base := strings.TrimSuffix(filepath.Base(command), ".exe")
	return base == lightName || base == fullName
}

// flagValue is the value of flag name in args as the commands read it:
// "--name value", "--name=value", one dash or two; the last one wins.
func flagValue(args []string, name string) string {
	name = strings.TrimLeft(name, "-")
	value := ""
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		if a == args[i] {
			continue // not a flag
		}
		if k, v, ok := strings.Cut(a, "="); ok && k == name {
			value = v
		} else if a == name && i+1 < len(args) {
			value = args[i+1]
			i++
		}
	}
	return value
}
