// Package atomicfile reads and writes users' files safely: writes so that
// readers see either the old or the new content, never a torn write
// (config, credentials, manifests, MCP client files), and reads of files a
// project may have planted (bounded, regular files only).
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to a temporary file beside path and renames it
// into place, so readers never see a half-written file.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
