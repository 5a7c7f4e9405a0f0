package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

func doctorSetup(t *testing.T) (*proc, string) {
	p := signedIn(t)
	mcpFile := filepath.Join(p.dir, ".mcp.json")
	if code, _, errOut := p.run(nil, "mcp", "add", "snowflake", "--file", mcpFile, "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", binary); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := p.run(nil, "headers"); code != 0 { // start the daemon
		t.Fatal(errOut)
	}
	return p, mcpFile
}

func TestDoctorHealthy(t *testing.T) {
	p, mcpFile := doctorSetup(t)
	code, out, errOut := p.run(nil, "doctor", "--mcp-file", mcpFile)
	if code != 0 || strings.Contains(out, "✗") {
		t.Fatalf("doctor on a healthy setup: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"✓ config readable", "✓ credential store reachable", "✓ daemon running", "✓ socket permissions: directory 0700, socket 0600",
		"✓ TLS certificate verifies", "✓ clock in sync", "✓ access token (refresh works)", "✓ MCP server snowflake answers initialize + tools/list: 2 tools", "✓ refresh token valid for 7+ days"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

// A daemon that has not started yet is healthy: every client starts it on
// demand. doctor is green on a signed-in profile before any daemon runs.
func TestDoctorBeforeTheDaemonStarts(t *testing.T) {
	p := signedIn(t)
	p.stopDaemon()
	code, out, errOut := p.run(nil, "doctor", "--mcp-file", filepath.Join(p.dir, "none.json"))
	if code != 0 || strings.Contains(out, "✗") || !strings.Contains(out, "✓ daemon: not running yet; it starts on demand") || !strings.Contains(out, "✓ access token (refresh works)") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
