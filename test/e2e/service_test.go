package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/service"
)

// Where systemctl --user cannot reach a user manager (containers, su, some
// SSH sessions), the service commands say what is true: the unit is
// installed and enabled, and whether it runs cannot be told, with
// systemctl's own reason. This uses the real systemctl.
func TestServiceWithoutUserManager(t *testing.T) {
	if _, err := exec.LookPath("systemctl"); err != nil {
		if os.Getenv("SFMCP_TEST_SYSTEMCTL") == "require" {
			t.Fatal("systemctl is not installed (apt-get install systemd)")
		}
		t.Skip("systemctl is not installed; SFMCP_TEST_SYSTEMCTL=require makes this fail")
	}
	if service.UserManagerRunning(os.Getenv) {
		t.Skip("a systemd user manager runs for this user; this test is for machines without one (CI)")
	}
	p := newProc(t)
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := p.run(nil, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out, errOut
	}
	if out, _ := run(0, "service", "status"); !strings.Contains(out, "installed: no") {
		t.Fatalf("status before install:\n%s", out)
	}
	// What install may promise depends on whether systemd runs at all
	// (containers: not) or only no user manager runs for this user (su).
	out, _ := run(0, "service", "install")
	wantInstall, advice := []string{"Installed and enabled", "next login", "Failed to connect to bus", "loginctl enable-linger"}, "loginctl enable-linger"
	if !service.SystemdRunning() {
		wantInstall, advice = []string{"Wrote ", "does not run systemd", "starts on demand"}, "does not run systemd"
		if strings.Contains(out, "next login") {
			t.Errorf("install promises a start at login on a machine without systemd:\n%s", out)
		}
	}
	for _, want := range wantInstall {
		if !strings.Contains(out, want) {
			t.Errorf("install lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "could not enable") {
		t.Errorf("install says it could not enable an enabled unit:\n%s", out)
	}
	out, _ = run(0, "service", "status")
	for _, want := range []string{"installed: yes", "enabled:   enabled", "running:   unknown: Failed to connect to bus", advice} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	_, errOut := run(4, "service", "start")
	if !strings.Contains(errOut, "Failed to connect to bus") || !strings.Contains(errOut, advice) || strings.Contains(errOut, "is it installed") {
		t.Errorf("start hides the reason:\n%s", errOut)
	}
	run(0, "service", "uninstall")
	if out, _ := run(0, "service", "status"); !strings.Contains(out, "installed: no") {
		t.Fatalf("status after uninstall:\n%s", out)
	}
	_, errOut = run(2, "service", "start")
	if !strings.Contains(errOut, "not installed") {
		t.Errorf("start without a unit:\n%s", errOut)
	}
}
