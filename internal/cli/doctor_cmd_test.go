//go:build unix

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// signInOpts is a stand-in that signs ALICE in at once and reports when
// her refresh token expires.
var signInOpts = snowflaketest.Options{AutoApprove: "alice", ExtraTokenFields: true}

// doctorReady is a healthy set-up: prod signed in, the daemon running in
// this process, and an .mcp.json whose snowflake entry uses prod. It
// returns that file.
func doctorReady(h *harness) string {
	h.t.Helper()
	h.startDaemon()
	h.signIn()
	file := filepath.Join(h.dir, ".mcp.json")
	h.mustRun("mcp", "add", "snowflake", "--file", file, "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token")
	return file
}

// reportLine is one check of doctor's report as the user reads it: the
// start of its line, and what the advice under it says ("" for none).
type reportLine struct{ check, advice string }

// findCheck finds the line starting with want.check and checks the advice
// line under it.
func findCheck(t *testing.T, out string, want reportLine) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, want.check) {
			continue
		}
		advice := ""
		if i+1 < len(lines) {
			advice, _ = strings.CutPrefix(lines[i+1], "    → ")
			if advice == lines[i+1] {
				advice = "" // the next check, not advice
			}
		}
		switch {
		case want.advice == "" && advice != "":
			t.Errorf("%q has advice %q, want none", line, advice)
		case !strings.Contains(advice, want.advice):
			t.Errorf("advice under %q is %q, want it to say %q", line, advice, want.advice)
		}
		return
	}
	t.Errorf("no line starting %q in the report:\n%s", want.check, out)
}

