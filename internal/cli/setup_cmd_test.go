//go:build unix

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// onboarding is what `admin setup --onboarding-file` hands a user, for
// profile team on the stand-in.
func onboarding(h *harness) string {
	return h.writeFile("sfmcp-onboarding.toml", `profile = "team"
account = "myorg-acct"
host = "`+h.sf.Host()+`"
role = "MCP_USERS"
mcp_server = "DB.PUBLIC.GONG_MCP"
`)
}

// claudeEntry is the entry name of ~/.claude.json under the harness HOME.
func claudeEntry(t *testing.T, h *harness, name string) (entry struct {
	Type, Command string
	Args          []string
}) {
	t.Helper()
	var doc struct{ MCPServers map[string]json.RawMessage }
	data := h.readFile(".claude.json")
	h.leaks.Record("~/.claude.json", data)
	if err := json.Unmarshal([]byte(data), &doc); err != nil {
		t.Fatalf("~/.claude.json: %v\n%s", err, data)
	}
	if err := json.Unmarshal(doc.MCPServers[name], &entry); err != nil {
		t.Fatalf("entry %s: %v\n%s", name, err, data)
	}
	return entry
}

// A user with the administrator's onboarding file runs one command, over
// SSH (--no-browser: the sign-in URL is opened by hand): the profile, the
// sign-in, Claude Code's entry, and doctor green, in that order.
func TestSetupFromOnboardingFile(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.startDaemon()
	setup := h.start("setup", "--from", onboarding(h), "--no-browser")
	if _, _, err := h.sf.Visit(setup.lineWith("/sfmcp/start")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := setup.wait()
	if code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", code, out, errOut)
	}
	claude := filepath.Join(h.dir, ".claude.json")
	steps := []string{
		"✓ profile team: added (" + h.sf.Host() + ", client SNOWFLAKE$LOCAL_APPLICATION)",
		"Logged in to " + h.sf.Host() + " as ALICE (profile team)",
		"✓ MCP server snowflake: added to " + claude + " (Claude Code; the stdio bridge: a fresh token per request)",
		"Summary:",
		"  service: not installed; the daemon starts on demand (sfmcp-token service install starts it at login)",
		"  doctor: all ",
		"checks passed. Ready: start your MCP client and use the snowflake MCP server.",
	}
	at := 0
	for _, s := range steps {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("setup output lacks %q (in this order):\n%s", s, out)
		}
		at += i + len(s)
	}
	var show map[string]any
	if err := json.Unmarshal([]byte(h.mustRun("profile", "show", "team", "--json")), &show); err != nil {
		t.Fatal(err)
	}
	if show["role"] != "MCP_USERS" || show["default"] != true || show["endpoint"] != "https://"+h.sf.Host() {
		t.Errorf("profile team = %v", show)
	}
	exe, _ := os.Executable()
	entry := claudeEntry(t, h, "snowflake")
	if entry.Type != "stdio" || entry.Command != exe || strings.Join(entry.Args, " ") != "mcp-proxy --profile team --server DB.PUBLIC.GONG_MCP" {
		t.Errorf("~/.claude.json entry = %+v", entry)
	}
	if cred, err := h.store().Credential("team"); err != nil || cred.User != "ALICE" {
		t.Errorf("stored sign-in: %+v %v", cred, err)
	}
	if n := h.sf.Counters().CodeExchanges; n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
}

// Run again over what is done, setup changes nothing it need not: the
// profile and the sign-in stay, and sfmcp's own entry for the same server
// (here written for another path of the binary) is rewritten, not refused.
func TestSetupKeepsWhatIsDone(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.startDaemon()
	h.mustRun("profile", "add", "team", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "mcp_users")
	h.mustRun("login", "team")
	h.mustRun("mcp", "add", "snowflake", "--user", "--profile", "team", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/opt/sfmcp/sfmcp-token")
	config := h.readFile("config.toml")
	exchanges := h.sf.Counters().CodeExchanges
	code, out, errOut := h.run("", "setup", "--from", onboarding(h))
	if code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"✓ profile team: already set up (" + h.sf.Host() + ", client SNOWFLAKE$LOCAL_APPLICATION)\n",
		"✓ profile team: already signed in as ALICE\n",
		"✓ MCP server snowflake: updated in " + filepath.Join(h.dir, ".claude.json") + " (Claude Code;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("setup output lacks %q:\n%s", want, out)
		}
	}
	if h.readFile("config.toml") != config {
		t.Error("setup changed a profile that was already set up")
	}
	if n := h.sf.Counters().CodeExchanges; n != exchanges {
		t.Errorf("setup signed in again (%d code exchanges, was %d)", n, exchanges)
	}
	if exe, _ := os.Executable(); claudeEntry(t, h, "snowflake").Command != exe {
		t.Error("sfmcp's entry was not rewritten for this binary")
	}
}

