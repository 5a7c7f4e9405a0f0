package cli

import (
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// startLogin adds profile prod on the stand-in and starts `login prod`
// with args in the background.
func startLogin(h *harness, args ...string) *background {
	h.t.Helper()
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
	return h.start(append([]string{"login", "prod"}, args...)...)
}

// paste types a line on the command's stdin.
func (b *background) paste(line string) {
	b.h.t.Helper()
	if _, err := io.WriteString(b.stdin, line+"\n"); err != nil {
		b.h.t.Fatal(err)
	}
}

// Over SSH without port forwarding: the user opens Snowflake's URL on the
// laptop, the browser fails to reach this machine's loopback, and the
// address it shows, pasted into `login --no-browser`, signs in. A stray
// line is refused without ending the sign-in.
func TestLoginPasteTheRedirect(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.privateDaemon()
	login := startLogin(h, "--no-browser", "--timeout", "60s")
	back, err := h.sf.RemoteBrowser(login.lineWith("/oauth/authorize?"))
	if err != nil {
		t.Fatal(err)
	}
	login.paste("oops")
	login.lineWith("that is not the address the browser was sent back to")
	login.paste(back)
	code, out, errOut := login.wait()
	if code != 0 || out != "Logged in to "+h.sf.Host()+" as ALICE (profile prod)\n" {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	start, _ := url.Parse(login.lineWith("/sfmcp/start"))
	for _, want := range []string{
		"Open this URL in a browser on this machine to sign in to Snowflake:\n",
		"ssh -L " + start.Port() + ":127.0.0.1:" + start.Port() + " <this host>",
		"then copy the address your browser shows when it cannot load " + start.Host + " after the sign-in, and paste it here:\n",
		"sfmcp: that is not the address the browser was sent back to after signing in (it starts with http://127.0.0.1: and holds code= and state=); paste the whole address from the browser's address bar\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := login.opened.Load(); n != 0 {
		t.Errorf("--no-browser opened a browser %d times", n)
	}
	if cred, err := h.store().Credential("prod"); err != nil || cred.User != "ALICE" {
		t.Errorf("stored sign-in: %+v %v", cred, err)
	}
}

// A pasted answer that is not this sign-in's approval ends it with exit 3,
// nothing stored and no code exchanged; so does no answer in time.
func TestLoginPasteRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout string
		answer  func(redirect, state string) string // "" pastes nothing
		want    string
		hint    string
	}{
		{"denied", "60s", func(redirect, state string) string {
			return redirect + "?error=access_denied&error_description=User+denied&state=" + state
		}, "sfmcp: sign-in failed: sign-in was denied in the browser: Snowflake said access_denied (User denied)\n", "run: sfmcp-token login --profile prod"},
		{"wrong state", "60s", func(redirect, _ string) string { return redirect + "?code=abc&state=forged" },
			"sfmcp: sign-in failed: the browser returned a different state than was sent (a stale or forged callback)\n", "run: sfmcp-token login --profile prod"},
		{"no answer in time", "50ms", func(string, string) string { return "" },
			"sfmcp: sign-in failed: sign-in did not complete in time: no answer from the browser within 50ms (use --timeout to wait longer)\n",
			"paste the address your browser ends on in time: run: sfmcp-token login --profile prod --no-browser"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
			h.privateDaemon()
			login := startLogin(h, "--no-browser", "--timeout", tc.timeout)
			auth, err := url.Parse(login.lineWith("/oauth/authorize?"))
			if err != nil {
				t.Fatal(err)
			}
			if line := tc.answer(auth.Query().Get("redirect_uri"), auth.Query().Get("state")); line != "" {
				login.paste(line)
			}
			code, out, errOut := login.wait()
			if code != exitcode.LoginRequired || out != "" || !strings.Contains(errOut, tc.want) || !strings.HasSuffix(errOut, "sfmcp: "+tc.hint+"\n") {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, exitcode.LoginRequired, tc.want, out, errOut)
			}
			if _, err := h.store().Credential("prod"); !errors.Is(err, keychain.ErrNotFound) {
				t.Errorf("a failed sign-in stored something: %v", err)
			}
			if n := h.sf.Counters().CodeExchanges; n != 0 {
				t.Errorf("%d codes exchanged", n)
			}
		})
	}
}

// Over SSH without a display, login opens no browser on this machine's
// screen: it says so and offers the URL and the paste, as --no-browser
// does; a browser that reaches the loopback still signs in.
func TestLoginOverSSHOpensNoBrowser(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.privateDaemon()
	h.env["SSH_CONNECTION"] = "203.0.113.9 50000 192.0.2.1 22"
	login := startLogin(h, "--timeout", "60s")
	status, page, err := h.sf.Visit(login.lineWith("/sfmcp/start"))
	if err != nil || status != 200 || !strings.Contains(page, "You are signed in to Snowflake.") {
		t.Fatalf("callback page: %d %v\n%s", status, err, page)
	}
	code, out, errOut := login.wait()
	if code != 0 || !strings.HasPrefix(out, "Logged in to ") ||
		!strings.Contains(errOut, "sfmcp: this is an SSH session without a display, so no browser is opened here.\n") || !strings.Contains(errOut, "paste it here") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if n := login.opened.Load(); n != 0 {
		t.Errorf("a browser was opened over SSH (%d times)", n)
	}
	// With X11 forwarding the browser comes to the user's screen.
	h.env["DISPLAY"] = "localhost:10.0"
	if code, _, errOut := h.run("", "login", "prod"); code != 0 || strings.Contains(errOut, "SSH session") {
		t.Errorf("over SSH with a display: exit %d\n%s", code, errOut)
	}
}

