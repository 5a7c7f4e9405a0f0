package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadRegular reads path, which must be a regular file of at most max
// bytes: a FIFO, a device or a directory that a project put there is
// refused without blocking or reading it, and a symlink is followed only
// when follow is true (the user's own dotfiles; never a project's file).
// A missing file reads as empty.
func ReadRegular(path string, max int64, follow bool) ([]byte, error) {
	f, err := os.OpenFile(path, openFlags(follow), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (a symlink is not followed here)", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, max>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, max>>20)
	}
	return data, nil
}

// Nesting reports how deeply brackets and braces nest in data, outside
// strings: parsers recurse on them, and a file from anywhere may nest a
// million deep.
func Nesting(data []byte) int {
	depth, deepest := 0, 0
	var quote byte
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// Editable is a user's file read for an edit that Write will put back.
type Editable struct {
	Data  []byte
	Write string      // where to write: the path, or the target a followed symlink names
	Mode  os.FileMode // the file's mode, 0600 for a new file
}

// ReadForEdit reads path as ReadRegular does (nesting at most maxNesting)
// and says where and with which mode to write it back.
func ReadForEdit(path string, max int64, follow bool, maxNesting int) (Editable, error) {
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
	if Nesting(data) > maxNesting {
		return e, fmt.Errorf("%s nests deeper than %d levels; fix or move it aside", path, maxNesting)
	}
	e.Data = data
	return e, nil
}
