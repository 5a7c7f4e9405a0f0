package tokencmd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// FullName is the binary with every other command (config, login, daemon,
// mcp-proxy, service, …). sfmcp-token hands those commands to it.
const FullName = "sfmcp-token-full"

// FullBinary finds sfmcp-token-full: beside this executable (also after
// resolving symlinks, as package managers link binaries), else on PATH.
func FullBinary() (string, error) {
	name := FullName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		candidates := []string{filepath.Join(filepath.Dir(exe), name)}
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(real), name))
		}
		for _, c := range candidates {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", errors.New(FullName + " was not found beside sfmcp-token or on PATH")
}

// ExecFull runs the command in sfmcp-token-full and returns its exit code
// (on Unix it replaces this process, keeping pid and stdio).
func ExecFull(args []string) int {
	full, err := FullBinary()
	if err != nil {
		exitcode.Report(os.Stderr, err, "install both binaries: go install ./cmd/sfmcp-token ./cmd/sfmcp-token-full (releases ship both)")
		return exitcode.Usage
	}
	if err := execProcess(full, args); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		exitcode.Report(os.Stderr, fmt.Errorf("run %s: %w", full, err), "")
		return exitcode.Error
	}
	return exitcode.OK
}
