//go:build unix

package cli

import (
	"context"
	"io"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/signin"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// startHeadless runs a command in the background as on a machine with no
// display: the harness's environment (no DISPLAY, no WAYLAND_DISPLAY) and
// the system's browser opener, not one the test gives.
func (h *harness) startHeadless(args ...string) *background {
	h.t.Helper()
	if !signin.WithoutDisplay(func(string) string { return "" }) {
		h.t.Skip("this system always has a desktop")
	}
	r, w := io.Pipe()
	b := &background{h: h, args: args, stdin: w, out: newSyncBuffer(), errOut: newSyncBuffer(), done: make(chan struct{})}
	env := maps.Clone(h.env)
	e := Env{Getenv: func(k string) string { return env[k] }, Stdout: b.out, Stderr: b.errOut, Args: args, Stdin: r, HTTPClient: h.sf.Client()}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(b.done)
		b.code = Main(ctx, e)
	}()
	h.t.Cleanup(func() {
		cancel()
		w.Close()
		<-b.done
	})
	return b
}

// Issue #23: on a machine with no display, login and setup open no
// browser: they say why and offer the URL and the paste, as --no-browser
// does, and the pasted address signs in.
func TestSignInWithoutADisplayOffersThePaste(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(h *harness) []string
		out  string
	}{
		{"login", func(h *harness) []string {
			h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
			return []string{"login", "prod", "--timeout", "60s"}
		}, "Logged in to "},
		{"setup", func(h *harness) []string { return []string{"setup", "--from", onboarding(h), "--timeout", "60s"} },
			"✓ profile team: added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
			h.privateDaemon()
			cmd := h.startHeadless(tc.args(h)...)
			back, err := h.sf.RemoteBrowser(cmd.lineWith("/oauth/authorize?"))
			if err != nil {
				t.Fatal(err)
			}
			cmd.paste(back)
			code, out, errOut := cmd.wait()
			if code != 0 && code != exitcode.ChecksFailed || !strings.Contains(out, tc.out) {
				t.Fatalf("%s: exit %d\n%s%s", tc.name, code, out, errOut)
			}
			start, _ := url.Parse(cmd.lineWith("/sfmcp/start"))
			for _, want := range []string{
				"sfmcp: this machine has no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no browser is opened here.\n",
				"then copy the address your browser shows when it cannot load " + start.Host + " after the sign-in, and paste it here:\n",
			} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if strings.Contains(errOut, "Opening the browser") {
				t.Errorf("it announced a browser:\n%s", errOut)
			}
			if n := h.sf.Counters().CodeExchanges; n != 1 {
				t.Errorf("%d codes exchanged, want 1", n)
			}
		})
	}
}

// Issue #23: a login that ran out of time waiting for the browser advises
// the way without one, not the command that just timed out.
func TestLoginTimeoutAdvisesNoBrowser(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.privateDaemon()
	login := startLogin(h, "--timeout", "50ms") // the test's opener opens nothing
	code, out, errOut := login.wait()
	want := "sfmcp: if no browser opened, or it could not reach this machine, run: sfmcp-token login --profile prod --no-browser and paste the address your browser ends on\n"
	if code != exitcode.LoginRequired || out != "" || !strings.HasSuffix(errOut, want) {
		t.Errorf("exit %d, want %d ending with %q\n%s%s", code, exitcode.LoginRequired, want, out, errOut)
	}
}
