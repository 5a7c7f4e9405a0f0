package mcpclients

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// tomlFile edits Codex's config.toml as text: the lines of one server's
// tables ([mcp_servers.NAME] and its sub-tables, wherever they are) are
// replaced or removed, and every other byte (comments, order, formatting)
// stays as the user wrote it. No Go TOML library writes a document back
// with its comments. Every edit is checked by decoding the result: the
// server must read as intended and everything else exactly as before, or
// nothing is written.
type tomlFile struct {
	path  string
	write string // Path, or the file a user's symlink names
	table string // "mcp_servers"
	lines []string
	mode  fs.FileMode
	data  map[string]any
	nl    string // the file's line ending
}

const (
	maxTOML        = 16 << 20
	maxTOMLNesting = 128
)

func loadTOML(path, table string, follow bool) (*tomlFile, error) {
	in, err := atomicfile.ReadForEdit(path, maxTOML, follow, atomicfile.NestingTOML, maxTOMLNesting)
	if err != nil {
		return nil, err
	}
	raw := in.Data
	f := &tomlFile{path: path, write: in.Write, table: table, mode: in.Mode, nl: "\n"}
	if _, err := toml.Decode(string(raw), &f.data); err != nil {
		return nil, fmt.Errorf("%s is not TOML: %w; fix or move it aside", path, err)
	}
	if bytes.Contains(raw, []byte("\r\n")) {
		f.nl = "\r\n"
	}
	if len(raw) > 0 {
		f.lines = strings.SplitAfter(string(raw), "\n")
		if f.lines[len(f.lines)-1] == "" {
			f.lines = f.lines[:len(f.lines)-1]
		}
	}
	return f, nil
}

// headerKey parses a table header line into its key's parts: ok is false
// for any other line; array says [[…]].
func headerKey(line string) (parts []string, array, ok bool) {
	s := strings.TrimSpace(line)
	if !strings.HasPrefix(s, "[") {
		return nil, false, false
	}
	s, array = s[1:], strings.HasPrefix(s, "[[")
	if array {
		s = s[1:]
	}
	var part strings.Builder
	flush := func() {
		parts = append(parts, strings.TrimSpace(part.String()))
		part.Reset()
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, false, false
			}
			unq, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, false, false
			}
			part.WriteString(unq)
			i = j
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false, false
			}
			part.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '.':
			flush()
		case ']':
			flush()
			return parts, array, true
		default:
			part.WriteByte(c)
		}
	}
	return nil, false, false
}

// spans marks the lines of the server's tables: each header of
// [table.name] or [table.name.…] through the line before the next header.
// Lines inside multi-line strings are never headers.
func (f *tomlFile) spans(name string) []bool {
	mark := make([]bool, len(f.lines))
	inString, ours := "", false
	for i, line := range f.lines {
		if inString == "" {
			if parts, array, ok := headerKey(line); ok {
				ours = !array && len(parts) >= 2 && parts[0] == f.table && parts[1] == name
			}
		}
		mark[i] = ours
		for _, q := range []string{`"""`, `'''`} {
			if n := strings.Count(line, q); n%2 == 1 && (inString == "" || inString == q) {
				if inString == "" {
					inString = q
				} else {
					inString = ""
				}
			}
		}
	}
	// Blank lines and comments that end a table separate it from the next
	// one (or introduce it): they stay.
	for i := len(mark) - 1; i > 0; i-- {
		if mark[i] && (i+1 == len(mark) || !mark[i+1]) && mark[i-1] && blankOrComment(f.lines[i]) {
			mark[i] = false
		}
	}
	return mark
}

func blankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// Entries returns the servers as JSON, by name.
func (f *tomlFile) Entries() ([]string, map[string]json.RawMessage, error) {
	servers, _ := f.data[f.table].(map[string]any)
	names := slices.Sorted(maps.Keys(servers))
	values := map[string]json.RawMessage{}
	for _, name := range names {
		data, err := json.Marshal(servers[name])
		if err != nil {
			continue
		}
		values[name] = data
	}
	return names, values, nil
}

// tomlKey is one key of a table, in the order it is written.
type tomlKey struct {
	name  string
	value any
}

