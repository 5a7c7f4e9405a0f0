//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// listen takes the single-instance lock beside the socket, replaces a stale
// socket file and listens with mode 0600 inside a private 0700 directory.
// release undoes it all.
func listen(path string) (ln *net.UnixListener, release func(), err error) {
	dir := filepath.Dir(path)
	if err := checkPrivateDir(dir); err != nil {
		return nil, nil, err
	}
	lockPath := path + ".lock"
	lock, err := openLock(lockPath)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(lockPath)
		lock.Close()
		return nil, nil, fmt.Errorf("%w (pid %s, socket %s); stop it first or use it", ErrAlreadyRunning, strings.TrimSpace(string(pid)), path)
	}
	_ = lock.Truncate(0)
	_, _ = lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	unlock := func() { _ = unix.Flock(int(lock.Fd()), unix.LOCK_UN); lock.Close() }

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
	return l, func() { l.Close(); unlock() }, nil
}

// openLock opens the single-instance lock file, which holds the daemon's
// pid. It never follows a symlink, and it refuses a file that holds
// anything but a pid: SFMCP_SOCKET may point next to a file that matters,
// and the lock is truncated and rewritten.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the daemon lock %s: %w (choose another SFMCP_SOCKET)", path, err)
	}
	st, err := f.Stat()
	if err == nil && (!st.Mode().IsRegular() || st.Size() > 32) {
		err = fmt.Errorf("it is not a lock file sfmcp made")
	}
	if err == nil && st.Size() > 0 {
		buf := make([]byte, st.Size())
		if _, err = f.ReadAt(buf, 0); err == nil {
			if _, perr := strconv.Atoi(strings.TrimSpace(string(buf))); perr != nil {
				err = fmt.Errorf("it holds something other than a pid")
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("refusing to use %s as the daemon lock: %v; choose another SFMCP_SOCKET", path, err)
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
