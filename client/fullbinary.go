package client

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// FullName is the binary with every command but headers and token: it
// runs the daemon, and sfmcp-token hands it every other command.
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
