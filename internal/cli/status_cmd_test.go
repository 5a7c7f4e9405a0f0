//go:build unix

package cli

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// statusRows is status's table: each profile's cells by column. Cells
// are apart by two spaces or more (tabwriter's padding); none is empty
// ("-" stands for nothing), though some hold single spaces.
func statusRows(t *testing.T, out string) map[string]map[string]string {
	t.Helper()
	gap := regexp.MustCompile(`\s{2,}`)
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "PROFILE ") {
			continue
		}
		header := gap.Split(strings.TrimSpace(l), -1)
		rows := map[string]map[string]string{}
		for _, l := range lines[i+1:] {
			cells := gap.Split(strings.TrimSpace(l), -1)
			if len(cells) != len(header) {
				break // the notes under the table
			}
			row := map[string]string{}
			for c, name := range header {
				row[name] = cells[c]
			}
			rows[row["PROFILE"]] = row
		}
		return rows
	}
	t.Fatalf("no table in:\n%s", out)
	return nil
}

// Without a daemon, status says so and where it would listen, and reports
// what the config and the store say: who is signed in, who needs to, whose
// sign-in ends within a week.
func TestStatusWithoutDaemon(t *testing.T) {
	h := newHarness(t, signInOpts)
	socket := h.privateDaemon()
	notRunning := "daemon: not running (socket " + socket + "); it starts on the first sfmcp-token headers, or run: sfmcp-token daemon\n"
	code, out, errOut := h.run("", "status")
	if code != 0 || out != notRunning+"no profiles: run sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME\n" ||
		!strings.Contains(errOut, "credentials are kept in a plain file") {
		t.Fatalf("no profiles: exit %d\n%s%s", code, out, errOut)
	}
	h.sf.UpdateIntegration("LOCAL_APPLICATION", func(in *snowflaketest.Integration) { in.RefreshTokenValidity = 72 * time.Hour })
	h.signIn()
	h.mustRun("profile", "add", "later", "--account", "myorg-acct", "--role", "ANALYST")
	out = h.mustRun("status")
	if !strings.HasPrefix(out, notRunning) {
		t.Errorf("status does not say the daemon is not running:\n%s", out)
	}
	rows := statusRows(t, out)
	if r := rows["prod"]; r["STATE"] != "idle" || r["USER"] != "ALICE" || r["ACCESS TOKEN"] != "-" || r["REFRESH TOKEN / PAT"] != "3 days left" {
		t.Errorf("prod: %v\n%s", r, out)
	}
	if r := rows["later"]; r["STATE"] != "login_required" || r["USER"] != "-" || r["REFRESH TOKEN / PAT"] != "not signed in" {
		t.Errorf("later: %v\n%s", r, out)
	}
	for _, want := range []string{
		"profile prod: sign-in expires in 3 days: run sfmcp-token login --profile prod\n",
		"profile later needs a sign-in: run sfmcp-token login --profile later\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if out := h.mustRun("status", "later"); strings.Contains(out, "prod") {
		t.Errorf("status later shows prod:\n%s", out)
	}
	code, _, errOut = h.run("", "status", "nope")
	if code != exitcode.Usage || !strings.Contains(errOut, "sfmcp: profile not found: \"nope\"\n") {
		t.Errorf("status nope: exit %d %s", code, errOut)
	}
	var view struct {
		Daemon   *struct{ PID int }
		Socket   string
		Profiles []struct{ Name, State string }
	}
	if err := json.Unmarshal([]byte(h.mustRun("status", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if view.Daemon != nil || view.Socket != socket || len(view.Profiles) != 2 {
		t.Errorf("status --json: %+v", view)
	}
}

// With the daemon running, status is the daemon's view: its pid and
// socket, the access token it holds, and a sign-out it was told about.
func TestStatusWithDaemon(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.startDaemon()
	h.signIn()
	h.mustRun("doctor", "--mcp-file", "") // the daemon fetches an access token
	out := h.mustRun("status")
	running := "daemon: running, pid " + strconv.Itoa(os.Getpid()) + ", up "
	if !strings.HasPrefix(out, running) || !strings.Contains(strings.SplitN(out, "\n", 2)[0], ", socket "+h.env["SFMCP_SOCKET"]) {
		t.Errorf("status does not show this daemon:\n%s", out)
	}
	if r := statusRows(t, out)["prod"]; r["STATE"] != "ok" || r["USER"] != "ALICE" || r["ROLE"] != "MCP_USERS" || !strings.HasPrefix(r["ACCESS TOKEN"], "expires in ") {
		t.Errorf("prod: %v\n%s", r, out)
	}
	var view struct {
		Daemon *struct {
			PID    int
			Socket string
		}
		Profiles []struct{ Name, State string }
	}
	if err := json.Unmarshal([]byte(h.mustRun("status", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if view.Daemon == nil || view.Daemon.PID != os.Getpid() || view.Daemon.Socket != h.env["SFMCP_SOCKET"] || len(view.Profiles) != 1 || view.Profiles[0].State != "ok" {
		t.Errorf("status --json: %+v", view)
	}
	h.mustRun("logout", "prod")
	out = h.mustRun("status")
	if r := statusRows(t, out)["prod"]; r["STATE"] != "login_required" || !strings.Contains(out, "profile prod needs a sign-in: run sfmcp-token login --profile prod\n") {
		t.Errorf("after logout the daemon still serves prod: %v\n%s", r, out)
	}
}
