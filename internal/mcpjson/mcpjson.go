// Package mcpjson edits the JSON configuration files of MCP clients
// (Claude Code's .mcp.json and ~/.claude.json, Claude Desktop, Cursor, VS
// Code, Gemini CLI, …): it adds, replaces and removes one server entry and
// keeps everything else as the user wrote it: other keys and entries, their
// order, comments, trailing commas and formatting. Files may be JSON or
// JSONC (VS Code's and Zed's allow comments), through
// github.com/tailscale/hujson.
package mcpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tailscale/hujson"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// DefaultKey is where Claude Code (and most clients) keep their servers.
const DefaultKey = "mcpServers"

// maxFile bounds what is read: ~/.claude.json grows with history, but not
// to this.
const maxFile = 64 << 20

// File is an MCP configuration file being edited.
type File struct {
	Path string
	key  []string // the path of the servers object, e.g. ["mcpServers"]
	root hujson.Value
	mode fs.FileMode
}

// Load reads path; a missing or empty file is an empty configuration. key
// is the path to the object that holds the servers (default mcpServers;
// opencode's is "mcp", VS Code's "servers", Zed's "context_servers").
func Load(path string, key ...string) (*File, error) {
	if len(key) == 0 {
		key = []string{DefaultKey}
	}
	f := &File{Path: path, key: key, mode: 0o644}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxFile>>20)
	}
	if st, err := os.Stat(path); err == nil {
		f.mode = st.Mode().Perm()
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}\n")
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
		m := member(obj, k)
		if m == nil {
			if !create {
				return nil, "", nil
			}
			empty, _ := hujson.Parse([]byte("{}"))
			m = insert(obj, indent, k, empty)
		}
		next, ok := m.Value.Value.(*hujson.Object)
		if !ok {
			return nil, "", fmt.Errorf("%s: %s is not an object", f.Path, strings.Join(f.key[:depth+1], "."))
		}
		indent = lineIndent(m.Name.BeforeExtra, indent)
		obj = next
	}
	return obj, indent, nil
}

// member returns obj's member called name.
func member(obj *hujson.Object, name string) *hujson.ObjectMember {
	for i := range obj.Members {
		if lit, ok := obj.Members[i].Name.Value.(hujson.Literal); ok && lit.String() == name {
			return &obj.Members[i]
		}
	}
	return nil
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

// insert appends name: value to obj (at indent, the indentation of obj's
// own key) in the style of its other members: one per line, indented as
// they are, or all on one line when they are.
func insert(obj *hujson.Object, indent, name string, value hujson.Value) *hujson.ObjectMember {
	multiline := len(obj.Members) == 0 || strings.Contains(string(obj.Members[0].Name.BeforeExtra), "\n")
	nameJSON, _ := json.Marshal(name)
	m := hujson.ObjectMember{Name: hujson.Value{Value: hujson.Literal(nameJSON)}, Value: value}
	m.Value.BeforeExtra = hujson.Extra(" ")
	if !multiline {
		obj.Members = append(obj.Members, m)
		return &obj.Members[len(obj.Members)-1]
	}
	inner := indent + "  "
	if len(obj.Members) > 0 {
		inner = lineIndent(obj.Members[0].Name.BeforeExtra, inner)
	}
	// A comment after the last member's comma stays with that member.
	after := string(obj.AfterExtra)
	lead := ""
	if i := strings.Index(after, "\n"); i >= 0 {
		lead, after = after[:i], after[i:]
	} else {
		after = "\n" + indent
	}
	m.Name.BeforeExtra = hujson.Extra(lead + "\n" + inner)
	obj.AfterExtra = hujson.Extra(after)
	obj.Members = append(obj.Members, m)
	return &obj.Members[len(obj.Members)-1]
}

// entryValue renders an entry as hujson, indented to sit at indent.
func entryValue(entry any, indent, unit string, multiline bool) (hujson.Value, error) {
	var data []byte
	var err error
	if multiline {
		data, err = json.MarshalIndent(entry, indent, unit)
	} else {
		data, err = json.Marshal(entry)
	}
	if err != nil {
		return hujson.Value{}, err
	}
	return hujson.Parse(data)
}

// Set adds or replaces the server entry name.
func (f *File) Set(name string, entry any) error {
	obj, indent, err := f.servers(true)
	if err != nil {
		return err
	}
	multiline := len(obj.Members) == 0 && strings.Contains(f.root.String(), "\n") ||
		len(obj.Members) > 0 && strings.Contains(string(obj.Members[0].Name.BeforeExtra), "\n")
	inner := indent + "  "
	if len(obj.Members) > 0 {
		inner = lineIndent(obj.Members[0].Name.BeforeExtra, inner)
	}
	unit := strings.TrimPrefix(inner, indent)
	if unit == "" || unit == inner && indent != "" {
		unit = "  "
	}
	value, err := entryValue(entry, inner, unit, multiline)
	if err != nil {
		return err
	}
	if m := member(obj, name); m != nil {
		value.BeforeExtra, value.AfterExtra = m.Value.BeforeExtra, m.Value.AfterExtra
		m.Value = value
		return nil
	}
	if !multiline && len(obj.Members) == 0 {
		obj.Members = append(obj.Members, hujson.ObjectMember{Name: hujson.Value{Value: hujson.Literal(mustJSON(name))}, Value: value})
		return nil
	}
	insert(obj, indent, name, value)
	return nil
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// Remove deletes the entry name; it reports whether it existed. A comment
// on the same line as the entry goes with it.
func (f *File) Remove(name string) (bool, error) {
	obj, _, err := f.servers(false)
	if err != nil || obj == nil {
		return false, err
	}
	for i := range obj.Members {
		if lit, ok := obj.Members[i].Name.Value.(hujson.Literal); ok && lit.String() == name {
			obj.Members = append(obj.Members[:i], obj.Members[i+1:]...)
			return true, nil
		}
	}
	return false, nil
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
	return atomicfile.Write(f.Path, out, f.mode)
}
