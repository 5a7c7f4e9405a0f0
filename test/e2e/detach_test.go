package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A daemon the bridge starts outlives the client's session: Copilot CLI
// and opencode SIGTERM the bridge's whole process group when a session
// ends. And it holds none of the client's pipes: a client that waits for
// EOF on the bridge's stderr (or on any descriptor it let the bridge
// inherit) gets it when the bridge exits.
func TestAutostartedDaemonOutlivesTheClient(t *testing.T) {
	p := signedIn(t)
	p.stopDaemon()
	stderrR, stderrW, _ := os.Pipe()
	leakR, leakW, _ := os.Pipe()
	defer stderrR.Close()
	defer leakR.Close()
	c := p.cmd(nil, "mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP")
	stdin, _ := c.StdinPipe()
	stdout, _ := c.StdoutPipe()
	c.Stderr = stderrW
	// Descriptors the client forgot to mark close-on-exec: 3 and 4 (fd 3
	// alone would be replaced by the daemon's ready pipe, and prove
	// nothing).
	c.ExtraFiles = []*os.File{leakW, leakW}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stderrW.Close()
	leakW.Close()
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n")
	answer, err := bufio.NewReader(stdout).ReadString('\n')
	var m map[string]any
	if err != nil || json.Unmarshal([]byte(answer), &m) != nil || m["result"] == nil {
		t.Fatalf("initialize through the bridge (the daemon it started): %v %q", err, answer)
	}
	// The session ends: the client signals the bridge's process group.
	syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	waitWithin(c, 30*time.Second)
	for name, r := range map[string]*os.File{"stderr": stderrR, "an inherited descriptor": leakR} {
		done := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, r); done <- err }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the client's %s never reached EOF: the daemon holds it", name)
		}
	}
	code, out, errOut := p.run([]string{"SFMCP_NO_AUTOSTART=1"}, "status", "--json")
	if code != 0 || !strings.Contains(out, `"pid"`) {
		t.Fatalf("the daemon died with the client's session: exit %d %s%s", code, out, errOut)
	}
}