// Flags alone make a profile; without --server no MCP client is touched;
// with --project the entry goes into the project's .mcp.json.
func TestSetupFromFlags(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.startDaemon()
	code, out, errOut := h.run("", "setup", "--profile", "solo", "--account", "myorg-acct", "--host", h.sf.Host())
	if code != 0 || !strings.Contains(out, "✓ profile solo: added") || !strings.Contains(out, "  no MCP server added (give --server DB.SCHEMA.NAME to add one)\n") ||
		!strings.HasSuffix(out, "checks passed. Ready.\n") {
		t.Fatalf("setup without --server: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(h.dir, ".claude.json")); err == nil {
		t.Error("setup without --server wrote ~/.claude.json")
	}
	t.Chdir(h.dir)
	code, out, errOut = h.run("", "setup", "--profile", "solo", "--server", "DB.PUBLIC.GONG_MCP", "--project", "--mcp-name", "sf")
	if code != 0 || !strings.Contains(out, "✓ profile solo: already set up") || !strings.Contains(out, "✓ MCP server sf: added to .mcp.json (Claude Code;") ||
		!strings.Contains(out, "clients ask you to approve project servers") {
		t.Fatalf("setup --project: exit %d\n%s%s", code, out, errOut)
	}
	data := h.readFile(".mcp.json")
	h.leaks.Record(".mcp.json", data)
	if !strings.Contains(data, `"sf"`) || !strings.Contains(data, `"--profile",`) {
		t.Errorf(".mcp.json:\n%s", data)
	}
}

// A setup that finishes with failing checks says which, exits 5, and keeps
// what it did.
func TestSetupReportsDoctorProblems(t *testing.T) {
	h := newHarness(t, signInOpts)
	socket := h.privateDaemon() // and none runs
	code, out, errOut := h.run("", "setup", "--profile", "solo", "--account", "myorg-acct", "--host", h.sf.Host())
	if code != exitcode.ChecksFailed || !strings.Contains(out, "  doctor found problems:\n    ✗ daemon running: pid 0, socket "+socket+"\n        → start it: sfmcp-token daemon") ||
		!strings.HasSuffix(errOut, "sfmcp: setup finished, but doctor found problems\nsfmcp: fix what doctor says above, then run setup again (it keeps what is done)\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if _, err := h.store().Credential("solo"); err != nil {
		t.Errorf("the sign-in was not kept: %v", err)
	}
}

// setup refuses before it changes anything: a bad onboarding file, a
// missing value, a look-alike host, a profile or an MCP entry of that name
// with other settings. Nothing is written and no sign-in starts.
func TestSetupRefuses(t *testing.T) {
	for _, tc := range []struct {
		name          string
		arrange       func(h *harness) []string // returns setup's arguments
		message, hint string
	}{
		{"profile with other settings", func(h *harness) []string {
			h.mustRun("profile", "add", "team", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "ANALYST")
			return []string{"--from", onboarding(h)}
		}, `setup: profile team already exists with other settings (role "ANALYST", not "MCP_USERS"); nothing was changed`, "sfmcp-token profile set team"},
		{"no account", func(h *harness) []string { return []string{"--profile", "fresh"} },
			"setup: no account for the new profile fresh", "pass --account ORGNAME-ACCOUNTNAME, or --from the file your administrator gave you"},
		{"invalid profile name", func(h *harness) []string { return []string{"--profile", "bad name", "--account", "myorg-acct"} },
			`setup: "bad name" is not a valid profile name`, "use letters, digits"},
		{"invalid server", func(h *harness) []string {
			return []string{"--profile", "p", "--account", "myorg-acct", "--server", "a.b.c.d"}
		},
			`setup: --server: MCP server "a.b.c.d": give DATABASE.SCHEMA.SERVER`, ""},
		{"no onboarding file", func(h *harness) []string { return []string{"--from", filepath.Join(h.dir, "nope.toml")} },
			"read onboarding file: ", "ask your administrator for a new file, or pass the settings as flags"},
		{"onboarding file through a link", func(h *harness) []string {
			link := filepath.Join(h.dir, "link.toml")
			if err := os.Symlink(onboarding(h), link); err != nil {
				h.t.Fatal(err)
			}
			return []string{"--from", link}
		}, "read onboarding file: ", "ask your administrator for a new file"},
		{"onboarding file not TOML", func(h *harness) []string { return []string{"--from", h.writeFile("o.toml", "profile = \n")} },
			"onboarding file " + "{dir}/o.toml: toml:", "ask your administrator for a new file"},
		{"onboarding file with a command", func(h *harness) []string {
			return []string{"--from", h.writeFile("o.toml", "profile = \"x\"\naccount = \"myorg-acct\"\nheadersHelper = \"curl evil\"\n")}
		}, `onboarding file {dir}/o.toml: unknown key "headersHelper"`, "ask your administrator for a new file"},
		{"onboarding file with a path for a name", func(h *harness) []string {
			return []string{"--from", h.writeFile("o.toml", "profile = \"../x\"\naccount = \"myorg-acct\"\n")}
		}, `onboarding file {dir}/o.toml: profile "../x" is not a valid profile name`, "ask your administrator for a new file"},
		{"onboarding file without an account", func(h *harness) []string { return []string{"--from", h.writeFile("o.toml", "profile = \"x\"\n")} },
			"onboarding file {dir}/o.toml: no account", "ask your administrator for a new file"},
		{"onboarding file with a bad server", func(h *harness) []string {
			return []string{"--from", h.writeFile("o.toml", "profile = \"x\"\naccount = \"myorg-acct\"\nmcp_server = \"nope\"\n")}
		}, `onboarding file {dir}/o.toml: mcp_server: MCP server "nope"`, "ask your administrator for a new file"},
		{"look-alike host", func(h *harness) []string {
			return []string{"--from", h.writeFile("o.toml", "profile = \"new\"\naccount = \"https://snowflake-login.example.com\"\n")}
		}, "setup: snowflake-login.example.com is not a Snowflake host; nothing was changed", "run setup again with --yes"},
		{"another program's entry", func(h *harness) []string {
			h.writeFile(".claude.json", `{"mcpServers":{"snowflake":{"type":"http","url":"https://x.example/mcp"}}}`)
			return []string{"--from", onboarding(h)}
		}, `setup: Claude Code ({dir}/.claude.json): MCP server "snowflake" is not sfmcp's; nothing was changed`,
			"choose another name with --mcp-name, or remove it first: sfmcp-token mcp remove snowflake --client claude-code --scope user --force"},
		{"sfmcp's entry for another server", func(h *harness) []string {
			h.mustRun("profile", "add", "team", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "MCP_USERS")
			h.mustRun("mcp", "add", "snowflake", "--user", "--profile", "team", "--server", "DB.PUBLIC.OTHER_MCP", "--command", "/opt/sfmcp/sfmcp-token")
			return []string{"--from", onboarding(h)}
		}, `setup: Claude Code ({dir}/.claude.json) already has an MCP server "snowflake" for something else; nothing was changed`,
			"choose another name with --mcp-name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, signInOpts)
			h.privateDaemon()
			args := append([]string{"setup"}, tc.arrange(h)...)
			config, claude := h.readFile("config.toml"), h.readFile(".claude.json")
			code, out, errOut := h.run("", args...)
			message := strings.ReplaceAll(tc.message, "{dir}", h.dir)
			first, second, _ := strings.Cut(errOut, "\n")
			hinted := second == "" && tc.hint == "" || strings.HasPrefix(second, "sfmcp: ") && tc.hint != "" && strings.Contains(second, tc.hint)
			if code != exitcode.Usage || out != "" || !strings.HasPrefix(first, "sfmcp: "+message) || !hinted {
				t.Errorf("exit %d, want %d, with %q and %q\n%s%s", code, exitcode.Usage, message, tc.hint, out, errOut)
			}
			if h.readFile("config.toml") != config || h.readFile(".claude.json") != claude {
				t.Error("a refused setup changed the config or ~/.claude.json")
			}
			if n := h.sf.Counters().Authorize; n != 0 {
				t.Errorf("a refused setup started %d sign-ins", n)
			}
		})
	}
}

