package e2e

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watched collects a process's stderr and waits for text to appear in it.
type watched struct {
	t      *testing.T
	chunks chan []byte
	seen   bytes.Buffer
}

func watch(t *testing.T, r io.Reader) *watched {
	w := &watched{t: t, chunks: make(chan []byte, 64)}
	go func() {
		defer close(w.chunks)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				w.chunks <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	}()
	return w
}

// waitFor returns what was written up to and including text; it fails the
// test if the process ends or 30 s pass first.
func (w *watched) waitFor(text string) string {
	w.t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(w.seen.String(), text) {
		select {
		case c, ok := <-w.chunks:
			if !ok {
				w.t.Fatalf("ended before %q:\n%s", text, w.seen.String())
			}
			w.seen.Write(c)
		case <-deadline:
			w.t.Fatalf("no %q after 30 s:\n%s", text, w.seen.String())
		}
	}
	return w.seen.String()
}

func (w *watched) rest() string {
	for c := range w.chunks {
		w.seen.Write(c)
	}
	return w.seen.String()
}

// waitOrKill waits for c; one still running after 30 s is killed and the
// test fails (it would otherwise hang until go test's own timeout).
func waitOrKill(t *testing.T, c *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		c.Process.Kill()
		<-done
		t.Fatal("still running after 30 s")
		return nil
	}
}

// On a terminal, setup asks only for what is missing. The sign-in ends
// through the browser while setup also waits for a pasted address; the
// answer typed to the next question goes to that question, not to the
// paste.
func TestSetupOnATerminal(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	t.Cleanup(p.stopDaemon)
	master, slave := openPTY(t)
	c := p.cmd(nil, "setup", "--profile", "team", "--host", p.sf.Host(), "--role", "MCP_USERS", "--no-browser", "--client", "claude-code")
	stderr, _ := c.StderrPipe()
	var out bytes.Buffer
	c.Stdin, c.Stdout = slave, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	w := watch(t, stderr)
	w.waitFor("MCP server to add to Claude Code")
	master.WriteString("DB.PUBLIC.GONG_MCP\n")
	var start string
	for _, line := range strings.Split(w.waitFor("/sfmcp/start\n"), "\n") {
		if strings.HasPrefix(line, "http://127.0.0.1:") && strings.HasSuffix(line, "/sfmcp/start") {
			start = line
		}
	}
	if status, _, err := p.sf.Visit(start); err != nil || status != 200 {
		t.Fatalf("browser: %d %v", status, err)
	}
	w.waitFor("Start the daemon at login")
	master.WriteString("n\n")
	err := waitOrKill(t, c)
	all := w.rest()
	leaks.Record(t.Name(), out.String()+all)
	if err != nil || !strings.Contains(out.String(), "service: not installed") || !strings.Contains(out.String(), "doctor: all") {
		t.Fatalf("setup on a terminal: %v\n%s%s", err, out.String(), all)
	}
	if strings.Contains(all, "not the address") {
		t.Errorf("the answer to the service question was read as a pasted address:\n%s", all)
	}
	if strings.Contains(all, "Snowflake account") {
		t.Errorf("setup asked for an account it was given (--host):\n%s", all)
	}
	if claude, _ := os.ReadFile(filepath.Join(p.dir, ".claude.json")); !strings.Contains(string(claude), "DB.PUBLIC.GONG_MCP") {
		t.Errorf("no entry for the answered server:\n%s", claude)
	}
}

// Ctrl-C at a prompt ends setup (exit 130) and changes nothing.
func TestSetupInterruptedAtAPrompt(t *testing.T) {
	p := newProc(t)
	master, slave := openPTY(t)
	_ = master
	c := p.cmd(nil, "setup", "--profile", "fresh")
	stderr, _ := c.StderrPipe()
	c.Stdin = slave
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	w := watch(t, stderr)
	w.waitFor("Snowflake account")
	c.Process.Signal(syscall.SIGINT)
	waitOrKill(t, c)
	rest := w.rest()
	if code := c.ProcessState.ExitCode(); code != 130 || strings.Contains(rest, "context canceled") || !strings.Contains(rest, "sfmcp: interrupted") {
		t.Fatalf("exit %d, want 130 and \"sfmcp: interrupted\" (no Go error text):\n%s", code, rest)
	}
	if _, err := os.Stat(p.configFile()); err == nil {
		if data, _ := os.ReadFile(p.configFile()); strings.Contains(string(data), "fresh") {
			t.Fatal("an interrupted setup added the profile")
		}
	}
}
