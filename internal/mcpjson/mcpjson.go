// Package mcpjson edits the JSON configuration files of MCP clients
// (Claude Code's .mcp.json and ~/.claude.json, Claude Desktop, Cursor, VS
// Code, Gemini CLI, …): it adds, replaces and removes one server entry and
// keeps everything else as the user wrote it: other keys and entries, their
// order, comments, trailing commas and formatting. Files may be JSON or
// JSONC (VS Code's and Zed's allow comments), through
// github.com/tailscale/hujson. It is an editor only: what an entry holds,
// and whose it is, is internal/mcpclients' to decide.
package mcpjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// DefaultKey is where Claude Code (and most clients) keep their servers.
const DefaultKey = "mcpServers"

// maxFile bounds what is read: ~/.claude.json grows with history, but not
// to this.
const maxFile = 64 << 20

// maxNesting bounds how deeply a file may nest: parsers recurse on it.
const maxNesting = 256

// File is an MCP configuration file being edited.
type File struct {
	Path  string
	key   []string // the path of the servers object, e.g. ["mcpServers"]
	root  hujson.Value
	mode  fs.FileMode
	write string // where Save writes: Path, or the file a user's symlink names
	crlf  bool   // the file's lines end in CRLF
	fresh bool   // the file was missing or empty: written one member per line
}

// Options say how to open a file.
type Options struct {
	// Key is the path to the object that holds the servers (default
	// mcpServers; opencode's is "mcp", VS Code's "servers", Zed's
	// "context_servers").
	Key []string
	// Follow lets Path be a symlink, which is then read and written
	// through (a user's dotfiles). A project's files are never followed.
	Follow bool
}

// Load opens a Claude Code-shaped file that is not followed if a symlink.
func Load(path string, key ...string) (*File, error) {
	return Open(path, Options{Key: key})
}

// Open reads path; a missing or empty file is an empty configuration.
func Open(path string, o Options) (*File, error) {
	key := o.Key
	if len(key) == 0 {
		key = []string{DefaultKey}
	}
	in, err := atomicfile.ReadForEdit(path, maxFile, o.Follow, atomicfile.NestingJSONC, maxNesting)
	if err != nil {
		return nil, err
	}
	data := in.Data
	f := &File{Path: path, key: key, mode: in.Mode, write: in.Write}
	f.crlf = bytes.Contains(data, []byte("\r\n"))
	if len(bytes.TrimSpace(data)) == 0 {
		data, f.fresh = []byte("{}\n"), true
	}
	if f.root, err = hujson.Parse(data); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w; fix or move it aside", path, err)
	}
	if _, ok := f.root.Value.(*hujson.Object); !ok {
		return nil, fmt.Errorf("%s is not a JSON object; fix or move it aside", path)
	}
	return f, nil
}

// servers finds the servers object; create makes it (and its parents)
// when missing. It also returns the indentation of the line its key is on.
func (f *File) servers(create bool) (*hujson.Object, string, error) {
	obj := f.root.Value.(*hujson.Object)
	indent := ""
	for depth, k := range f.key {
		m, err := f.member(obj, k)
		if err != nil {
			return nil, "", err
		}
		if m == nil {
			if !create {
				return nil, "", nil
			}
			empty, _ := hujson.Parse([]byte("{}"))
			m = f.insert(obj, indent, k, empty)
		}
		next, ok := m.Value.Value.(*hujson.Object)
		if !ok {
			return nil, "", fmt.Errorf("%s: %s is not an object; fix or move the file aside", f.Path, strings.Join(f.key[:depth+1], "."))
		}
		indent = lineIndent(m.Name.BeforeExtra, indent)
		obj = next
	}
	return obj, indent, nil
}