// Each of doctor's checks, passing and failing: the check's line, the
// advice under a failing one, and exit 5 when any fails. {host}, {port},
// {socket}, {sockdir}, {dir} and {pid} stand for this test's values.
func TestDoctorChecks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    snowflaketest.Options
		arrange func(h *harness) []string // the fault; returns doctor's arguments
		want    []reportLine
		absent  []string // checks not made
		// linuxOnly: elsewhere the OS keychain is the user's own
		linuxOnly bool
	}{{
		name:    "healthy",
		opts:    signInOpts,
		arrange: func(h *harness) []string { return []string{"doctor", "--mcp-file", doctorReady(h)} },
		want: []reportLine{
			{"✓ config readable: {dir}/config.toml", ""},
			{"✓ profile selected: prod", ""},
			{"✓ account host: {host}", ""},
			{"✓ credential store reachable: the file store (chosen explicitly; not the OS keychain): {dir}/data/sfmcp/credentials.json", ""},
			{"✓ daemon running: pid {pid}, socket {socket}", ""},
			{"✓ socket permissions: directory 0700, socket 0600", ""},
			{"✓ TLS certificate verifies: {host}", ""},
			{"✓ clock in sync with Snowflake: skew ", ""},
			{"✓ access token (refresh works): profile prod", ""},
			{"✓ MCP server snowflake answers initialize + tools/list: 2 tools", ""},
			{"✓ refresh token valid for 7+ days: 90 days left", ""},
		},
		absent: []string{"✗", "host resolves"}, // a loopback address is not looked up
	}, {
		name: "config unreadable",
		arrange: func(h *harness) []string {
			h.writeFile("config.toml", "[profiles.prod\n")
			return []string{"doctor"}
		},
		want:   []reportLine{{"✗ config readable: {dir}/config.toml", "fix the file or move it aside: config {dir}/config.toml: toml: line 2"}},
		absent: []string{"profile selected"},
	}, {
		name:    "no profile",
		arrange: func(h *harness) []string { return []string{"doctor"} },
		want: []reportLine{
			{"✓ config readable", ""},
			{"✗ profile selected", "run: sfmcp-token profile list (or sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME)"},
		},
		absent: []string{"account host"},
	}, {
		name: "account host refused",
		arrange: func(h *harness) []string {
			h.writeFile("config.toml", "[profiles.prod]\nhost = \"http://example.com\"\n")
			return []string{"doctor", "prod"}
		},
		want:   []reportLine{{"✓ profile selected: prod", ""}, {"✗ account host", `"http://example.com": plain http is allowed only for loopback addresses`}},
		absent: []string{"credential store"},
	}, {
		name: "credential store unreachable",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			h.signIn()
			h.env["SFMCP_KEYRING"] = "no-such-store"
			return []string{"doctor", "--mcp-file", ""}
		},
		want:   []reportLine{{"✗ credential store reachable", "the Secret Service is missing or locked"}},
		absent: []string{"signed in", "refresh token valid"}, // nothing to read them from
	}, {
		name:      "no session bus for the OS keychain",
		linuxOnly: true,
		arrange: func(h *harness) []string {
			h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
			delete(h.env, "SFMCP_KEYRING")
			h.env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/bus"
			return []string{"doctor", "--mcp-file", ""}
		},
		want: []reportLine{{"✗ credential store reachable: the OS keychain", "the Secret Service is missing or locked. At a desktop, unlock the login keyring."}},
	}, {
		name: "daemon not running",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			h.signIn()
			return []string{"doctor", "--mcp-file", ""}
		},
		want: []reportLine{
			{"✗ daemon running: pid 0, socket {socket}", "start it: sfmcp-token daemon, or install the service: sfmcp-token service install"},
			{"✗ access token (refresh works): the sfmcp daemon is not running (no socket at {socket})", "start it: sfmcp-token daemon, or install the service: sfmcp-token service install (autostart is off when SFMCP_NO_AUTOSTART=1)"},
			{"✓ socket permissions: directory 0700, no socket yet", ""},
			{"✓ refresh token valid for 7+ days", ""},
		},
	}, {
		name: "socket open to others",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			file := doctorReady(h)
			if err := os.Chmod(h.env["SFMCP_SOCKET"], 0o666); err != nil {
				h.t.Fatal(err)
			}
			return []string{"doctor", "--mcp-file", file}
		},
		want: []reportLine{
			{"✓ daemon running: pid {pid}", ""},
			{"✗ socket permissions: directory 0700, socket 0666", "run: chmod 700 {sockdir} (the daemon refuses other users' connections either way)"},
		},
	}, {
		name: "host resolves, certificate for another name",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			_, port, _ := strings.Cut(h.sf.Host(), ":")
			h.mustRun("profile", "add", "lh", "--account", "myorg-acct", "--host", "localhost:"+port)
			return []string{"doctor", "lh", "--mcp-file", ""}
		},
		want: []reportLine{
			{"✓ host resolves: localhost", ""},
			{"✗ TLS certificate verifies: localhost:{port}", "a proxy may be intercepting TLS: set ca_file in the config to its CA bundle (tls: failed to verify certificate"},
			{`✗ clock in sync with Snowflake: Get "https://localhost:{port}/"`, "check the network"},
		},
	}, {
		name: "host does not resolve",
		arrange: func(h *harness) []string {
			h.mustRun("profile", "add", "nx", "--account", "myorg-acct", "--host", "nonexistent.invalid")
			return []string{"doctor", "nx", "--mcp-file", ""}
		},
		want: []reportLine{
			{"✗ host resolves: nonexistent.invalid: the host does not resolve", "check the account identifier (SELECT CURRENT_ORGANIZATION_NAME(), CURRENT_ACCOUNT_NAME()) and your DNS/VPN"},
			{"✗ TLS certificate verifies: skipped: the host does not resolve", ""},
			{"✗ clock in sync with Snowflake: skipped: the host does not resolve", ""},
		},
		// The resolver's own words (Get "https://…": dial tcp: lookup …
		// no such host) say nothing the check does not.
		absent: []string{"lookup", "no such host", "dial tcp"},
	}, {
		name: "never signed in",
		arrange: func(h *harness) []string {
			h.startDaemon()
			h.mustRun("profile", "add", "p3", "--account", "myorg-acct", "--host", h.sf.Host())
			return []string{"doctor", "p3", "--mcp-file", ""}
		},
		want: []reportLine{
			// What happened, then what to do: the command once.
			{"✗ access token (refresh works): profile p3: a new sign-in is required (there is no stored sign-in); no browser was opened (", "run: sfmcp-token login --profile p3"},
			{"✗ signed in: no stored sign-in", "run: sfmcp-token login --profile p3"},
		},
		absent: []string{"; run:", "Next:"},
	}, {
		name: "clock skew",
		opts: snowflaketest.Options{Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }},
		arrange: func(h *harness) []string {
			h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
			return []string{"doctor", "--mcp-file", ""}
		},
		want: []reportLine{
			{"✓ TLS certificate verifies: {host}", ""},
			{"✗ clock in sync with Snowflake: skew 10m", "sync the clock (timedatectl set-ntp true / sntp)"},
		},
	}, {
		name: "signed out",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			file := doctorReady(h)
			h.mustRun("logout", "prod")
			return []string{"doctor", "--mcp-file", file}
		},
		want: []reportLine{
			{"✓ daemon running", ""},
			{"✗ access token (refresh works): profile prod: a new sign-in is required", "run: sfmcp-token login --profile prod"},
			{"✗ signed in: no stored sign-in", "run: sfmcp-token login --profile prod"},
		},
		absent: []string{"MCP server"}, // no token to try them with
	}, {
		name: "no USAGE on the MCP server",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			file := doctorReady(h)
			srv := snowflaketest.DefaultMCPServer()
			srv.UsageRoles = []string{"SOMEONE_ELSE"}
			h.sf.AddMCPServer(srv)
			return []string{"doctor", "--mcp-file", file}
		},
		want: []reportLine{
			{"✓ access token (refresh works)", ""},
			{"✗ MCP server snowflake answers initialize + tools/list: 0 tools; ", "the role may lack USAGE on the MCP server (GRANT USAGE ON MCP SERVER … TO ROLE …)"},
		},
	}, {
		name: "MCP server on another host",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			doctorReady(h)
			return []string{"doctor", "--mcp-file", h.writeFile("project.json",
				`{"mcpServers":{"evil":{"type":"http","url":"https://evil.example/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/X","headersHelper":"sfmcp-token headers --profile prod"}}}`)}
		},
		want: []reportLine{{"✗ MCP server evil skipped: the MCP server host evil.example is not profile prod's host {host}; no token was sent",
			"no token goes there; if {dir}/project.json came with a project, remove or fix that entry"}},
	}, {
		name: "MCP file not JSON",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			doctorReady(h)
			return []string{"doctor", "--mcp-file", h.writeFile("bad.json", "{")}
		},
		want: []reportLine{{"✗ MCP configuration: {dir}/bad.json is not JSON", "fix {dir}/bad.json"}},
	}, {
		name: "no MCP server uses the profile",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			doctorReady(h)
			return []string{"doctor", "--mcp-file", h.writeFile("none.json", `{"mcpServers":{}}`)}
		},
		want:   []reportLine{{"✓ MCP servers configured: none in {dir}/none.json use profile prod", ""}},
		absent: []string{"✗"},
	}, {
		name: "sign-in expires within a week",
		opts: signInOpts,
		arrange: func(h *harness) []string {
			h.sf.UpdateIntegration("LOCAL_APPLICATION", func(in *snowflaketest.Integration) { in.RefreshTokenValidity = 72 * time.Hour })
			doctorReady(h)
			return []string{"doctor", "--mcp-file", ""}
		},
		want: []reportLine{{"✗ refresh token valid for 7+ days: 3 days left", "sign in again before it expires: sfmcp-token login --profile prod"}},
	}, {
		name: "expiry not reported",
		opts: snowflaketest.Options{AutoApprove: "alice"},
		arrange: func(h *harness) []string {
			doctorReady(h)
			return []string{"doctor", "--mcp-file", ""}
		},
		want:   []reportLine{{"✓ refresh token valid for 7+ days: expiry not reported by Snowflake (integration default: 90 days from sign-in)", ""}},
		absent: []string{"✗"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("needs Linux")
			}
			h := newHarness(t, tc.opts)
			h.privateDaemon()
			_, port, _ := strings.Cut(h.sf.Host(), ":")
			fill := strings.NewReplacer("{host}", h.sf.Host(), "{port}", port, "{socket}", h.env["SFMCP_SOCKET"],
				"{sockdir}", filepath.Dir(h.env["SFMCP_SOCKET"]), "{dir}", h.dir, "{pid}", strconv.Itoa(os.Getpid()))
			args := tc.arrange(h)
			for i := range args {
				args[i] = fill.Replace(args[i])
			}
			code, out, errOut := h.run("", args...)
			for _, w := range tc.want {
				findCheck(t, out, reportLine{fill.Replace(w.check), fill.Replace(w.advice)})
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("the report has %q:\n%s", a, out)
				}
			}
			failed := strings.Count("\n"+out, "\n✗ ")
			all := failed + strings.Count("\n"+out, "\n✓ ")
			switch {
			case failed == 0 && (code != 0 || errOut != ""):
				t.Errorf("every check passed: exit %d, want 0\n%s", code, errOut)
			case failed > 0 && code != exitcode.ChecksFailed:
				t.Errorf("%d checks failed: exit %d, want %d", failed, code, exitcode.ChecksFailed)
			case failed > 0 && errOut != fmt.Sprintf("sfmcp: %d of %d checks failed\nsfmcp: each ✗ above says what to do\n", failed, all):
				t.Errorf("verdict on stderr: %q (%d of %d failed)", errOut, failed, all)
			}
			if t.Failed() {
				t.Logf("doctor said:\n%s%s", out, errOut)
			}
		})
	}
}

// doctor --json is the same report as data: every check with ok, the
// advice only on failing ones, and exit 5.
func TestDoctorJSON(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.privateDaemon()
	h.signIn()
	code, out, _ := h.run("", "doctor", "--json", "--mcp-file", "")
	var checks []struct {
		Check, Detail, Advice string
		OK                    *bool
	}
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code != exitcode.ChecksFailed || len(checks) < 8 {
		t.Fatalf("exit %d, %d checks:\n%s", code, len(checks), out)
	}
	byName := map[string]int{}
	for i, c := range checks {
		byName[c.Check] = i
		if c.OK == nil || *c.OK == (c.Advice != "") {
			t.Errorf("check %q: ok %v with advice %q", c.Check, c.OK, c.Advice)
		}
	}
	daemon, ok := byName["daemon running"]
	if !ok || *checks[daemon].OK || !strings.Contains(checks[daemon].Advice, "sfmcp-token service install") {
		t.Errorf("daemon check: %+v", checks[daemon])
	}
	if i, ok := byName["profile selected"]; !ok || checks[i].Detail != "prod" || !*checks[i].OK {
		t.Errorf("profile check: %+v", checks[i])
	}
}
