package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// signIn is a running command that signs in (login, or setup, with
// --no-browser), its stderr read line by line so that a test can act as
// the browser on the start page it prints.
type signIn struct {
	t      *testing.T
	c      *exec.Cmd
	stderr *bufio.Scanner
	out    bytes.Buffer
	errOut strings.Builder
}

// startSignIn starts c, its stdout kept and its stderr left to read.
func startSignIn(t *testing.T, c *exec.Cmd) *signIn {
	t.Helper()
	s := &signIn{t: t, c: c}
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout = &s.out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	s.stderr = bufio.NewScanner(stderr)
	return s
}

// nextStartURL reads stderr up to the next sign-in start page (a line
// http://127.0.0.1:…); false when stderr ended first.
func (s *signIn) nextStartURL() (string, bool) {
	for s.stderr.Scan() {
		line := s.stderr.Text()
		s.errOut.WriteString(line + "\n")
		if strings.HasPrefix(line, "http://127.0.0.1:") {
			return line, true
		}
	}
	return "", false
}

// wait reads the rest of stderr, waits for the command, records what it
// wrote for the leak check, and returns its exit code, stdout and stderr.
func (s *signIn) wait() (int, string, string) {
	for s.stderr.Scan() {
		s.errOut.WriteString(s.stderr.Text() + "\n")
	}
	err := s.c.Wait()
	name := filepath.Base(s.c.Args[0]) + " " + strings.Join(s.c.Args[1:], " ")
	leaks.Record(name, s.out.String()+s.errOut.String())
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return code, s.out.String(), s.errOut.String()
}

// signInAsBrowser runs c and acts as the browser with browse on every
// sign-in start page c prints; a failed browse is a test error and ends c
// rather than wait for its timeout. It returns c's exit code, stdout and
// stderr.
func signInAsBrowser(t *testing.T, c *exec.Cmd, browse func(startURL string) error) (int, string, string) {
	t.Helper()
	s := startSignIn(t, c)
	for {
		u, ok := s.nextStartURL()
		if !ok {
			break
		}
		if err := browse(u); err != nil {
			t.Errorf("browser: %v", err)
			c.Process.Kill()
		}
	}
	return s.wait()
}

// runSigningIn runs sfmcp-token and, when it prints a sign-in start page,
// acts as the browser (the stand-in approves at once).
func (p *proc) runSigningIn(args ...string) (int, string, string) {
	p.t.Helper()
	return signInAsBrowser(p.t, p.cmd(nil, args...), p.visit)
}

// visit is the browser on a start page: the proc's stand-in approves the
// sign-in at once.
func (p *proc) visit(startURL string) error {
	_, _, err := p.sf.Visit(startURL)
	return err
}

// startLogin runs `login --no-browser` and returns the start page URL it
// printed and a function that waits for it to exit.
func startLogin(t *testing.T, p *proc, profile string) (string, func() (int, string, string)) {
	t.Helper()
	s := startSignIn(t, p.cmd(nil, "login", "--profile", profile, "--no-browser", "--timeout", "60s"))
	startURL, ok := s.nextStartURL()
	if !ok {
		_, _, errOut := s.wait()
		t.Fatalf("no authorization URL:\n%s", errOut)
	}
	return startURL, s.wait
}
