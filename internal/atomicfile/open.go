package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// OpenRegular opens path for reading when it is a regular file, checked on
// the descriptor it returns (so nothing can be swapped in between the
// check and the read): a FIFO, a device or a directory is refused without
// blocking, and a symlink is followed only when follow is true (the
// user's own dotfiles; never a project's file). A missing file is an
// error that wraps fs.ErrNotExist.
func OpenRegular(path string, follow bool) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, openFlags(follow), 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, &missingError{path}
	case err != nil && !follow && isSymlink(path):
		return nil, nil, fmt.Errorf("%s is a symlink, which is not followed here", path)
	case errors.Is(err, fs.ErrPermission):
		return nil, nil, fmt.Errorf("you may not read %s", path)
	case err != nil:
		return nil, nil, fmt.Errorf("cannot open %s (%s)", path, reason(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("cannot read %s (%s)", path, reason(err))
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, st, nil
}

// readOpened reads f, opened by OpenRegular, refusing more than max bytes
// whatever its size said when it was opened.
func readOpened(f *os.File, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s (%s)", f.Name(), reason(err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %s", f.Name(), sizeText(max))
	}
	return data, nil
}

// ReadFile reads path, which must exist and be a regular file of at most
// max bytes, as OpenRegular opens it. It is the reader for every file a
// project can plant (onboarding files, manifests) and for files whose
// path comes from the environment.
func ReadFile(path string, max int64, follow bool) ([]byte, error) {
	return ReadChecked(path, max, follow, nil)
}

// ReadChecked reads path as ReadFile does, after check (when given) has
// accepted the status of the very file that is then read: nothing can be
// swapped in between the check and the read.
func ReadChecked(path string, max int64, follow bool, check func(fs.FileInfo) error) ([]byte, error) {
	f, st, err := OpenRegular(path, follow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if check != nil {
		if err := check(st); err != nil {
			return nil, err
		}
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is larger than %s", path, sizeText(max))
	}
	return readOpened(f, max)
}

// missingError says a file is not there; it is fs.ErrNotExist to callers
// that read a missing file as empty.
type missingError struct{ path string }

func (e *missingError) Error() string { return e.path + " does not exist" }
func (e *missingError) Unwrap() error { return fs.ErrNotExist }

// reason is the OS's word for what went wrong ("is a directory"), without
// Go's "open PATH:" prefix, which the message already names.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func isSymlink(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode()&fs.ModeSymlink != 0
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
