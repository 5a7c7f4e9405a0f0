//go:build unix

package client

import (
	"errors"
	"os"
	"syscall"
)

// O_NONBLOCK too: a FIFO planted at the path must not hang the open.
const noFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

func checkOwnRegularFile(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok && int(s.Uid) != os.Getuid() {
		return errors.New("owned by another user")
	}
	return nil
}
