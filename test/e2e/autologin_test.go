//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sfmcp/sfmcp/internal/proctree"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// Issue #11, section 4: when Snowflake needs a new sign-in, the daemon
// opens the browser sign-in itself, at most once per profile every 10
// minutes, and only for a caller at this machine's desktop. Here the
// daemon gets a fake desktop: DISPLAY set (nothing draws on it) and an
// xdg-open that hands the URL to the test, which completes the sign-in in
// a real headless chromium.
//
// The daemon opens one only to renew a sign-in the user made, over the
// network the config names now, and with the file store only when HOME is
// the account's home directory. The test HOME is a temporary directory, so
// the tests that expect a browser keep the sign-in in the OS keychain (the
// Secret Service of scripts/with-keyring). That keychain is shared by every
// test of this uid, keyed by profile name: each such test signs in a
// profile of its own name and logs it out at the end.

// TestAutoSignInBridgeCallSucceedsAfterOneClick: a revoked sign-in makes
// the daemon open the browser; once the sign-in is completed there, the
// bridge's held tools/call succeeds without the client asking again.
// Revoked again within 10 minutes, nothing opens and the answer, prompt,
// names the command to run.
func TestAutoSignInBridgeCallSucceedsAfterOneClick(t *testing.T) {
	ctx := browser(t)
	skipOverSSH(t)
	p, name := formSignedIn(t, inOSKeychain)
	command := "sfmcp-token login --profile " + name
	d := newFakeDesktop(t)
	daemonLog := p.startDaemonEnv(t, d.env("DISPLAY=:99"))
	b := startBridge(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "mcp-proxy", "--profile", name, "--server", "db.public.gong_mcp"), daemonLog)
	if m := b.call(t, 1, "initialize", initializeParams, 30*time.Second); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}

	// An administrator revokes the sign-in: the refresh token and the
	// access token the daemon holds both stop working.
	p.sf.RevokeUser("alice")
	before := p.sf.Counters()
	b.send(t, 2, "tools/call", searchParams)
	startURL := d.expect(t, "open", 30*time.Second, daemonLog)
	if !strings.HasPrefix(startURL, "http://127.0.0.1:") {
		t.Fatalf("the daemon opened %q, not its loopback sign-in page", startURL)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	signInInBrowser(t, tctx, startURL)
	m := b.answer(t, 2, 60*time.Second)
	if text, ok := toolText(m); !ok || !strings.Contains(text, `gong_search ran as ALICE with role MCP_USERS: {"query":"renewals"}`) {
		t.Fatalf("the held tools/call did not succeed after the sign-in: %v\ndaemon log:\n%s", m, daemonLog())
	}
	after := p.sf.Counters()
	if n := after.CodeExchanges - before.CodeExchanges; n != 1 {
		t.Errorf("%d sign-ins completed at the stand-in, want 1", n)
	}
	if n := after.MCPToolCalls - before.MCPToolCalls; n != 1 {
		t.Errorf("the tool ran %d times, want once", n)
	}

	// Revoked again within 10 minutes: no second browser, and the bridge
	// does not hold the call (it would for up to 120 s if it waited). The
	// sign-in the daemon stored is one it may renew, so the 10 minutes are
	// what keep it shut.
	p.sf.RevokeUser("alice")
	m = b.call(t, 3, "tools/call", searchParams, 30*time.Second)
	if msg := failure(m); !strings.Contains(msg, command) || strings.Contains(msg, "window was opened") || !strings.Contains(msg, "every 10 minutes") {
		t.Fatalf("second revocation: the answer should name the command and the 10 minutes and open nothing: %v\ndaemon log:\n%s", m, daemonLog())
	}
	// The desktop is told which command to run instead.
	if note := d.expect(t, "notify", 10*time.Second, daemonLog); !strings.Contains(note, command) {
		t.Errorf("notification %q does not name the command", note)
	}
	if n := d.opens(t); n != 1 {
		t.Errorf("the browser opened %d times, want once in 10 minutes", n)
	}
	if n := strings.Count(daemonLog(), "opening a browser sign-in"); n != 1 {
		t.Errorf("the daemon logged %d browser sign-ins, want 1:\n%s", n, daemonLog())
	}
}

