package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// The binaries a package installed (SFMCP_TEST_INSTALLED names their
// directory, e.g. /usr/bin, and SFMCP_TEST_INSTALLED_VERSION the version
// stamped in): they say their version, sign in against the stand-in and
// serve headers. CI runs this after dpkg -i (scripts/check-package).
func TestInstalledBinaries(t *testing.T) {
	dir := os.Getenv("SFMCP_TEST_INSTALLED")
	if dir == "" {
		t.Skip("SFMCP_TEST_INSTALLED is not set (scripts/check-package sets it after installing the .deb)")
	}
	fast, full := filepath.Join(dir, "sfmcp-token"), filepath.Join(dir, "sfmcp-token-full")
	for _, bin := range []string{fast, full} {
		out, err := exec.Command(bin, "--version").Output()
		if want := "sfmcp-token " + os.Getenv("SFMCP_TEST_INSTALLED_VERSION") + "\n"; err != nil || string(out) != want {
			t.Errorf("%s --version: %q, want %q (%v)", bin, out, want, err)
		}
	}
	sf := newStandIn(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	home := t.TempDir()
	ca := filepath.Join(home, "ca.pem")
	if err := sf.WriteCA(ca); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".config", "sfmcp"), 0o700)
	os.WriteFile(filepath.Join(home, ".config", "sfmcp", "config.toml"), []byte("ca_file = "+strconv.Quote(ca)+"\nkeyring = \"file\"\n"), 0o600)
	env := []string{"HOME=" + home, "PATH=" + dir + ":/usr/bin:/bin"}
	run := func(args ...string) string {
		t.Helper()
		c := exec.Command(fast, args...)
		c.Env = env
		out, err := c.CombinedOutput()
		if args[0] != "headers" { // a token by design
			leaks.Record("installed sfmcp-token "+strings.Join(args, " "), string(out))
		}
		if err != nil {
			t.Fatalf("sfmcp-token %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		c := exec.Command(fast, "status", "--json")
		c.Env = append(env, "SFMCP_NO_AUTOSTART=1")
		out, _ := c.Output()
		var st struct {
			Daemon *struct{ PID int } `json:"daemon"`
		}
		if json.Unmarshal(out, &st) == nil && st.Daemon != nil {
			if p, err := os.FindProcess(st.Daemon.PID); err == nil {
				p.Signal(os.Interrupt)
			}
		}
	})
	run("profile", "add", "prod", "--account", "myorg-acct", "--host", sf.Host())
	login := exec.Command(fast, "login", "prod", "--no-browser", "--timeout", "30s")
	login.Env = env
	if code, _, errOut := signInAsBrowser(t, login, func(startURL string) error { _, _, err := sf.Visit(startURL); return err }); code != 0 {
		t.Fatalf("login with the installed binaries: exit %d\n%s", code, errOut)
	}
	if out := run("headers", "--profile", "prod"); !strings.Contains(out, `"Authorization":"Bearer `) {
		t.Fatalf("headers: %s", out)
	}
	// service uses the unit the package installed; it writes no second one.
	if out := run("service", "status"); !strings.Contains(out, "/usr/lib/systemd/user/sfmcp.service") || !strings.Contains(out, "installed: yes") {
		t.Errorf("service status with the packaged unit:\n%s", out)
	}
	// Enabling needs a user manager; where none runs (CI), the error must
	// say so, and nothing else may go wrong.
	c := exec.Command(fast, "service", "install")
	c.Env = append(env, "SFMCP_SYSTEM_CONFIG=/etc/elsewhere/sfmcp.toml")
	out, err := c.CombinedOutput()
	leaks.Record("installed service install", string(out))
	if err != nil && !strings.Contains(string(out), "does not run systemd") && !strings.Contains(string(out), "no systemd user manager") {
		t.Errorf("service install with the packaged unit: %v\n%s", err, out)
	}
	dropIn := filepath.Join(home, ".config", "systemd", "user", "sfmcp.service.d", "sfmcp-environment.conf")
	if d, _ := os.ReadFile(dropIn); !strings.Contains(string(d), `Environment="SFMCP_SYSTEM_CONFIG=/etc/elsewhere/sfmcp.toml"`) {
		t.Errorf("the packaged unit did not get the user's environment:\n%s", d)
	}
	c = exec.Command(fast, "service", "uninstall")
	c.Env = env
	out, _ = c.CombinedOutput()
	leaks.Record("installed service uninstall", string(out))
	if _, err := os.Stat("/usr/lib/systemd/user/sfmcp.service"); err != nil {
		t.Errorf("service uninstall touched the package's unit: %v\n%s", err, out)
	}
	if _, err := os.Stat(dropIn); err == nil {
		t.Error("service uninstall left the environment drop-in")
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "systemd", "user", "sfmcp.service")); err == nil {
		t.Error("service install wrote a user unit beside the packaged one")
	}
}
