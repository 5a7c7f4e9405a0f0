package mcpjson

import (
	"encoding/json"
	"path/filepath"
	"strings"
)

// The server entries sfmcp writes into an MCP client's configuration, and
// how it recognises them again (`mcp list`, `doctor`). One owner for both,
// so what is read is what was written.

// ProxyEntry runs the stdio bridge: `sfmcp-token mcp-proxy`.
type ProxyEntry struct {
	Type    string   `json:"type"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// HeadersEntry is an HTTP server with `sfmcp-token headers` as its
// headersHelper.
type HeadersEntry struct {
	Type          string `json:"type"`
	URL           string `json:"url"`
	HeadersHelper string `json:"headersHelper"`
}

// NewProxyEntry bridges to server (DB.SCHEMA.NAME or a URL) with profile's
// token, running bin.
func NewProxyEntry(bin, profile, server string) ProxyEntry {
	return ProxyEntry{Type: "stdio", Command: bin, Args: []string{"mcp-proxy", "--profile", profile, "--server", server}}
}

// NewHeadersEntry sends profile's token to url, bin being the helper.
func NewHeadersEntry(bin, url, profile string) HeadersEntry {
	return HeadersEntry{Type: "http", URL: url, HeadersHelper: ShellQuote(bin) + " headers --profile " + ShellQuote(profile)}
}

// Ours describes an entry sfmcp wrote.
type Ours struct {
	Mode    string // "proxy" or "headers"
	Profile string // "" when the entry names none
	Server  string // proxy: the --server value
	URL     string // headers: the server URL
}

// Parse recognises an entry sfmcp wrote, in any client's shape; ok is
// false for any other.
func Parse(raw json.RawMessage) (o Ours, ok bool) {
	return Recognise(EntryFields(raw))
}

// EntryFields reads what an entry runs, in any client's shape: a command
// and its arguments (opencode's command array holds both), or a URL and a
// header helper (Claude Code's headersHelper, Codex's
// http_headers_helper). Keys are matched exactly, as the clients match
// them: Go's struct decoding would also take "Command" or "ARGS", which
// no client runs. A key that is there counts even when its value is not
// a string: such an entry runs something sfmcp did not write.
func EntryFields(raw json.RawMessage) (command string, args []string, url, helper string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", nil, "", ""
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
	var words []string
	switch command = field("command"); {
	case command != opaque:
		if json.Unmarshal(m["args"], &args) != nil {
			args = nil
		}
	case json.Unmarshal(m["command"], &words) == nil && len(words) > 0:
		command, args = words[0], words[1:] // opencode reads no "args" beside it
	}
	// Gemini CLI and Qwen Code prefer httpUrl to url, Windsurf names it
	// serverUrl: any of them makes the entry a remote one.
	for _, k := range []string{"url", "httpUrl", "serverUrl"} {
		if url == "" {
			url = field(k)
		}
	}
	return command, args, url, field("headersHelper") + field("http_headers_helper")
}

// opaque stands for a value that is not a string where one was expected.
const opaque = "\x00opaque"

// Recognise tells whether an entry that runs command with args (or sends
// to url with helper for its headers) is sfmcp's. An entry that also names
// the other transport is not: a client would run what sfmcp did not write
// (an npx server with sfmcp's headersHelper beside it runs npx).
func Recognise(command string, args []string, url, helper string) (o Ours, ok bool) {
	if words, ok := shellWords(helper); ok && command == "" && len(words) >= 2 && isSfmcp(words[0]) && words[1] == "headers" {
		return Ours{Mode: "headers", Profile: flagValue(words[2:], "--profile"), URL: url}, true
	}
	if isSfmcp(command) && url == "" && helper == "" && len(args) > 0 && args[0] == "mcp-proxy" {
		return Ours{Mode: "proxy", Profile: flagValue(args[1:], "--profile"), Server: flagValue(args[1:], "--server")}, true
	}
	return Ours{}, false
}

// isSfmcp: sfmcp-token, or sfmcp-token-full where no fast binary sits
// beside it (`mcp add` then writes that one).
func isSfmcp(command string) bool {
	base := strings.TrimSuffix(filepath.Base(command), ".exe")
	return base == "sfmcp-token" || base == "sfmcp-token-full"
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

// shellWords splits a command line as /bin/sh would for the quoting
// ShellQuote writes: single quotes and backslashes. ok is false for
// anything else a shell would treat specially (expansions, operators,
// double quotes), which sfmcp never writes.
func shellWords(line string) (words []string, ok bool) {
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			if c == '\'' {
				quoted = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(line) && line[i+1] != '\n':
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case strings.IndexByte("\"$`;&|<>()*?[]{}~#\n", c) >= 0:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, false
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}

// ShellQuote quotes s for a POSIX shell when it needs it (a headersHelper
// is run through /bin/sh -c).
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