// TestAutoSignInNothingOpensOverSSH: at a daemon that has a desktop, a
// caller over SSH (an sshd among its ancestors, no display variables)
// gets no browser, only the command; the same request from this machine
// opens one, so SSH is what kept it shut.
func TestAutoSignInNothingOpensOverSSH(t *testing.T) {
	skipOverSSH(t)
	p, name := formSignedIn(t, inOSKeychain)
	command := "sfmcp-token login --profile " + name
	d := newFakeDesktop(t)
	p.sf.RevokeUser("alice")
	daemonLog := p.startDaemonEnv(t, d.env("DISPLAY=:99"))

	code, out, errOut := runWithin(t, p.overSSH(t, "headers", "--profile", name), 30*time.Second)
	if code != 3 || out != "" || !strings.Contains(errOut, command) || !strings.Contains(errOut, "SSH") {
		t.Fatalf("headers over SSH: exit %d, stdout %d bytes, stderr %q\ndaemon log:\n%s", code, len(out), errOut, daemonLog())
	}
	if note := d.expect(t, "notify", 10*time.Second, daemonLog); !strings.Contains(note, command) {
		t.Errorf("notification %q does not name the command", note)
	}

	// The bridge asks to wait for a sign-in; over SSH none opens, so it
	// answers at once.
	b := startBridge(t, p.overSSH(t, "mcp-proxy", "--profile", name, "--server", "db.public.gong_mcp"), daemonLog)
	if msg := failure(b.call(t, 1, "initialize", initializeParams, 30*time.Second)); !strings.Contains(msg, command) {
		t.Fatalf("bridge over SSH: %q\ndaemon log:\n%s", msg, daemonLog())
	}
	if n := d.opens(t); n != 0 {
		t.Fatalf("the browser opened %d times for callers over SSH", n)
	}
	if strings.Contains(daemonLog(), "opening a browser sign-in") {
		t.Fatalf("the daemon opened a sign-in for a caller over SSH:\n%s", daemonLog())
	}

	// Control: the same daemon opens one for a caller on this machine, and
	// headers does not wait for it.
	code, out, errOut = runWithin(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", name), 30*time.Second)
	if code != 3 || out != "" || !strings.Contains(errOut, "browser window was opened") {
		t.Fatalf("headers at the desktop: exit %d, stdout %d bytes, stderr %q\ndaemon log:\n%s", code, len(out), errOut, daemonLog())
	}
	if u := d.expect(t, "open", 30*time.Second, daemonLog); !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("the daemon opened %q", u)
	}
}