// member returns obj's member called name. A name that appears twice is
// refused: clients take the last, and editing either would mislead.
func (f *File) member(obj *hujson.Object, name string) (*hujson.ObjectMember, error) {
	var found *hujson.ObjectMember
	for i := range obj.Members {
		if lit, ok := obj.Members[i].Name.Value.(hujson.Literal); ok && lit.String() == name {
			if found != nil {
				return nil, fmt.Errorf("%s has %q twice; remove one by hand", f.Path, name)
			}
			found = &obj.Members[i]
		}
	}
	return found, nil
}

// lineIndent is the indentation after the last newline of extra, or
// fallback when extra has no newline.
func lineIndent(extra hujson.Extra, fallback string) string {
	s := string(extra)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return fallback
}

// newline is the file's line ending.
func (f *File) newline() string {
	if f.crlf {
		return "\r\n"
	}
	return "\n"
}

// multiline reports whether obj's members sit one per line (or, with none
// yet, whether the file has lines at all).
func (f *File) multiline(obj *hujson.Object) bool {
	if len(obj.Members) == 0 {
		return f.fresh || strings.Contains(strings.TrimSpace(f.root.String()), "\n")
	}
	return strings.Contains(string(obj.Members[0].Name.BeforeExtra), "\n")
}

// insert appends name: value to obj (at indent, the indentation of obj's
// own key) in the style of its other members: one per line, indented as
// they are, or all on one line when they are.
func (f *File) insert(obj *hujson.Object, indent, name string, value hujson.Value) *hujson.ObjectMember {
	m := hujson.ObjectMember{Name: hujson.Value{Value: hujson.Literal(mustJSON(name))}, Value: value}
	m.Value.BeforeExtra = hujson.Extra(" ")
	if !f.multiline(obj) {
		obj.Members = append(obj.Members, m)
		return &obj.Members[len(obj.Members)-1]
	}
	nl := f.newline()
	inner := indent + "  "
	if len(obj.Members) > 0 {
		inner = lineIndent(obj.Members[0].Name.BeforeExtra, inner)
	}
	// What follows the last member up to the end of its line (a comment
	// after its comma) stays with it; the rest stays before the brace.
	after := string(obj.AfterExtra)
	lead := after
	if i := strings.Index(after, "\n"); i >= 0 {
		if i > 0 && after[i-1] == '\r' {
			i--
		}
		lead, after = after[:i], after[i:]
	} else {
		after = nl + indent
	}
	m.Name.BeforeExtra = hujson.Extra(lead + nl + inner)
	obj.AfterExtra = hujson.Extra(after)
	obj.Members = append(obj.Members, m)
	return &obj.Members[len(obj.Members)-1]
}

// entryValue renders v as hujson at indent (one line if not multiline).
func (f *File) entryValue(v any, indent, unit string, multiline bool) (hujson.Value, error) {
	var data []byte
	var err error
	if multiline {
		data, err = json.MarshalIndent(v, indent, unit)
		if f.crlf {
			data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
		}
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return hujson.Value{}, err
	}
	return hujson.Parse(data)
}