// Set writes the server, whose entry is its keys ([]tomlKey): a new one
// with keys in their order; an existing one with keys set and the user's
// other keys and sub-tables kept (and an "enabled" the user chose).
func (f *tomlFile) Set(name string, entry any) error {
	keys, ok := entry.([]tomlKey)
	if !ok {
		return fmt.Errorf("%s: a TOML server is written from its keys, not a %T", f.path, entry)
	}
	servers, _ := f.data[f.table].(map[string]any)
	old, exists := servers[name].(map[string]any)
	var block string
	want := map[string]any{}
	if !exists || kindOf(old) != kindOf(keysMap(keys)) {
		var b strings.Builder
		b.WriteString("[" + tableKey(f.table, name) + "]\n")
		for _, k := range keys {
			line, err := encodeTOML(map[string]any{k.name: k.value})
			if err != nil {
				return err
			}
			b.WriteString(line)
			want[k.name] = k.value
		}
		block = b.String()
	} else {
		maps.Copy(want, old)
		for _, k := range keys {
			if _, chosen := old[k.name]; k.name == "enabled" && chosen {
				continue
			}
			want[k.name] = k.value
		}
		text, err := encodeTOML(map[string]any{f.table: map[string]any{name: want}})
		if err != nil {
			return err
		}
		block = strings.TrimPrefix(text, "["+f.table+"]\n")
	}
	if f.nl == "\r\n" {
		block = strings.ReplaceAll(block, "\n", "\r\n")
	}
	return f.replace(name, block, want)
}

// Remove deletes the server's tables.
func (f *tomlFile) Remove(name string) (bool, error) {
	servers, _ := f.data[f.table].(map[string]any)
	if _, ok := servers[name]; !ok {
		return false, nil
	}
	return true, f.replace(name, "", nil)
}

// replace puts block where the server's first table was (or at the end),
// drops its other tables, and checks the result: the server must read as
// want (absent when nil), everything else as before.
func (f *tomlFile) replace(name, block string, want map[string]any) error {
	mark := f.spans(name)
	var out []string
	placed := false
	for i, line := range f.lines {
		if !mark[i] {
			out = append(out, line)
			continue
		}
		if !placed && block != "" {
			out = append(out, strings.SplitAfter(block, "\n")...)
			out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
		}
		placed = true
	}
	if !placed && block != "" {
		if n := len(out); n > 0 {
			if !strings.HasSuffix(out[n-1], "\n") {
				out[n-1] += f.nl
			}
			if strings.TrimSpace(out[n-1]) != "" {
				out = append(out, f.nl)
			}
		}
		out = append(out, strings.SplitAfter(block, "\n")...)
		out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	}
	text := strings.Join(out, "")
	var after map[string]any
	if _, err := toml.Decode(text, &after); err != nil {
		return fmt.Errorf("editing %s would leave it invalid (%v); nothing was changed, edit it by hand", f.path, err)
	}
	if !sameExcept(f.data, after, f.table, name) || !serverIs(after, f.table, name, want) {
		return fmt.Errorf("%s defines %s.%s in a way sfmcp does not edit (dotted keys or an inline table); nothing was changed, edit it by hand", f.path, f.table, name)
	}
	f.lines, f.data = out, after
	return nil
}

// sameExcept reports whether a and b are equal but for table.name.
func sameExcept(a, b map[string]any, table, name string) bool {
	strip := func(m map[string]any) map[string]any {
		c := maps.Clone(m)
		if servers, ok := c[table].(map[string]any); ok {
			s := maps.Clone(servers)
			delete(s, name)
			if len(s) == 0 {
				delete(c, table)
			} else {
				c[table] = s
			}
		}
		return c
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// serverIs reports whether table.name in m reads as want (absent if nil).
func serverIs(m map[string]any, table, name string, want map[string]any) bool {
	servers, _ := m[table].(map[string]any)
	got, ok := servers[name]
	if want == nil {
		return !ok
	}
	// Compare as TOML reads them: through one encode and decode.
	text, err := encodeTOML(map[string]any{"x": want})
	if err != nil {
		return false
	}
	var norm map[string]any
	if _, err := toml.Decode(text, &norm); err != nil {
		return false
	}
	return reflect.DeepEqual(got, norm["x"])
}

func encodeTOML(v any) (string, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func keysMap(keys []tomlKey) map[string]any {
	m := map[string]any{}
	for _, k := range keys {
		m[k.name] = k.value
	}
	return m
}

// kindOf is "url" for an HTTP server, "command" for a stdio one.
func kindOf(m map[string]any) string {
	if _, ok := m["url"]; ok {
		return "url"
	}
	return "command"
}

// tableKey is how a table's key reads in a header: bare when it may be.
func tableKey(parts ...string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if p != "" && strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == "" {
			out[i] = p
		} else {
			out[i] = strconv.Quote(p)
		}
	}
	return strings.Join(out, ".")
}

// Save writes the file.
func (f *tomlFile) Save() error {
	return atomicfile.Write(f.write, []byte(strings.Join(f.lines, "")), f.mode)
}
