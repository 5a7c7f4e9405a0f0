package e2e

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Over SSH without port forwarding: the user opens Snowflake's URL on the
// laptop, the browser fails to reach this machine's loopback, and the
// address it shows, pasted into `login --no-browser`, signs in.
func TestLoginPasteTheRedirect(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	t.Cleanup(p.stopDaemon)
	p.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host())
	c := p.cmd(nil, "login", "prod", "--no-browser", "--timeout", "60s")
	stdin, _ := c.StdinPipe()
	stderr, _ := c.StderrPipe()
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var all strings.Builder
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		if strings.HasPrefix(line, "https://") && strings.Contains(line, "/oauth/authorize?") {
			back, err := p.sf.RemoteBrowser(line)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(stdin, "oops\n"+back+"\n")
		}
	}
	err := c.Wait()
	leaks.Record(t.Name(), out.String()+all.String())
	if err != nil || !strings.Contains(out.String(), "Logged in to") {
		t.Fatalf("login: %v\n%s%s", err, out.String(), all.String())
	}
	for _, want := range []string{"ssh -L ", "paste it here", "that is not the address the browser was sent back to"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, all.String())
		}
	}
	if code, _, errOut := p.run(nil, "token", "--profile", "prod"); code != 0 {
		t.Fatalf("no token after the pasted sign-in: %s", errOut)
	}
}

// Over SSH without a display, login opens no browser on this machine's
// screen: it offers the URL and the paste, as --no-browser does.
func TestLoginOverSSHOpensNoBrowser(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	p.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host())
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "opened")
	// pkg/browser runs xdg-open on Linux: one on PATH records being run.
	os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\necho \"$@\" >> "+marker+"\n"), 0o755)
	p.env = append(p.env, "SSH_CONNECTION=203.0.113.9 50000 192.0.2.1 22", "PATH="+bin+":/usr/bin:/bin")
	code, _, errOut := p.runSigningIn("login", "prod", "--timeout", "30s")
	if code != 0 || !strings.Contains(errOut, "SSH session without a display") || !strings.Contains(errOut, "paste it here") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if opened, err := os.ReadFile(marker); err == nil {
		t.Fatalf("a browser was opened over SSH: %s", opened)
	}
}
