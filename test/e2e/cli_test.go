package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// stampVersion is the release version the test binaries are built with,
// as goreleaser stamps it.
const stampVersion = "-X github.com/sfmcp/sfmcp/internal/version.stamp=9.8.7-test"

// Both binaries say which release they are, as `--version` and `version`.
func TestVersionInBothBinaries(t *testing.T) {
	full := filepath.Join(filepath.Dir(binary), "sfmcp-token-full")
	for _, exe := range []string{binary, full} {
		for _, arg := range []string{"--version", "version"} {
			out, err := exec.Command(exe, arg).Output()
			if err != nil || string(out) != "sfmcp-token 9.8.7-test\n" {
				t.Errorf("%s %s: %q, %v", filepath.Base(exe), arg, out, err)
			}
		}
	}
}

// Help is on stdout with exit 0, for every command and subcommand, also
// through the fast binary (which hands help to the full one).
func TestHelpOnStdout(t *testing.T) {
	p := newProc(t)
	for _, args := range [][]string{
		{}, {"--help"}, {"help"}, {"help", "login"}, {"login", "--help"}, {"headers", "--help"}, {"token", "-h"},
		{"mcp", "--help"}, {"mcp"}, {"mcp", "add", "--help"}, {"pat", "--help"}, {"pat", "rotate", "--help"},
		{"service", "--help"}, {"profile", "--help"}, {"profile", "add", "--help"}, {"admin", "--help"}, {"admin", "setup", "--help"},
		{"completion", "--help"},
	} {
		code, out, errOut := p.run(nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || errOut != "" {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
	_, out, _ := p.run(nil, "mcp", "add", "--help")
	if !strings.Contains(out, "Examples:") || !strings.Contains(out, "sfmcp-token mcp add snowflake") || !strings.Contains(out, "--server") {
		t.Errorf("mcp add --help has no examples or flags:\n%s", out)
	}
}

// Anything unexpected on the command line is exit 2 with the usage line
// on stderr, never silently ignored; nothing is printed on stdout.
func TestUsageErrorsExitTwo(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	p.mustRun("profile", "add", "team", "--account", "myorg-acct", "--host", p.sf.Host(), "--default")
	p.mustRun("profile", "add", "local", "--account", "myorg-other", "--host", p.sf.Host())
	for _, tc := range []struct {
		args  []string
		usage string // the usage line the error names
	}{
		{[]string{"nope"}, "usage: sfmcp-token COMMAND [flags]"},
		// The hot binary hands a mistyped command to sfmcp-token-full,
		// whose answer suggests the command meant.
		{[]string{"logn"}, "Did you mean this?\n\tlogin\nusage: sfmcp-token COMMAND [flags]"},
		{[]string{"login", "a", "b"}, "usage: sfmcp-token login [PROFILE] [flags]"},
		{[]string{"login", "--bogus"}, "usage: sfmcp-token login"},
		{[]string{"login", "local", "--profile", "team"}, "usage: sfmcp-token login"},
		{[]string{"logout", "local", "extra"}, "usage: sfmcp-token logout"},
		{[]string{"logout", "local", "--all"}, "usage: sfmcp-token logout"},
		{[]string{"headers", "extra"}, "usage: sfmcp-token headers"},
		{[]string{"headers", "--bogus"}, "usage: sfmcp-token headers"},
		{[]string{"token", "--profile"}, "usage: sfmcp-token token"},
		{[]string{"status", "a", "b"}, "usage: sfmcp-token status"},
		{[]string{"doctor", "a", "b"}, "usage: sfmcp-token doctor"},
		{[]string{"mcp-proxy", "extra", "--server", "DB.S.N"}, "usage: sfmcp-token mcp-proxy"},
		{[]string{"mcp-proxy"}, "usage: sfmcp-token mcp-proxy"},
		{[]string{"mcp", "bogus"}, "usage: sfmcp-token mcp COMMAND"},
		{[]string{"mcp", "add"}, "usage: sfmcp-token mcp add NAME"},
		{[]string{"profile", "add"}, "usage: sfmcp-token profile add NAME"},
		{[]string{"profile", "show", "a", "b"}, "usage: sfmcp-token profile show"},
		{[]string{"pat", "create", "extra"}, "usage: sfmcp-token pat create"},
		{[]string{"pat", "create", "--days", "many"}, "usage: sfmcp-token pat create"},
		{[]string{"admin", "setup"}, "usage: sfmcp-token admin setup"},
		{[]string{"service", "bogus"}, "usage: sfmcp-token service COMMAND"},
		{[]string{"version", "extra"}, "usage: sfmcp-token version"},
		{[]string{"help", "bogus"}, "usage: sfmcp-token help"},
	} {
		code, out, errOut := p.run(nil, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.usage) || !strings.HasPrefix(errOut, "sfmcp: ") {
			t.Errorf("%v: exit %d, want 2 and %q\nstdout: %s\nstderr: %s", tc.args, code, tc.usage, out, errOut)
		}
	}
	// Flags as releases before cobra took them (Go's flag package: one dash).
	if code, out, errOut := p.run(nil, "profile", "list", "-json"); code != 0 || !strings.HasPrefix(out, "[") {
		t.Errorf("profile list -json: exit %d %s%s", code, out, errOut)
	}
	if code, _, errOut := p.run([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "-profile", "local"); code != 4 || !strings.Contains(errOut, "daemon is not running") {
		t.Errorf("headers -profile local: exit %d %s", code, errOut)
	}
	// `logout local` signs out of local, not of the default profile.
	if _, out, errOut := p.run(nil, "logout", "local"); out != "Profile local was not signed in.\n" {
		t.Errorf("logout local: %s%s", out, errOut)
	}
	// No profile at all is a configuration error: exit 2 as well.
	q := newProc(t)
	if code, _, errOut := q.run(nil, "login"); code != 2 {
		t.Errorf("login without profiles: exit %d: %s", code, errOut)
	}
}

func (p *proc) mustRun(args ...string) string {
	p.t.Helper()
	code, out, errOut := p.run(nil, args...)
	if code != 0 {
		p.t.Fatalf("sfmcp-token %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// Completions exist for the four shells, and complete profile names and
// the servers of the project's .mcp.json.
func TestCompletion(t *testing.T) {
	p := newProc(t)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := p.run(nil, "completion", shell)
		if code != 0 || !strings.Contains(out, "sfmcp-token") || len(out) < 1000 {
			t.Errorf("completion %s: exit %d, %d bytes: %s", shell, code, len(out), errOut)
		}
	}
	p.mustRun("profile", "add", "team", "--account", "myorg-acct", "--host", p.sf.Host(), "--default")
	p.mustRun("profile", "add", "local", "--account", "myorg-other", "--host", p.sf.Host())
	complete := func(dir string, args ...string) []string {
		t.Helper()
		c := p.cmd(nil, append([]string{"__complete"}, args...)...)
		c.Dir = dir
		out, err := c.Output()
		if err != nil {
			t.Fatalf("__complete %v: %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return lines[:len(lines)-1] // the last line is cobra's directive
	}
	for _, args := range [][]string{{"login", ""}, {"headers", "--profile", ""}, {"profile", "show", ""}, {"mcp-proxy", "--profile", ""}} {
		if got := complete(p.dir, args...); strings.Join(got, " ") != "local team" {
			t.Errorf("complete %v: %q", args, got)
		}
	}
	project := t.TempDir()
	p.mustRun("mcp", "add", "snowflake", "--profile", "team", "--server", "DB.PUBLIC.GONG_MCP", "--file", filepath.Join(project, ".mcp.json"))
	// A cloned project's names are offered only when a shell takes them
	// literally.
	data, _ := os.ReadFile(filepath.Join(project, ".mcp.json"))
	hostile := strings.Replace(string(data), `"mcpServers": {`, `"mcpServers": {"$(touch /tmp/pwned)": {"command": "x"}, "a\tb": {"command": "x"},`, 1)
	os.WriteFile(filepath.Join(project, ".mcp.json"), []byte(hostile), 0o600)
	if got := complete(project, "mcp", "remove", "--scope", "project", ""); strings.Join(got, " ") != "snowflake" {
		t.Errorf("complete mcp remove: %q\n%s", got, hostile)
	}
}

// sfmcp-token without sfmcp-token-full beside it or on PATH is an
// installation error (exit 2) that says what to install.
func TestMissingFullBinary(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(dir, "sfmcp-token")
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(alone, "profile", "list")
	c.Env = []string{"HOME=" + dir, "PATH=" + t.TempDir()} // a PATH without any sfmcp-token-full (an installed package has one in /usr/bin)
	var errOut strings.Builder
	c.Stderr = &errOut
	err = c.Run()
	if c.ProcessState.ExitCode() != 2 || !strings.Contains(errOut.String(), "sfmcp-token-full was not found") || !strings.Contains(errOut.String(), "install both binaries") {
		t.Fatalf("exit %d (%v): %s", c.ProcessState.ExitCode(), err, errOut.String())
	}
}

// The keychain advice for a headless Linux machine works: in a fresh
// session bus with no keyring running, the command it gives starts and
// unlocks a Secret Service that sfmcp then stores a secret in.
func TestHeadlessKeychainAdviceWorks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the advice is gnome-keyring's")
	}
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("SFMCP_TEST_OS_KEYCHAIN") == "require" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed; SFMCP_TEST_OS_KEYCHAIN=require makes this fail", tool)
		}
	}
	if !strings.Contains(exitcode.KeychainAdvice(), exitcode.HeadlessUnlock) || strings.Contains(exitcode.KeychainAdvice(), "--start") {
		t.Fatalf("the advice does not give the unlock command: %s", exitcode.KeychainAdvice())
	}
	p := newProc(t)
	script := exitcode.HeadlessUnlock + ` >/dev/null && printf %s client-secret-value | "$SFMCP" profile add corp --account myorg-acct --host "$HOST" --client-id CID --client-type confidential --redirect-uri http://127.0.0.1:3000/oauth/callback --client-secret-stdin`
	c := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	c.Env = append(append([]string{}, p.env...), "KEYRING_PASSWORD=pw", "SFMCP="+binary, "HOST="+p.sf.Host(), "XDG_DATA_HOME="+filepath.Join(p.dir, "data"))
	if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "Profile corp saved") {
		t.Fatalf("the advised command did not give a working keychain: %v\n%s", err, out)
	}
}

// A first login on a machine without a session bus starts no bus and no
// keyring of its own (they would outlive the command and take the sign-in
// with them): it says what to do instead. dbus-launch and
// gnome-keyring-daemon on PATH record any start.
func TestLoginWithoutABusStartsNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is Linux's")
	}
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		t.Skip("this user has a session bus at /run/user/UID/bus, which sfmcp rightly uses")
	}
	p := newProc(t)
	p.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host())
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "started")
	for _, tool := range []string{"dbus-launch", "dbus-daemon", "gnome-keyring-daemon"} {
		script := "#!/bin/sh\necho " + tool + " >> " + marker + "\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := exec.Command(binary, "login", "prod", "--no-browser")
	c.Env = []string{"HOME=" + p.dir, "PATH=" + bin + ":" + filepath.Dir(binary) + ":/usr/bin:/bin", "SFMCP_KEYCHAIN_TIMEOUT=2s"}
	out, _ := c.CombinedOutput()
	if c.ProcessState.ExitCode() != 4 || !strings.Contains(string(out), "no D-Bus session bus") || !strings.Contains(string(out), exitcode.HeadlessUnlock) {
		t.Fatalf("exit %d:\n%s", c.ProcessState.ExitCode(), out)
	}
	if started, err := os.ReadFile(marker); err == nil {
		t.Fatalf("login started %s", started)
	}
}
