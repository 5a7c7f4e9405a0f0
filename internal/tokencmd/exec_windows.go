//go:build windows

package tokencmd

import (
	"os"
	"os/exec"
)

// execProcess runs path with this process's stdio and waits (Windows has
// no exec).
func execProcess(path string, args []string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
