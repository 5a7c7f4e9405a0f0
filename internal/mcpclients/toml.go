package mcpclients

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// tomlFile edits Codex's config.toml surgically: one [mcp_servers.NAME]
// table is added, replaced or removed as lines of text, and every other
// byte (comments, order, formatting) stays as the user wrote it. No Go
// TOML library writes a document back with its comments.
type tomlFile struct {
	path  string
	table string // "mcp_servers"
	lines []string
	mode  fs.FileMode
	data  map[string]any
}

func loadTOML(path, table string) (*tomlFile, error) {
	f := &tomlFile{path: path, table: table, mode: 0o600}
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil {
		f.mode = st.Mode().Perm()
	}
	if _, err := toml.Decode(string(raw), &f.data); err != nil {
		return nil, fmt.Errorf("%s is not TOML: %w; fix or move it aside", path, err)
	}
	if len(raw) > 0 {
		f.lines = strings.SplitAfter(string(raw), "\n")
		if f.lines[len(f.lines)-1] == "" {
			f.lines = f.lines[:len(f.lines)-1]
		}
	}
	return f, nil
}

// header matches a table header line and captures its key.
var header = regexp.MustCompile(`^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$`)

// tableKey is how a table's key reads in a header: bare when it may be.
func tableKey(parts ...string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if bareKey(p) {
			out[i] = p
		} else {
			out[i] = strconv.Quote(p)
		}
	}
	return strings.Join(out, ".")
}

var bareKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func bareKey(s string) bool { return bareKeyRE.MatchString(s) }

// span finds the lines of table [table.name] and its sub-tables: from its
// header to the line before the next header of another table.
func (f *tomlFile) span(name string) (start, end int, ok bool) {
	want := normalizeKey(tableKey(f.table, name))
	start = -1
	for i, line := range f.lines {
		if strings.HasPrefix(strings.TrimSpace(line), "[[") {
			// An array of tables: another table, which ends ours.
			if start >= 0 {
				return start, i, true
			}
			continue
		}
		m := header.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			continue
		}
		key := normalizeKey(m[1])
		inside := key == want || strings.HasPrefix(key, want+".")
		switch {
		case inside && start < 0:
			start = i
		case !inside && start >= 0:
			return start, i, true
		}
	}
	if start < 0 {
		return 0, 0, false
	}
	return start, len(f.lines), true
}

// normalizeKey removes the spaces TOML allows around the dots of a key.
func normalizeKey(k string) string {
	var b strings.Builder
	inQuote := false
	for _, r := range k {
		switch {
		case r == '"':
			inQuote = !inQuote
		case !inQuote && (r == ' ' || r == '\t'):
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// entries returns the servers as JSON, by name.
func (f *tomlFile) entries() ([]string, map[string]json.RawMessage) {
	servers, _ := f.data[f.table].(map[string]any)
	var names []string
	values := map[string]json.RawMessage{}
	for name, v := range servers {
		data, err := json.Marshal(v)
		if err != nil {
			continue
		}
		names = append(names, name)
		values[name] = data
	}
	return names, values
}

// set writes [table.name] with the given keys (in that order).
func (f *tomlFile) set(name string, keys []tomlKey) error {
	var b strings.Builder
	b.WriteString("[" + tableKey(f.table, name) + "]\n")
	for _, k := range keys {
		var v bytes.Buffer
		if err := toml.NewEncoder(&v).Encode(map[string]any{k.name: k.value}); err != nil {
			return err
		}
		b.Write(v.Bytes())
	}
	block := strings.SplitAfter(b.String(), "\n")
	block = block[:len(block)-1]
	start, end, ok := f.span(name)
	if !ok {
		if _, defined := f.definedElsewhere(name); defined {
			return fmt.Errorf("%s defines %s.%s other than as a [%s] table; edit it by hand", f.path, f.table, name, tableKey(f.table, name))
		}
		if n := len(f.lines); n > 0 {
			if !strings.HasSuffix(f.lines[n-1], "\n") {
				f.lines[n-1] += "\n"
			}
			if strings.TrimSpace(f.lines[n-1]) != "" {
				f.lines = append(f.lines, "\n")
			}
		}
		f.lines = append(f.lines, block...)
		return nil
	}
	// Keep blank lines and comments that end the old span: they separate
	// it from the next table.
	for end > start+1 && isBlankOrComment(f.lines[end-1]) {
		end--
	}
	f.lines = append(f.lines[:start], append(block, f.lines[end:]...)...)
	return nil
}

func isBlankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// definedElsewhere reports whether the parsed file has the server although
// no [table.name] header does (an inline table or dotted keys).
func (f *tomlFile) definedElsewhere(name string) (any, bool) {
	servers, _ := f.data[f.table].(map[string]any)
	v, ok := servers[name]
	return v, ok
}

// remove deletes [table.name] and its sub-tables.
func (f *tomlFile) remove(name string) (bool, error) {
	start, end, ok := f.span(name)
	if !ok {
		if _, defined := f.definedElsewhere(name); defined {
			return false, fmt.Errorf("%s defines %s.%s other than as a table; remove it by hand", f.path, f.table, name)
		}
		return false, nil
	}
	for end > start+1 && isBlankOrComment(f.lines[end-1]) {
		end--
	}
	f.lines = append(f.lines[:start], f.lines[end:]...)
	return true, nil
}

func (f *tomlFile) save() error {
	out := strings.Join(f.lines, "")
	var check map[string]any
	if _, err := toml.Decode(out, &check); err != nil {
		return fmt.Errorf("editing %s would leave it invalid (%v); nothing was written", f.path, err)
	}
	return atomicfile.Write(f.path, []byte(out), f.mode)
}

// tomlKey is one key of a table, in the order it is written.
type tomlKey struct {
	name  string
	value any
}
