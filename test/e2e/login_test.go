package e2e

import (
	"bufio"
	"bytes"
	"io"
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
	if err := c.Wait(); err != nil || !strings.Contains(out.String(), "Logged in to") {
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
