//go:build unix

package cli

import (
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// headers after logout says what happened once and what to do once: the
// daemon's message leaves the command to the code's advice.
func TestHeadersAfterLogoutAdvisesOnce(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.privateDaemon()
	h.startDaemon()
	h.signIn()
	h.mustRun("logout", "prod")
	code, out, errOut := h.run("", "headers", "--profile", "prod")
	if code != exitcode.LoginRequired || out != "" {
		t.Fatalf("exit %d, stdout %q; want %d and nothing", code, out, exitcode.LoginRequired)
	}
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "a new sign-in is required") || lines[1] != "sfmcp: run: sfmcp-token login --profile prod" {
		t.Errorf("want what happened, then what to do:\n%s", errOut)
	}
	if n := strings.Count(errOut, "sfmcp-token login"); n != 1 {
		t.Errorf("the login command is named %d times, want once:\n%s", n, errOut)
	}
}