// TestAutoSignInNothingOpensWithoutDesktop: a daemon with no display
// opens nothing, and says which command to run. The sign-in is in the
// file store, whose HOME alone would keep the browser shut: the reason
// given must be the missing desktop.
func TestAutoSignInNothingOpensWithoutDesktop(t *testing.T) {
	p, name := formSignedIn(t, inFileStore)
	command := "sfmcp-token login --profile " + name
	d := newFakeDesktop(t)
	env := d.env("SFMCP_NO_NOTIFY=1")
	for _, kv := range append(append([]string{}, p.env...), env...) {
		for _, name := range []string{"DISPLAY=", "WAYLAND_DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR="} {
			if strings.HasPrefix(kv, name) {
				t.Fatalf("the daemon's environment has %s", kv)
			}
		}
	}
	p.sf.RevokeUser("alice")
	daemonLog := p.startDaemonEnv(t, env)

	code, out, errOut := runWithin(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", name), 30*time.Second)
	if code != 3 || out != "" || !strings.Contains(errOut, command) || strings.Contains(errOut, "window was opened") || !strings.Contains(errOut, "no desktop") {
		t.Fatalf("headers: exit %d, stdout %d bytes, stderr %q\ndaemon log:\n%s", code, len(out), errOut, daemonLog())
	}
	if n := d.opens(t); n != 0 {
		t.Fatalf("the browser opened %d times without a desktop", n)
	}
	log := daemonLog()
	if strings.Contains(log, "opening a browser sign-in") || !strings.Contains(log, command) {
		t.Fatalf("the daemon log should name the command and open nothing:\n%s", log)
	}
}

// TestAutoSignInWhereNoBrowserCanShow (issue #20): where no browser can
// show, the bridge and headers answer at once with the command to run,
// where the bridge used to hold the call for 120 s for a window nobody
// saw. The daemon has the session bus of scripts/with-keyring and the real
// xdg-open of Debian's xdg-utils: first with no display (a bus is no
// screen), then with a display variable but no browser, where xdg-open
// runs and fails (exit 3), as on a machine without one.
func TestAutoSignInWhereNoBrowserCanShow(t *testing.T) {
	skipOverSSH(t)
	needXDGOpen(t)
	for what, c := range map[string]struct {
		env   []string
		why   string
		opens int
	}{
		"a session bus but no display": {why: "no desktop"},
		"a display but no browser": {
			env: []string{"DISPLAY=:99", "BROWSER=sfmcp-test-no-browser", "XDG_DATA_DIRS=" + t.TempDir()},
			why: "failed: the browser opener exited with status 3", opens: 1},
	} {
		t.Run(what, func(t *testing.T) {
			p, name := formSignedIn(t, inOSKeychain)
			command := "sfmcp-token login --profile " + name
			for _, kv := range p.env {
				if strings.HasPrefix(kv, "DISPLAY=") || strings.HasPrefix(kv, "WAYLAND_DISPLAY=") {
					t.Fatalf("the daemon's environment has %s", kv)
				}
			}
			p.sf.RevokeUser("alice")
			daemonLog := p.startDaemonEnv(t, append([]string{"SFMCP_NO_NOTIFY=1"}, c.env...))

			// The bridge asks the daemon to hold its request for a window.
			b := startBridge(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "mcp-proxy", "--profile", name, "--server", "db.public.gong_mcp"), daemonLog)
			msg := failure(b.call(t, 1, "initialize", initializeParams, 30*time.Second))
			if !strings.Contains(msg, command) || !strings.Contains(msg, c.why) || strings.Contains(msg, "window") {
				t.Fatalf("bridge: %q should name the command and %q, and no window\ndaemon log:\n%s", msg, c.why, daemonLog())
			}
			code, out, errOut := runWithin(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", name), 30*time.Second)
			if code != 3 || out != "" || !strings.Contains(errOut, command) || !strings.Contains(errOut, c.why) || strings.Contains(errOut, "window") {
				t.Fatalf("headers: exit %d, stdout %d bytes, stderr %q\ndaemon log:\n%s", code, len(out), errOut, daemonLog())
			}
			// A failed open is not tried again on every request.
			if n := strings.Count(daemonLog(), "opening a browser sign-in"); n != c.opens {
				t.Fatalf("the daemon opened %d sign-ins, want %d:\n%s", n, c.opens, daemonLog())
			}
		})
	}
}

// needXDGOpen skips a test that needs Debian's xdg-open (xdg-utils) where
// there is none, or fails it under SFMCP_TEST_XDG_OPEN=require (as CI sets).
func needXDGOpen(t *testing.T) {
	if _, err := exec.LookPath("xdg-open"); err == nil {
		return
	}
	if os.Getenv("SFMCP_TEST_XDG_OPEN") == "require" {
		t.Fatal("SFMCP_TEST_XDG_OPEN=require but no xdg-open on PATH")
	}
	t.Skip("no xdg-open: install Debian's xdg-utils (CI does) to run this test")
}

// Security review: a daemon an MCP client entry started with a HOME of a
// project's choosing reads that project's config. A sign-in it opened
// would send the user's new refresh token through the project's
// https_proxy (or past its ca_file), so the daemon opens one only to renew
// a sign-in the user made over the network the config names now, and never
// from a file store under a HOME that is not the account's own.
func TestAutoSignInRenewsOnlyTheUsersOwnSignIn(t *testing.T) {
	skipOverSSH(t)
	t.Run("the config gained a proxy", func(t *testing.T) {
		p, name := formSignedIn(t, inOSKeychain)
		command := "sfmcp-token login --profile " + name
		proxy, seen := recordingProxy(t)
		// Top-level keys go before the first table.
		cfg, err := os.ReadFile(p.configFile())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.configFile(), append([]byte("https_proxy = "+strconv.Quote(proxy)+"\n"), cfg...), 0o600); err != nil {
			t.Fatal(err)
		}
		d := newFakeDesktop(t)
		p.sf.RevokeUser("alice")
		daemonLog := p.startDaemonEnv(t, d.env("DISPLAY=:99"))

		code, out, errOut := runWithin(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", name), 30*time.Second)
		_, why, refused := strings.Cut(errOut, "no browser was opened (")
		if code != 3 || out != "" || !strings.Contains(errOut, command) || !refused || !strings.Contains(why, "network") || !strings.Contains(why, "https_proxy") {
			t.Errorf("headers after the config gained a proxy: exit %d, stdout %d bytes, stderr %q; want exit 3, no browser because the network differs, and the command\ndaemon log:\n%s", code, len(out), errOut, daemonLog())
		}
		// The refusal tells the desktop the command; a sign-in opened
		// instead would be the desktop's next event.
		switch kind, rest := d.next(t, 10*time.Second, daemonLog); kind {
		case "notify":
			if !strings.Contains(rest, command) {
				t.Errorf("notification %q does not name the command", rest)
			}
		case "open":
			t.Errorf("the daemon opened a sign-in to %s for a config with another network\ndaemon log:\n%s", rest, daemonLog())
			// Complete it, as the user would: the proxy check below then
			// shows what it would have been sent.
			if status, _, err := p.sf.SignIn(rest, "alice", snowflaketest.DefaultPassword, true); err != nil {
				t.Logf("completing the opened sign-in: %d %v", status, err)
			}
		default:
			t.Errorf("the desktop saw %s %q", kind, rest)
		}
		if n := d.opens(t); n != 0 {
			t.Errorf("the browser opened %d times, want none", n)
		}
		if strings.Contains(daemonLog(), "opening a browser sign-in") {
			t.Errorf("the daemon logged a browser sign-in:\n%s", daemonLog())
		}
		if got := seen(); len(got) != 0 {
			t.Errorf("the config's proxy received %v", got)
		}
	})
	t.Run("file store outside the account's home", func(t *testing.T) {
		p, name := formSignedIn(t, inFileStore)
		command := "sfmcp-token login --profile " + name
		d := newFakeDesktop(t)
		p.sf.RevokeUser("alice")
		daemonLog := p.startDaemonEnv(t, d.env("DISPLAY=:99"))

		code, out, errOut := runWithin(t, p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", name), 30*time.Second)
		_, why, refused := strings.Cut(errOut, "no browser was opened (")
		if code != 3 || out != "" || !strings.Contains(errOut, command) || !refused || !strings.Contains(why, "home directory") {
			t.Errorf("headers with the file store under HOME=%s: exit %d, stdout %d bytes, stderr %q; want exit 3, no browser because HOME is not the account's, and the command\ndaemon log:\n%s", p.dir, code, len(out), errOut, daemonLog())
		}
		switch kind, rest := d.next(t, 10*time.Second, daemonLog); kind {
		case "notify":
			if !strings.Contains(rest, command) {
				t.Errorf("notification %q does not name the command", rest)
			}
		default:
			t.Errorf("the desktop saw %s %q, want the notification\ndaemon log:\n%s", kind, rest, daemonLog())
		}
		if n := d.opens(t); n != 0 {
			t.Errorf("the browser opened %d times, want none", n)
		}
		if log := daemonLog(); strings.Contains(log, "opening a browser sign-in") || !strings.Contains(log, "home directory") {
			t.Errorf("the daemon log should give the reason and open nothing:\n%s", log)
		}
	})
}

const (
	initializeParams = `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`
	searchParams     = `{"name":"gong_search","arguments":{"query":"renewals"}}`
)

// skipOverSSH skips a test that needs the daemon to open a browser when
// the test itself runs in an SSH session: every caller it starts is then
// over SSH too (the daemon judges callers by proctree.InSSHSession).
func skipOverSSH(t *testing.T) {
	if proctree.InSSHSession(os.Getpid()) {
		t.Skip("this test runs in an SSH session, where the daemon rightly opens no browser; run it from a local session (CI does)")
	}
}

// signInStore is where formSignedIn keeps the sign-in.
type signInStore int

const (
	inOSKeychain signInStore = iota // the Secret Service of scripts/with-keyring
	inFileStore                     // the file store under the test HOME
)

// formSignedIn returns a proc and the name of its profile, signed in at a
// stand-in that shows its sign-in form (no auto-approval), so a later
// sign-in completes only when someone fills the form in. The daemon is
// left for the test to start. A profile in the file store is "prod"; one
// in the shared OS keychain has a name of its own, and is logged out at
// the end of the test.
func formSignedIn(t *testing.T, store signInStore) (*proc, string) {
	name := "prod"
	var bus string
	if store == inOSKeychain {
		bus = osKeychainBus(t)
		suffix := make([]byte, 6)
		if _, err := rand.Read(suffix); err != nil {
			t.Fatal(err)
		}
		name = "autologin-" + hex.EncodeToString(suffix)
	}
	p := newProc(t)
	// httptest's certificate is the same for every stand-in, so the CA
	// newProc wrote trusts this one too.
	p.sf = newStandIn(snowflaketest.Options{})
	t.Cleanup(p.sf.Close)
	run := filepath.Join(p.dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if store == inFileStore {
		p.useFileStore()
	} else {
		p.env = append(p.env, "DBUS_SESSION_BUS_ADDRESS="+bus)
	}
	p.env = append(p.env, "SFMCP_SOCKET="+filepath.Join(run, "sfmcp.sock"), "XDG_STATE_HOME="+filepath.Join(p.dir, "state"))
	if code, _, errOut := p.run(nil, "profile", "add", name, "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "MCP_USERS"); code != 0 {
		t.Fatal(errOut)
	}
	startURL, wait := startLogin(t, p, name)
	if store == inOSKeychain {
		// Registered before the daemon's stop, so it runs after it: the
		// daemon may store a renewed sign-in until it stops.
		t.Cleanup(func() { p.logoutOSKeychain(t, name) })
	}
	if status, page, err := p.sf.SignIn(startURL, "alice", snowflaketest.DefaultPassword, true); err != nil || status != 200 || !strings.Contains(page, "signed in") {
		t.Fatalf("first sign-in: %d %v", status, err)
	}
	if code, out, errOut := wait(); code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	return p, name
}

// osKeychainBus is the session bus of the Secret Service that
// scripts/with-keyring starts. Without one the test skips, or fails under
// SFMCP_TEST_OS_KEYCHAIN=require (as with-keyring sets).
func osKeychainBus(t *testing.T) string {
	bus := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if bus == "" {
		if os.Getenv("SFMCP_TEST_OS_KEYCHAIN") == "require" {
			t.Fatal("SFMCP_TEST_OS_KEYCHAIN=require but no DBUS_SESSION_BUS_ADDRESS: run under scripts/with-keyring")
		}
		t.Skip("needs the OS keychain: run under scripts/with-keyring (a private gnome-keyring)")
	}
	return bus
}

// logoutOSKeychain removes profile's sign-in from the shared OS keychain
// and checks that it is gone.
func (p *proc) logoutOSKeychain(t *testing.T, profile string) {
	if code, _, errOut := p.run([]string{"SFMCP_NO_AUTOSTART=1"}, "logout", "--profile", profile); code != 0 {
		t.Errorf("logout --profile %s: exit %d %s", profile, code, errOut)
	}
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindOS})
	if err != nil {
		t.Errorf("open the OS keychain: %v", err)
		return
	}
	if _, err := store.Credential(profile); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("after logout, the OS keychain's answer for profile %s is %v, want not found", profile, err)
	}
}

