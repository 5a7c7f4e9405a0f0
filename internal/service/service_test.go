package service

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

var update = flag.Bool("update", false, "rewrite the golden files and packaging/sfmcp.service")

// testService is the service for a fresh HOME (returned) with env as the
// user's environment, and no systemctl on PATH.
func testService(t *testing.T, env map[string]string) (*Service, string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home) // kardianos finds the unit's directory there
	t.Setenv("PATH", t.TempDir())
	svc, err := Open(Options{Executable: "/usr/local/bin/sfmcp-token", Home: home, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Packaged {
		t.Skip("a package's unit is installed here: install would enable it")
	}
	return svc, home
}

// Install writes the unit (compared with the golden file) and the user's
// environment beside it; without a service manager it says what is left
// to do; installing again replaces the unit; uninstall leaves nothing.
func TestInstallUninstall(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the golden unit is the Linux systemd one")
	}
	svc, home := testService(t, map[string]string{"SFMCP_CONFIG": "/home/u/.config/sfmcp/config.toml", "SFMCP_KEYRING": "file"})
	if st := svc.Status(); st.Installed {
		t.Fatalf("installed before install: %+v", st)
	}
	done, err := svc.Install()
	want := WrittenNotEnabled
	if !SystemdRunning() {
		want = WrittenNoSystemd
	}
	if err != nil || done.State != want || done.Err == nil {
		t.Fatalf("Install = %+v, %v; want state %v and why", done, err, want)
	}
	got, err := os.ReadFile(svc.Unit)
	if err != nil || svc.Unit != filepath.Join(home, ".config", "systemd", "user", "sfmcp.service") {
		t.Fatalf("unit %s: %v", svc.Unit, err)
	}
	golden := filepath.Join("testdata", "sfmcp.service.golden")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	if wantUnit, _ := os.ReadFile(golden); string(got) != string(wantUnit) {
		t.Fatalf("unit differs from %s (go test ./internal/service -update):\n%s", golden, got)
	}
	dropIn, _ := os.ReadFile(svc.dropInPath())
	if !strings.HasSuffix(string(dropIn), "[Service]\nEnvironment=\"SFMCP_CONFIG=/home/u/.config/sfmcp/config.toml\"\nEnvironment=\"SFMCP_KEYRING=file\"\n") {
		t.Fatalf("drop-in:\n%s", dropIn)
	}
	moved := testServiceAt(t, home, "/opt/sfmcp/sfmcp-token")
	if _, err := moved.Install(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(svc.Unit); !strings.Contains(string(got), "ExecStart=/opt/sfmcp/sfmcp-token \"daemon\"") {
		t.Fatalf("reinstall did not update the unit:\n%s", got)
	}
	if st := svc.Status(); !st.Installed || !st.Systemd || st.Running.Err == nil {
		t.Fatalf("status without systemctl: %+v", st)
	}
	if _, err := svc.Uninstall(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{svc.Unit, svc.dropInPath()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("uninstall left %s", p)
		}
	}
	var se *Error
	if err := svc.Control("start"); !errors.As(err, &se) || se.Kind != NotInstalled || !errors.Is(err, ErrNotInstalled) || se.Advice != "install it: sfmcp-token service install" {
		t.Fatalf("start without a unit: %v", err)
	}
}

// testServiceAt is the service running exe for an existing HOME.
func testServiceAt(t *testing.T, home, exe string) *Service {
	t.Helper()
	svc, err := Open(Options{Executable: exe, Home: home, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// #20: a value with a newline or a % specifier in the user's environment
// stays one quoted Environment= value: it adds no directive and systemd
// expands nothing in it. A value that is not UTF-8, which systemd would
// drop, stops install before anything is written.
func TestDropInQuotesTheEnvironment(t *testing.T) {
	for _, c := range []struct{ k, v, want string }{
		{"SFMCP_KEYRING", "file", `Environment="SFMCP_KEYRING=file"`},
		{"SFMCP_CONFIG", "/x/c.toml\nExecStartPre=/bin/sh -c 'touch /tmp/owned' %h \"{{.}}\" \\", `Environment="SFMCP_CONFIG=/x/c.toml\x0aExecStartPre=/bin/sh -c 'touch /tmp/owned' %%h \"{{.}}\" \\"`},
		{"HTTPS_PROXY", "http://p:3128\r\x7f", `Environment="HTTPS_PROXY=http://p:3128\x0d\x7f"`},
	} {
		if got := environmentLine(c.k, c.v); got != c.want {
			t.Errorf("%s=%q: %s, want %s", c.k, c.v, got, c.want)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	svc, _ := testService(t, map[string]string{"SFMCP_CONFIG": "/x/\xff.toml"})
	var se *Error
	if _, err := svc.Install(); !errors.As(err, &se) || se.Kind != BadEnvironment || !strings.Contains(err.Error(), "SFMCP_CONFIG is not UTF-8") {
		t.Fatalf("a value that is not UTF-8: %v", err)
	}
	if _, err := os.Stat(svc.Unit); !os.IsNotExist(err) {
		t.Fatal("the unit was written")
	}
}

// A failed step ends the command by who can fix it: the user (exit 2), a
// service manager that may come back (4), or nobody yet (1).
func TestErrorExitCode(t *testing.T) {
	for kind, want := range map[Kind]int{Files: exitcode.Error, Manager: exitcode.Unavailable, NotInstalled: exitcode.Usage, BadEnvironment: exitcode.Usage} {
		if got := (&Error{Kind: kind, Err: errors.New("x")}).ExitCode(); got != want {
			t.Errorf("kind %d: exit %d, want %d", kind, got, want)
		}
	}
}