// Set adds the server entry name, or updates the one there: the keys of
// entry are set and the user's other keys (env, timeouts, …) are kept, as
// is an "enabled" the user chose.
func (f *File) Set(name string, entry any) error {
	// JSON would write another name (U+FFFD for each bad byte), which a
	// second such name would then duplicate.
	if !utf8.ValidString(name) {
		return fmt.Errorf("the server name %q is not valid UTF-8", name)
	}
	obj, indent, err := f.servers(true)
	if err != nil {
		return err
	}
	multiline := f.multiline(obj)
	inner := indent + "  "
	if len(obj.Members) > 0 {
		inner = lineIndent(obj.Members[0].Name.BeforeExtra, inner)
	}
	unit := strings.TrimPrefix(inner, indent)
	if unit == "" || unit == inner && indent != "" {
		unit = "  "
	}
	old, err := f.member(obj, name)
	if err != nil {
		return err
	}
	if old == nil {
		value, err := f.entryValue(entry, inner, unit, multiline)
		if err != nil {
			return err
		}
		f.insert(obj, indent, name, value)
		return nil
	}
	existing, ok := old.Value.Value.(*hujson.Object)
	if !ok || kind(existing) != kind(entry) {
		// Another kind of entry (an HTTP server becoming the bridge): its
		// keys mean nothing to the new one.
		value, err := f.entryValue(entry, inner, unit, multiline)
		if err != nil {
			return err
		}
		value.BeforeExtra, value.AfterExtra = old.Value.BeforeExtra, old.Value.AfterExtra
		old.Value = value
		return nil
	}
	fresh, err := f.entryValue(entry, inner+unit, unit, multiline && f.multiline(existing))
	if err != nil {
		return err
	}
	for _, m := range fresh.Value.(*hujson.Object).Members {
		key := m.Name.Value.(hujson.Literal).String()
		if cur, err := f.member(existing, key); err != nil {
			return err
		} else if cur != nil {
			if key != "enabled" {
				m.Value.BeforeExtra, m.Value.AfterExtra = cur.Value.BeforeExtra, cur.Value.AfterExtra
				cur.Value = m.Value
			}
			continue
		}
		f.insert(existing, inner, key, m.Value)
	}
	return nil
}

// kind is "url" for an HTTP entry, "command" for a stdio one.
func kind(v any) string {
	var keys map[string]json.RawMessage
	switch v := v.(type) {
	case *hujson.Object:
		c := hujson.Value{Value: v}.Clone()
		c.Standardize()
		json.Unmarshal(c.Pack(), &keys)
	default:
		data, _ := json.Marshal(v)
		json.Unmarshal(data, &keys)
	}
	for _, k := range []string{"url", "httpUrl", "serverUrl"} {
		if _, ok := keys[k]; ok {
			return "url"
		}
	}
	return "command"
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// Remove deletes the entry name; it reports whether it existed. A comment
// after the previous entry's comma stays with that entry; the removed
// entry's own comments go with it.
func (f *File) Remove(name string) (bool, error) {
	obj, _, err := f.servers(false)
	if err != nil || obj == nil {
		return false, err
	}
	m, err := f.member(obj, name)
	if err != nil || m == nil {
		return false, err
	}
	i := 0
	for &obj.Members[i] != m {
		i++
	}
	// The first line of this member's leading text ends the previous line.
	prevTail := string(m.Name.BeforeExtra)
	if j := strings.Index(prevTail, "\n"); j >= 0 {
		prevTail = prevTail[:j]
	} else {
		prevTail = ""
	}
	next := &obj.AfterExtra
	if i+1 < len(obj.Members) {
		next = &obj.Members[i+1].Name.BeforeExtra
	}
	rest := string(*next)
	if j := strings.Index(rest, "\n"); j >= 0 {
		if j > 0 && rest[j-1] == '\r' {
			j--
		}
		rest = rest[j:]
	}
	*next = hujson.Extra(strings.TrimRight(prevTail, "\r") + rest)
	obj.Members = append(obj.Members[:i], obj.Members[i+1:]...)
	return true, nil
}

// Entries returns the server entries in file order, as standard JSON.
func (f *File) Entries() ([]string, map[string]json.RawMessage, error) {
	obj, _, err := f.servers(false)
	if err != nil || obj == nil {
		return nil, map[string]json.RawMessage{}, err
	}
	var names []string
	values := map[string]json.RawMessage{}
	for _, m := range obj.Members {
		lit, ok := m.Name.Value.(hujson.Literal)
		if !ok {
			continue
		}
		v := m.Value.Clone() // Standardize would strip the file's own comments
		v.Standardize()
		names = append(names, lit.String())
		values[lit.String()] = json.RawMessage(bytes.TrimSpace(v.Pack()))
	}
	return names, values, nil
}

// Save writes the file atomically, keeping its mode.
func (f *File) Save() error {
	out := f.root.Pack()
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return atomicfile.Write(f.write, out, f.mode)
}
