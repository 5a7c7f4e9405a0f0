package keychain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

var errFileCorrupt = errors.New("the credential file is not valid JSON; move it aside and sign in again")

// fileBackend keeps entries in one JSON object in a 0600 file. It exists for
// machines with no keychain and is only used when chosen explicitly.
type fileBackend struct {
	path string
}

// FilePath returns where the file store keeps its entries in dir.
func FilePath(dir string) string { return filepath.Join(dir, "credentials.json") }

func newFileBackend(dir string) *fileBackend { return &fileBackend{path: FilePath(dir)} }

func (f *fileBackend) get(key string) (string, error) {
	var v string
	err := f.withLock(func() error {
		m, err := f.read()
		if err != nil {
			return err
		}
		var ok bool
		if v, ok = m[key]; !ok {
			return ErrNotFound
		}
		return nil
	})
	return v, err
}

func (f *fileBackend) set(key, value string) error {
	return f.update(func(m map[string]string) error { m[key] = value; return nil })
}

func (f *fileBackend) delete(key string) error {
	return f.update(func(m map[string]string) error {
		if _, ok := m[key]; !ok {
			return ErrNotFound
		}
		delete(m, key)
		return nil
	})
}

func (f *fileBackend) update(change func(map[string]string) error) error {
	return f.withLock(func() error {
		m, err := f.read()
		if err != nil {
			return err
		}
		if err := change(m); err != nil {
			return err
		}
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		return atomicfile.Write(f.path, data, 0o600)
	})
}

// maxFileStore bounds the file store: a few profiles' tokens.
const maxFileStore = 4 << 20

func (f *fileBackend) read() (map[string]string, error) {
	m := map[string]string{}
	data, err := atomicfile.ReadFile(f.path, maxFileStore, true)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(f.path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users (mode %v); run: chmod 600 %s", f.path, st.Mode().Perm(), f.path)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, errFileCorrupt
	}
	return m, nil
}

// withLock serialises read-modify-write cycles between processes (a login
// and a daemon refresh may write at the same time).
func (f *fileBackend) withLock(fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