// startDaemonEnv runs `sfmcp-token daemon` with env added, waits for its
// ready signal, stops it at the end of the test, and returns a reader of
// its log.
func (p *proc) startDaemonEnv(t *testing.T, env []string) func() string {
	logPath := filepath.Join(p.dir, "daemon-stderr.log") // recorded for the leak check with p.dir
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := p.cmd(append([]string{"SFMCP_READY_FD=3"}, env...), "daemon")
	d.Stderr = logFile
	d.ExtraFiles = []*os.File{w}
	err = d.Start()
	w.Close()
	logFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	readLog := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	t.Cleanup(func() {
		d.Process.Signal(syscall.SIGTERM)
		if !waitWithin(d, 15*time.Second) {
			t.Errorf("the daemon did not stop on SIGTERM:\n%s", readLog())
		}
	})
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("daemon not ready: %v %q\n%s", err, buf, readLog())
	}
	return readLog
}

// waitWithin waits for c to exit, killing its process group if it takes
// longer than d; it reports whether c exited by itself.
func waitWithin(c *exec.Cmd, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		c.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		if c.SysProcAttr != nil && c.SysProcAttr.Setpgid {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		} else {
			c.Process.Kill()
		}
		<-done
		return false
	}
}

// runWithin runs c with a deadline and returns its exit code and output;
// its stderr is recorded for the leak check (stdout of headers is a token
// by design).
func runWithin(t *testing.T, c *exec.Cmd, d time.Duration) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitWithin(c, d) {
		t.Fatalf("%v did not finish within %s: %s", c.Args, d, errOut.String())
	}
	leaks.Record(strings.Join(c.Args, " ")+" (stderr)", errOut.String())
	return c.ProcessState.ExitCode(), out.String(), errOut.String()
}

