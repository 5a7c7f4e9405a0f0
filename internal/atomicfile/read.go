package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadRegular reads path as ReadFile does, except that a missing file
// reads as empty (an MCP client file that is not there yet).
func ReadRegular(path string, max int64, follow bool) ([]byte, error) {
	data, err := ReadFile(path, max, follow)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Parsers recurse as a file nests, and a file from anywhere may nest a
// million deep: NestingJSONC and NestingTOML count the depth first, at
// least as deep as the parser would go. They read strings and comments as
// the parsers do (a quote in a comment, "// it's", quotes nothing); where
// a file is invalid they may count anything, as the parser stops there.

// NestingJSONC reports how deeply brackets and braces nest in JSON with
// comments (hujson), outside strings and comments.
func NestingJSONC(data []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			i = stringEnd(data, i+1, `"`, true)
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			i = stringEnd(data, i+2, "\n", false)
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			i = stringEnd(data, i+2, "*/", false)
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth = max(depth-1, 0)
		}
	}
	return deepest
}

// NestingTOML reports how deeply a TOML document nests: arrays, inline
// tables, and the tables a header or a dotted key names (a.b.c = 1 nests
// as deep as {a = {b = {c = 1}}}). A key's part counts twice, as it may
// name an array of tables and then its last table.
func NestingTOML(data []byte) int {
	var open []byte // '[' and '{' being read; two '.' for each dot of a key whose value is being read
	brackets := 0   // of open, those not '.'
	table := 0      // the depth of the tables the last header names
	key := true     // at a key, where a dot nests (in a value it is a float's)
	header := false // in a [table] or [[table]] header
	deepest := 0
	popKey := func() {
		for len(open) > 0 && open[len(open)-1] == '.' {
			open = open[:len(open)-1]
		}
	}
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '#':
			i = stringEnd(data, i+1, "\n", false) - 1 // the newline ends the line below
		case bytes.HasPrefix(data[i:], []byte(`"""`)) || bytes.HasPrefix(data[i:], []byte("'''")):
			i = stringEnd(data, i+3, string(data[i:i+3]), c == '"')
			for i+1 < len(data) && data[i+1] == c { // up to two quotes may end the string's text
				i++
			}
		case c == '"' || c == '\'': // '…' is a literal string: no escapes
			i = stringEnd(data, i+1, string(c), c == '"')
		case header:
			if c == '.' {
				table += 2
			} else if c == '\n' {
				header = false
			}
		case c == '[' && key && brackets == 0:
			header, table = true, 2
		case c == '.' && key:
			open = append(open, '.', '.')
		case c == '=':
			key = false
		case c == '[' || c == '{':
			open = append(open, c)
			brackets++
			key = c == '{'
		case c == ']' || c == '}':
			popKey()
			if len(open) > 0 {
				open = open[:len(open)-1]
				brackets--
			}
			key = false
		case c == ',':
			popKey()
			key = len(open) > 0 && open[len(open)-1] == '{'
		case c == '\n' && brackets == 0:
			open, key = open[:0], true
		}
		deepest = max(deepest, table+len(open))
	}
	return deepest
}

// stringEnd returns the index of the last byte of end in data at or after
// i, skipping a byte after each backslash if escapes; len(data) if none.
func stringEnd(data []byte, i int, end string, escapes bool) int {
	for ; i < len(data); i++ {
		if escapes && data[i] == '\\' {
			i++
		} else if bytes.HasPrefix(data[i:], []byte(end)) {
			return i + len(end) - 1
		}
	}
	return len(data)
}

// Editable is a user's file read for an edit that Write will put back.
type Editable struct {
	Data  []byte
	Write string      // where to write: the path, or the target a followed symlink names
	Mode  os.FileMode // the file's mode, 0600 for a new file
}

// ReadForEdit reads path as ReadRegular does, nesting at most maxNesting
// as nesting (NestingJSONC or NestingTOML) counts, and says where and with
// which mode to write it back.
func ReadForEdit(path string, max int64, follow bool, nesting func([]byte) int, maxNesting int) (Editable, error) {
	e := Editable{Write: path, Mode: 0o600}
	data, err := ReadRegular(path, max, follow)
	if err != nil {
		return e, err
	}
	if follow {
		if target, err := filepath.EvalSymlinks(path); err == nil {
			e.Write = target
		}
	}
	if st, err := os.Stat(e.Write); err == nil {
		e.Mode = st.Mode().Perm()
	}
	if nesting(data) > maxNesting {
		return e, fmt.Errorf("%s nests deeper than %d levels; fix or move it aside", path, maxNesting)
	}
	e.Data = data
	return e, nil
}
