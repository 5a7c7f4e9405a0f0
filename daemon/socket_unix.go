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
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open the daemon lock %s: %w", lockPath, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(lockPath)
		lock.Close()
		return nil, nil, fmt.Errorf("%w (pid %s, socket %s); stop it first or use it", ErrAlreadyRunning, strings.TrimSpace(string(pid)), path)
	}
	_ = lock.Truncate(0)
	_, _ = lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	unlock := func() { _ = unix.Flock(int(lock.Fd()), unix.LOCK_UN); lock.Close() }

	// We hold the lock, so a socket file here belongs to a daemon that died.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		unlock()
		return nil, nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
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

func fileOwner(st fs.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
