package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
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
		"✗ access token (refresh works): the sfmcp daemon is not running (no socket at " + h.env["SFMCP_SOCKET"] + ")",
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

// The transport doctor's MCP check (and pat test) use says what went
// wrong with a token and leaves the next step to the check's advice: the
// bridge's ". Next: run: …" would be the advice a second time.
func TestBridgeTransportLeavesAdviceToTheCheck(t *testing.T) {
	e := &Env{Getenv: func(string) string { return "" }}
	tr := bridgeTransport(e, "p3", "https://myorg-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/S/mcp-servers/X")
	const said = "profile p3: a new sign-in is required (there is no stored sign-in)"
	got := tr.Advice(&client.Error{Code: apitype.CodeLoginRequired, Message: said, Profile: "p3"})
	if got != said {
		t.Errorf("the transport says %q, want %q", got, said)
	}
}