// login refuses what it cannot keep, before or after the browser: a sign-in
// as someone other than the profile's user, one without a refresh token, a
// profile that has no browser sign-in, a store it does not know. Nothing
// is stored.
func TestLoginRefusals(t *testing.T) {
	for _, tc := range []struct {
		name          string
		arrange       func(h *harness)
		args          []string
		code          int
		message, hint string
		browser       bool // the sign-in reached Snowflake
	}{
		{"signed in as another user", func(h *harness) { h.mustRun("profile", "add", "prod", "--force", "--user", "BOB") }, []string{"login", "prod"},
			exitcode.LoginRequired, "signed in as ALICE, but profile prod is for BOB; nothing was saved", "sign in as BOB (run: sfmcp-token login --profile prod)", true},
		{"no refresh token", func(h *harness) {
			h.sf.UpdateIntegration("LOCAL_APPLICATION", func(in *snowflaketest.Integration) { in.DoNotIssueRefresh = true })
		}, []string{"login", "prod"},
			exitcode.Usage, "the sign-in worked, but Snowflake issued no refresh token, so sfmcp cannot keep you signed in", "OAUTH_ISSUE_REFRESH_TOKENS = TRUE", true},
		{"programmatic access token", func(h *harness) {
			h.writeFile("config.toml", h.readFile("config.toml")+"\n[profiles.svc]\naccount = \"myorg-acct\"\nauth = \"pat\"\nuser = \"SVC\"\n")
		}, []string{"login", "svc"},
			exitcode.Usage, "profile svc uses a programmatic access token; there is no browser sign-in for it", "", false},
		{"unknown credential store", func(h *harness) { h.env["SFMCP_KEYRING"] = "vault" }, []string{"login", "prod"},
			exitcode.Usage, `unknown credential store "vault": use "os" (the OS keychain) or "file"`, "set SFMCP_KEYRING (or keyring in the config) to os or file", false},
		{"profile given twice", func(*harness) {}, []string{"login", "prod", "--profile", "other"},
			exitcode.Usage, `profile given twice: "prod" and --profile "other"`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
			h.privateDaemon()
			h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
			tc.arrange(h)
			code, out, errOut := h.run("", tc.args...)
			if code != tc.code || out != "" || !strings.Contains(errOut, "sfmcp: "+tc.message+"\n") || !strings.Contains(errOut, tc.hint) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tc.code, tc.message, out, errOut)
			}
			if _, err := h.store().Credential("prod"); !errors.Is(err, keychain.ErrNotFound) {
				t.Errorf("a refused sign-in was stored: %v", err)
			}
			if got := h.sf.Counters().Authorize > 0; got != tc.browser {
				t.Errorf("the sign-in reached Snowflake: %v, want %v", got, tc.browser)
			}
		})
	}
}

// logout forgets sign-ins: of a profile that has none it says the same
// (there is nothing left either way); --all goes through every profile;
// a profile and --all together are a mistake.
func TestLogout(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.privateDaemon()
	h.mustRun("profile", "add", "a", "--account", "myorg-acct", "--host", h.sf.Host())
	h.mustRun("profile", "add", "b", "--account", "myorg-acct", "--host", h.sf.Host())
	h.mustRun("login", "a")
	h.mustRun("login", "b")
	h.mustRun("profile", "add", "never", "--account", "myorg-acct")
	if out := h.mustRun("logout", "never"); out != "Profile never was not signed in.\n" {
		t.Errorf("logout of a profile not signed in: %q", out)
	}
	if _, err := h.store().Credential("a"); err != nil {
		t.Errorf("logout of another profile dropped a's sign-in: %v", err)
	}
	code, _, errOut := h.run("", "logout", "a", "--all")
	if code != exitcode.Usage || !strings.HasPrefix(errOut, "sfmcp: give a profile or --all, not both\n") {
		t.Errorf("logout a --all: exit %d %s", code, errOut)
	}
	if out := h.mustRun("logout", "--all"); out != "Logged out of profile a.\nLogged out of profile b.\nProfile never was not signed in.\n" {
		t.Errorf("logout --all: %q", out)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := h.store().Credential(name); !errors.Is(err, keychain.ErrNotFound) {
			t.Errorf("profile %s still signed in: %v", name, err)
		}
	}
}

// A keychain that cannot keep the sign-in is found out before the browser
// opens (exit 4), and the file store is never chosen in its place.
func TestLoginKeychainUnavailableBeforeTheBrowser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the OS keychain here is the user's own")
	}
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.privateDaemon()
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
	delete(h.env, "SFMCP_KEYRING")
	h.env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/bus"
	h.env["SFMCP_KEYCHAIN_TIMEOUT"] = "2s"
	code, out, errOut := h.run("", "login", "prod")
	if code != exitcode.Unavailable || out != "" || !strings.Contains(errOut, "sfmcp: the OS keychain cannot store credentials: ") ||
		!strings.Contains(errOut, "SFMCP_KEYRING=file") || !strings.Contains(errOut, "gnome-keyring-daemon --unlock") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(errOut, "http://127.0.0.1:") || h.sf.Counters().Authorize != 0 {
		t.Error("the sign-in started although the keychain cannot keep its result")
	}
	if _, err := os.Stat(filepath.Join(h.dir, "data", "sfmcp", "credentials.json")); err == nil {
		t.Error("fell back to the file store")
	}
}