// overSSH returns a command that runs sfmcp-token with args as the child
// of a shell named sshd, so the daemon finds an SSH server process among
// the caller's ancestors, as in an SSH session. The caller's environment
// is the proc's, with no display variables.
func (p *proc) overSSH(t *testing.T, args ...string) *exec.Cmd {
	sshd := filepath.Join(t.TempDir(), "sshd")
	if err := os.Symlink("/bin/sh", sshd); err != nil {
		t.Fatal(err)
	}
	// Not the last command of the script, so the shell does not exec it
	// and stays its parent.
	script := `"$0" "$@"; status=$?; exit $status`
	c := exec.Command(sshd, append([]string{"-c", script, binary}, args...)...)
	c.Env = append(append([]string{}, p.env...), "SFMCP_NO_AUTOSTART=1")
	return c
}

// fakeDesktop stands in for the desktop programs the daemon runs: an
// xdg-open and a notify-send that each write one line ("open URL",
// "notify ARGS") to a record file and to a FIFO the test reads, so the
// test learns of each as it happens.
type fakeDesktop struct {
	bin    string
	record string
	events chan string
}

func newFakeDesktop(t *testing.T) *fakeDesktop {
	dir := t.TempDir() // not under the proc's HOME: reading a FIFO there would block the leak check
	d := &fakeDesktop{bin: filepath.Join(dir, "bin"), record: filepath.Join(dir, "record"), events: make(chan string, 64)}
	fifo := filepath.Join(dir, "events")
	if err := os.Mkdir(d.bin, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write: opening does not wait for a writer, and the reader sees
	// no end of file between one writer and the next.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	go func() {
		defer close(d.events)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			d.events <- sc.Text()
		}
	}()
	script := func(line string) []byte {
		return []byte("#!/bin/sh\nline=\"" + line + "\"\nprintf '%s\\n' \"$line\" >> " + shellQuote(d.record) + "\nprintf '%s\\n' \"$line\" > " + shellQuote(fifo) + "\n")
	}
	if err := os.WriteFile(filepath.Join(d.bin, "xdg-open"), script("open $1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.bin, "notify-send"), script("notify $*"), 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// env is the daemon's environment for this desktop: its programs first
// on PATH, plus extra.
func (d *fakeDesktop) env(extra ...string) []string {
	return append([]string{"PATH=" + d.bin + ":" + os.Getenv("PATH")}, extra...)
}

// next waits for the desktop's next event and returns its kind ("open",
// "notify") and the rest of its line.
func (d *fakeDesktop) next(t *testing.T, within time.Duration, daemonLog func() string) (string, string) {
	t.Helper()
	select {
	case ev, ok := <-d.events:
		if !ok {
			t.Fatalf("the desktop's events ended\ndaemon log:\n%s", daemonLog())
		}
		kind, rest, _ := strings.Cut(ev, " ")
		return kind, rest
	case <-time.After(within):
		t.Fatalf("nothing happened on the desktop within %s\ndaemon log:\n%s", within, daemonLog())
	}
	return "", ""
}

// expect waits for the desktop's next event, which must be of kind, and
// returns the rest of its line.
func (d *fakeDesktop) expect(t *testing.T, kind string, within time.Duration, daemonLog func() string) string {
	t.Helper()
	k, rest := d.next(t, within, daemonLog)
	if k != kind {
		t.Fatalf("the desktop saw %q, want %s\ndaemon log:\n%s", k+" "+rest, kind, daemonLog())
	}
	return rest
}

// opens counts the browser opens so far.
func (d *fakeDesktop) opens(t *testing.T) int {
	data, err := os.ReadFile(d.record)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "open ") {
			n++
		}
	}
	return n
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// bridgeProc is a running `mcp-proxy` driven one JSON-RPC line at a time.
type bridgeProc struct {
	stdin     io.WriteCloser
	lines     chan string
	stderr    string // its path
	daemonLog func() string
}

func startBridge(t *testing.T, c *exec.Cmd, daemonLog func() string) *bridgeProc {
	b := &bridgeProc{lines: make(chan string, 16), stderr: filepath.Join(t.TempDir(), "stderr"), daemonLog: daemonLog}
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errFile, err := os.Create(b.stderr)
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = errFile
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = c.Start()
	errFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	b.stdin = stdin
	go func() {
		defer close(b.lines)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				leaks.Record("mcp-proxy stdout", line)
				b.lines <- line
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		if !waitWithin(c, 15*time.Second) {
			t.Errorf("the bridge did not exit when its stdin closed:\n%s", b.errors())
		}
		leaks.Record("mcp-proxy stderr", b.errors())
	})
	return b
}

