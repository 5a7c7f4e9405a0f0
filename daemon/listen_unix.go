//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sfmcp/sfmcp/client/apitype"
)

// listen takes the user's single-instance lock, records this daemon's pid
// and socket in it, replaces a stale socket file and listens with mode 0600
// inside a private 0700 directory. release undoes it all.
func listen(path, lockPath string) (ln *net.UnixListener, release func(), err error) {
	// The path goes into the lock record, one line of it.
	if strings.ContainsAny(path, "\n\r\x00") || !filepath.IsAbs(path) {
		return nil, nil, fmt.Errorf("the socket path %q is not an absolute path on one line; choose another SFMCP_SOCKET", path)
	}
	if err := checkPrivateDir(filepath.Dir(lockPath)); err != nil {
		return nil, nil, err
	}
	lock, err := openLock(lockPath)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(lock, 4<<10))
		lock.Close()
		pid, socket, _ := apitype.ParseLockRecord(b)
		if socket == "" {
			socket = "unknown"
		}
		return nil, nil, fmt.Errorf("%w (pid %d, socket %s); stop it first or use it", ErrAlreadyRunning, pid, socket)
	}
	// The record is emptied on the way out, so no client dials a socket
	// that is gone.
	unlock := func() { _ = lock.Truncate(0); _ = unix.Flock(int(lock.Fd()), unix.LOCK_UN); lock.Close() }
	if err := checkPrivateDir(filepath.Dir(path)); err != nil {
		unlock()
		return nil, nil, err
	}

	if err := removeStaleSocket(path); err != nil {
		unlock()
		return nil, nil, err
	}
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		unlock()
		return nil, nil, err
	}
	// Only a socket that listens is recorded, so a record always parses.
	_ = lock.Truncate(0)
	_, _ = lock.WriteAt(apitype.FormatLockRecord(os.Getpid(), path), 0)
	return l, func() { l.Close(); unlock() }, nil
}

// openLock opens the single-instance lock file. It never follows a
// symlink, and it refuses a file that holds anything but a lock record:
// the lock is truncated and rewritten.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the daemon lock %s: %w", path, err)
	}
	st, err := f.Stat()
	if err == nil && (!st.Mode().IsRegular() || st.Size() > 4<<10) {
		err = fmt.Errorf("it is not a lock file sfmcp made")
	}
	if err == nil && st.Size() > 0 {
		buf := make([]byte, st.Size())
		if _, err = f.ReadAt(buf, 0); err == nil {
			_, _, err = apitype.ParseLockRecord(buf)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("refusing to use %s as the daemon lock: %v; remove it if no daemon runs", path, err)
	}
	return f, nil
}

// removeStaleSocket removes what a dead daemon left at path: only a socket,
// and only one nobody answers on. Anything else there (SFMCP_SOCKET pointed
// at a real file, say) is left alone and refused.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; refusing to replace it: choose another SFMCP_SOCKET", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("%w (something answers on %s although its lock is free); stop it first", ErrAlreadyRunning, path)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot tell whether %s is stale (%v); remove it if no daemon runs", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the stale socket %s: %w", path, err)
	}
	return nil
}
