package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what is written to master is what
// a person types at the terminal slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// runOnTerminal runs sfmcp-token with a terminal as stdin, typing answer.
func (p *proc) runOnTerminal(t *testing.T, answer string, args ...string) (int, string, string) {
	t.Helper()
	master, slave := openPTY(t)
	// Typed ahead: the terminal keeps the line until the prompt reads it.
	if _, err := master.WriteString(answer + "\n"); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	c := p.cmd(nil, args...)
	c.Stdin, c.Stdout, c.Stderr = slave, &out, &errOut
	err := c.Run()
	leaks.Record("sfmcp-token "+strings.Join(args, " ")+" (on a terminal)", out.String()+errOut.String())
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// On a terminal, pat remove shows the plan and asks; "n" changes nothing
// (exit 1), "y" runs exactly the plan shown.
func TestPATRemoveAsksOnATerminal(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	if code, _, errOut := p.run(nil, patCreateArgs(manifest)...); code != 0 {
		t.Fatal(errOut)
	}
	before := len(p.sf.Statements())
	code, out, errOut := p.runOnTerminal(t, "n", "pat", "remove", "--manifest", manifest)
	if code != 1 || !strings.Contains(errOut, "Run this plan? [y/N]") || !strings.Contains(errOut, "not confirmed; nothing was changed") ||
		!strings.Contains(out, "DROP USER IF EXISTS MYAPP_RUNNER;") || !strings.Contains(out, "profile myapp_runner (the PAT of MYAPP_RUNNER") {
		t.Fatalf("answer n: exit %d\n%s%s", code, out, errOut)
	}
	if ran := p.sf.Statements()[before:]; len(ran) != 0 {
		t.Fatalf("a declined plan ran %q", ran)
	}
	code, out, errOut = p.runOnTerminal(t, "y", "pat", "remove", "--manifest", manifest)
	if code != 0 || !strings.Contains(out, "profile myapp_runner is gone") {
		t.Fatalf("answer y: exit %d\n%s%s", code, out, errOut)
	}
	ran := p.sf.Statements()[before:]
	if len(ran) != 8 || ran[0] != "DESCRIBE USER MYAPP_RUNNER" || ran[len(ran)-1] != "DROP USER IF EXISTS MYAPP_RUNNER" {
		t.Fatalf("the confirmed plan ran %q", ran)
	}
}