func (b *bridgeProc) errors() string {
	data, _ := os.ReadFile(b.stderr)
	return string(data)
}

func (b *bridgeProc) send(t *testing.T, id int, method, params string) {
	t.Helper()
	msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`+"\n", id, method, params)
	if _, err := io.WriteString(b.stdin, msg); err != nil {
		t.Fatalf("write to the bridge: %v\n%s", err, b.errors())
	}
}

// answer waits for the answer to request id; it must be the next message
// with an id.
func (b *bridgeProc) answer(t *testing.T, id int, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				t.Fatalf("the bridge closed its stdout while request %d was open:\n%s\ndaemon log:\n%s", id, b.errors(), b.daemonLog())
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("the bridge wrote a line that is not JSON: %q", line)
			}
			if _, ok := m["id"]; !ok {
				continue // a notification
			}
			if m["id"] != float64(id) {
				t.Fatalf("answer %v while waiting for %d", m, id)
			}
			return m
		case <-deadline:
			t.Fatalf("no answer to request %d within %s\nbridge:\n%s\ndaemon log:\n%s", id, within, b.errors(), b.daemonLog())
		}
	}
}

func (b *bridgeProc) call(t *testing.T, id int, method, params string, within time.Duration) map[string]any {
	t.Helper()
	b.send(t, id, method, params)
	return b.answer(t, id, within)
}

// toolText is the text of a successful tools/call result.
func toolText(m map[string]any) (string, bool) {
	res, _ := m["result"].(map[string]any)
	if res == nil || res["isError"] == true {
		return "", false
	}
	content, _ := res["content"].([]any)
	if len(content) == 0 {
		return "", false
	}
	first, _ := content[0].(map[string]any)
	text, ok := first["text"].(string)
	return text, ok
}

// failure is what an answer says went wrong: its JSON-RPC error message,
// or the text of a tool result marked as an error; "" for a success.
func failure(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		msg, _ := e["message"].(string)
		if msg == "" {
			msg = fmt.Sprint(e)
		}
		return msg
	}
	if res, _ := m["result"].(map[string]any); res != nil && res["isError"] == true {
		b, _ := json.Marshal(res)
		return string(b)
	}
	return ""
}
