// Package mcpjson edits MCP client configuration files (.mcp.json, or
// ~/.claude.json for user scope): it adds, replaces and removes one server
// entry and keeps every other key, entry and the order they were in.
package mcpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// object is a JSON object that remembers its key order.
type object struct {
	keys   []string
	values map[string]json.RawMessage
}

func parseObject(data []byte) (*object, error) {
	o := &object{values: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return o, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		o.set(key, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *object) set(key string, v json.RawMessage) {
	if _, ok := o.values[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.values[key] = v
}

func (o *object) remove(key string) bool {
	if _, ok := o.values[key]; !ok {
		return false
	}
	delete(o.values, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
	return true
}

func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.values[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// File is an MCP configuration file being edited.
type File struct {
	Path string
	root *object
	mode fs.FileMode
}

// Load reads path; a missing file is an empty configuration.
func Load(path string) (*File, error) {
	f := &File{Path: path, mode: 0o644}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil {
		f.mode = st.Mode().Perm()
	}
	if f.root, err = parseObject(data); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %w; fix or move it aside", path, err)
	}
	return f, nil
}

func (f *File) servers() (*object, error) {
	raw, ok := f.root.values["mcpServers"]
	if !ok {
		return &object{values: map[string]json.RawMessage{}}, nil
	}
	s, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: mcpServers is not an object: %w", f.Path, err)
	}
	return s, nil
}

// Set adds or replaces the server entry name.
func (f *File) Set(name string, entry any) error {
	s, err := f.servers()
	if err != nil {
		return err
	}
	data, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	s.set(name, data)
	return f.putServers(s)
}

// Remove deletes the entry name; it reports whether it existed.
func (f *File) Remove(name string) (bool, error) {
	s, err := f.servers()
	if err != nil {
		return false, err
	}
	ok := s.remove(name)
	return ok, f.putServers(s)
}

// Entries returns the server entries in file order.
func (f *File) Entries() ([]string, map[string]json.RawMessage, error) {
	s, err := f.servers()
	if err != nil {
		return nil, nil, err
	}
	return s.keys, s.values, nil
}

func (f *File) putServers(s *object) error {
	data, err := s.MarshalJSON()
	if err != nil {
		return err
	}
	f.root.set("mcpServers", data)
	return nil
}

// Save writes the file atomically, indented, keeping its mode.
func (f *File) Save() error {
	compact, err := f.root.MarshalJSON()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	return atomicfile.Write(f.Path, out.Bytes(), f.mode)
}
