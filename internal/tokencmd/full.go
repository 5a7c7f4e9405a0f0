package tokencmd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// ExecFull runs the command in sfmcp-token-full and returns its exit code
// (on Unix it replaces this process, keeping pid and stdio).
func ExecFull(args []string) int {
	full, err := client.FullBinary()
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
