package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// doctor prints each check as a ✓/✗ line with its advice under it, exits
// 5 when one failed, and --json keeps its four fields.
func TestDoctorPrintsChecks(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	// No daemon, and none found elsewhere: this test binary must not
	// start one, nor meet the user's own.
	h.env["SFMCP_NO_AUTOSTART"] = "1"
	h.env["SFMCP_SOCKET"] = filepath.Join(h.dir, "run", "sfmcp.sock")
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
	code, out, errOut := h.run("", "doctor", "--mcp-file", "")
	for _, want := range []string{
		"✓ config readable: " + h.env["SFMCP_CONFIG"] + "\n",
		"✗ access token (refresh works): the sfmcp daemon is not running (socket " + h.env["SFMCP_SOCKET"] + ")",
		"\n    → start it: sfmcp-token daemon, or install the service: sfmcp-token service install (autostart is off when SFMCP_NO_AUTOSTART=1)\n",
		"✗ signed in: no stored sign-in\n    → run: sfmcp-token login --profile prod\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if code != exitcode.ChecksFailed || errOut != "sfmcp: 3 of 10 checks failed\nsfmcp: each ✗ above says what to do\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, out, _ = h.run("", "doctor", "--json", "--mcp-file", "")
	var checks []map[string]any
	if err := json.Unmarshal([]byte(out), &checks); err != nil || code != exitcode.ChecksFailed || len(checks) != 10 {
		t.Fatalf("doctor --json: exit %d, %v\n%s", code, err, out)
	}
	for _, c := range checks {
		for k := range c {
			if k != "check" && k != "ok" && k != "detail" && k != "advice" {
				t.Errorf("doctor --json prints %q: %v", k, c)
			}
		}
	}
	if last := checks[9]; last["check"] != "signed in" || last["ok"] != false || last["advice"] != "run: sfmcp-token login --profile prod" {
		t.Errorf("last check = %v", last)
	}
}