// A confidential client needs its secret before the sign-in: without a
// terminal to ask on, setup adds the profile, starts no sign-in, and says
// how to store the secret. Settings are compared by what they mean: a
// custom client is confidential by default, so saying so is no difference.
func TestSetupConfidentialClientWithoutSecret(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.privateDaemon()
	args := []string{"setup", "--profile", "corp", "--account", "myorg-acct", "--host", h.sf.Host(), "--client-id", "CID", "--redirect-uri", "http://127.0.0.1:3000/cb"}
	code, out, errOut := h.run("", args...)
	hint := `sfmcp: run: printf %s "$SECRET" | sfmcp-token profile set-secret corp --client-secret-stdin, then setup again`
	if code != exitcode.Usage || out != "✓ profile corp: added ("+h.sf.Host()+", client CID (confidential))\n" ||
		!strings.Contains(errOut, "setup: profile corp is a confidential client and no client secret is stored") || !strings.Contains(errOut, hint) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = h.run("", "setup", "--profile", "corp", "--client-type", "confidential")
	if code != exitcode.Usage || strings.Contains(errOut, "other settings") || !strings.Contains(out, "✓ profile corp: already set up") {
		t.Errorf("same settings, said differently: exit %d\n%s%s", code, out, errOut)
	}
	if n := h.sf.Counters().Authorize; n != 0 {
		t.Errorf("%d sign-ins started without a client secret", n)
	}
}

// setup --help promises the question about clients only where it is
// asked: on a terminal, when some are found.
func TestSetupHelpSaysWhenItAsksAboutClients(t *testing.T) {
	h := newHarness(t, signInOpts)
	help := strings.Join(strings.Fields(h.mustRun("setup", "--help")), " ")
	for _, want := range []string{
		"on a terminal, setup lists the MCP clients it finds on this machine and asks which to configure; when it finds none, or there is no terminal, it configures Claude Code without asking",
		"default: on a terminal, the ones you choose of those found here; else claude-code",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("setup --help lacks %q:\n%s", want, help)
		}
	}
}
