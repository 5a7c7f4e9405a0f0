//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// TestSDKEnvironment (issue #11): an MCP SDK client starts its stdio
// servers with only HOME, LOGNAME, PATH, SHELL, TERM and USER. A user's
// desktop session has the rest: XDG_RUNTIME_DIR=/run/user/UID and the
// session bus at /run/user/UID/bus, where gnome-keyring holds the sign-in.
// Whichever of the two environments calls first, `headers` and `mcp-proxy`
// from both must reach one daemon, which serves the sign-in from that
// keychain.
//
// /run/user/UID must be real, so the test runs its processes as uid 65534
// in a session it builds: /run/user/65534 (0700, that uid's), a
// dbus-daemon listening on /run/user/65534/bus and an unlocked
// gnome-keyring on it, a HOME of that uid and the binaries where it can run
// them. It never sets SFMCP_SOCKET. It needs root, and it refuses to touch
// an existing /run/user/65534.
func TestSDKEnvironment(t *testing.T) {
	if os.Getuid() != 0 {
		sdkEnvUnavailable(t, "needs root to run a session as uid %d", sdkEnvUID)
	}
	tools := map[string]string{}
	for _, name := range []string{"dbus-daemon", "dbus-monitor", "dbus-send", "gnome-keyring-daemon", "bash"} {
		path, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("SFMCP_TEST_OS_KEYCHAIN") == "require" {
				t.Fatalf("%s not found; install dbus and gnome-keyring", name)
			}
			t.Skipf("%s not found; install dbus and gnome-keyring to run this test", name)
		}
		tools[name] = path
	}
	for _, order := range []struct {
		name     string
		sdkFirst bool
	}{{"DesktopFirst", false}, {"SDKFirst", true}} {
		t.Run(order.name, func(t *testing.T) {
			s := newUserSession(t, tools)
			s.signIn()
			if d := s.daemons(); len(d) != 0 {
				t.Fatalf("a daemon runs before any headers call: %v", d)
			}
			before := s.sf.Counters()
			desktop := sdkEnvCaller{name: "desktop", env: s.desktop, headersEnv: []string{"CLAUDE_CODE_MCP_SERVER_URL=https://" + s.sf.Host() + "/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP"}}
			sdk := sdkEnvCaller{name: "SDK", env: s.sdk, headersArgs: []string{"--profile", "prod"}}
			first, second := desktop, sdk
			if order.sdkFirst {
				first, second = sdk, desktop
			}

			headers := s.headers(first) // starts the daemon
			socket, pid, ok := client.RunningDaemon(s.lockFile())
			if want := filepath.Join(s.runDir, "sfmcp", "sfmcp.sock"); !ok || socket != want {
				t.Fatalf("after the %s call the lock records socket %q (held: %v), want %s", first.name, socket, ok, want)
			}
			if d := s.daemons(); !slices.Equal(d, []int{pid}) {
				t.Fatalf("after the %s call the daemons are %v, the lock names %d", first.name, d, pid)
			}
			// The daemon was started by the first caller and took its
			// session from it, or, from the SDK's environment, found the
			// bus through the uid alone.
			environ := s.environ(pid)
			if order.sdkFirst {
				for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
					if slices.ContainsFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, k+"=") }) {
						t.Fatalf("the daemon started from the SDK's environment has %s", k)
					}
				}
			} else if !slices.Contains(environ, "DBUS_SESSION_BUS_ADDRESS=unix:path="+s.bus()) {
				t.Fatal("the daemon started from the desktop environment lacks its session bus")
			}
			s.bridge(first)

			if s.headers(second) != headers {
				t.Fatalf("the %s call got another token than the %s call: it was not served from the first daemon's cache", second.name, first.name)
			}
			s.bridge(second)

			// Exactly one daemon, the first one, and nothing else of the
			// user's running but the bus and the keyring (an autolaunched
			// private bus would show up here).
			if d := s.daemons(); !slices.Equal(d, []int{pid}) {
				t.Fatalf("daemons at the end: %v, want only the first one, %d", d, pid)
			}
			if socket2, pid2, ok := client.RunningDaemon(s.lockFile()); !ok || pid2 != pid || socket2 != socket {
				t.Fatalf("the lock names pid %d at %s (held: %v) at the end, want %d at %s", pid2, socket2, ok, pid, socket)
			}
			for _, p := range s.procs() {
				if p.pid != pid && p.pid != s.busPID && p.pid != s.keyringPID {
					t.Errorf("an unexpected process of uid %d runs in the session: pid %d, %s %q", sdkEnvUID, p.pid, p.exe, p.args)
				}
			}
			if n := s.sf.Counters().Refreshes - before.Refreshes; n != 1 {
				t.Errorf("%d token refreshes, want 1: a second daemon (or cache) was involved", n)
			}
			// The sign-in is in gnome-keyring on that bus, not in a file.
			if _, err := os.Stat(filepath.Join(s.home, ".local", "share", "sfmcp", "credentials.json")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a file credential store exists: %v", err)
			}
			if items := s.keyringItems(); !strings.Contains(items, `object path "/org/freedesktop/secrets/collection/`) {
				t.Errorf("gnome-keyring holds no %s item:\n%s", keychain.Service, items)
			}
			t.Logf("one daemon, pid %d at %s, started from the %s environment, served headers and mcp-proxy from both", pid, socket, first.name)
		})
	}
}

// sdkEnvUID is the user the session runs as: nobody, as in the other tests
// that need another user.
const sdkEnvUID = 65534

// sdkEnvUnavailable skips, or fails where CI promises root
// (SFMCP_TEST_REQUIRE_ROOT=1).
func sdkEnvUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("SFMCP_TEST_REQUIRE_ROOT") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// sdkEnvCaller is one environment an MCP client starts sfmcp with.
type sdkEnvCaller struct {
	name        string
	env         []string
	headersEnv  []string // added for `headers` (Claude Code's server URL)
	headersArgs []string
}

// userSession is a desktop-like login session of uid 65534 that this test
// made and removes.
type userSession struct {
	t                  *testing.T
	sf                 *snowflaketest.Server
	tools              map[string]string
	uid, gid           int
	bin                string // sfmcp-token, sfmcp-token-full beside it
	home, runDir       string
	desktop, sdk       []string
	busPID, keyringPID int
	stops              []func() // the bus and the keyring, in start order
}

func newUserSession(t *testing.T, tools map[string]string) *userSession {
	s := &userSession{t: t, tools: tools, uid: sdkEnvUID, gid: sdkEnvUID, runDir: fmt.Sprintf("/run/user/%d", sdkEnvUID)}
	s.sf = newStandIn(snowflaketest.Options{AutoApprove: "alice"})
	t.Cleanup(s.sf.Close)
	name := "nobody"
	if u, err := user.LookupId(strconv.Itoa(s.uid)); err == nil {
		name = u.Username
		if g, err := strconv.Atoi(u.Gid); err == nil {
			s.gid = g
		}
	}

	// The runtime directory, as systemd-logind makes it. /run/user
	// itself is missing on machines without logind (CI).
	madeRunUser := false
	if _, err := os.Stat("/run/user"); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir("/run/user", 0o755); err != nil {
			t.Fatal(err)
		}
		madeRunUser = true
	}
	if err := os.Mkdir(s.runDir, 0o700); err != nil {
		if madeRunUser {
			os.Remove("/run/user")
		}
		if errors.Is(err, fs.ErrExist) {
			sdkEnvUnavailable(t, "%s exists: a session of uid %d (or an interrupted run of this test) owns it; this test does not touch it (remove it if nothing uses it)", s.runDir, s.uid)
		}
		t.Fatal(err)
	}
	root, err := os.MkdirTemp("", "sfmcp-sdkenv-")
	if err != nil {
		t.Fatal(err)
	}
	s.home = filepath.Join(root, "home")
	t.Cleanup(func() {
		recordFiles(s.home)
		os.RemoveAll(root)
		os.RemoveAll(s.runDir)
		if madeRunUser {
			os.Remove("/run/user")
		}
	})
	s.chown(s.runDir)

	// The binaries where the user can run them, side by side as installed.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(root, "bin")
	os.Mkdir(binDir, 0o755)
	for _, name := range []string{"sfmcp-token", "sfmcp-token-full"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(binary), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(binDir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.bin = filepath.Join(binDir, "sfmcp-token")

	// HOME, with the stand-in's CA in the config (an auto-started daemon
	// and the bridge take TLS roots only from there).
	ca := filepath.Join(s.home, "ca.pem")
	cfg := filepath.Join(s.home, ".config", "sfmcp", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(s.home, 0o700)
	if err := s.sf.WriteCA(ca); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte("ca_file = "+strconv.Quote(ca)+"\n"), 0o600)
	for _, p := range []string{s.home, filepath.Join(s.home, ".config"), filepath.Dir(cfg), cfg, ca} {
		s.chown(p)
	}

	// What the MCP SDKs pass, and what a desktop session has on top.
	s.sdk = []string{"HOME=" + s.home, "LOGNAME=" + name, "PATH=" + binDir + ":/usr/local/bin:/usr/bin:/bin", "SHELL=/bin/sh", "TERM=xterm-256color", "USER=" + name}
	s.desktop = append(slices.Clone(s.sdk), "LANG=C.UTF-8", "XDG_RUNTIME_DIR="+s.runDir, "DBUS_SESSION_BUS_ADDRESS=unix:path="+s.bus(), "XDG_SESSION_TYPE=wayland")

	// Stops everything of the session that is still running before the
	// directories go: sfmcp's processes, the keyring and the bus, then
	// anything left (an autolaunched bus, say), which the test has
	// reported already.
	t.Cleanup(func() {
		for _, p := range s.procs() {
			if filepath.Dir(p.exe) == binDir {
				stopProcess(p.pid)
			}
		}
		for i := len(s.stops) - 1; i >= 0; i-- {
			s.stops[i]()
		}
		for _, p := range s.procs() {
			t.Logf("stopping a leftover process of the session: pid %d, %s", p.pid, p.exe)
			stopProcess(p.pid)
		}
	})
	s.startBus()
	s.startKeyring()
	return s
}

func (s *userSession) chown(path string) {
	if err := os.Chown(path, s.uid, s.gid); err != nil {
		s.t.Fatal(err)
	}
}

func (s *userSession) bus() string { return filepath.Join(s.runDir, "bus") }
func (s *userSession) lockFile() string {
	return filepath.Join(s.home, ".local", "state", "sfmcp", "daemon.lock")
}

// asUser makes c run as the session's user, in its HOME, with env alone.
func (s *userSession) asUser(c *exec.Cmd, env []string) *exec.Cmd {
	c.Env = env
	c.Dir = s.home
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.gid)}}
	return c
}

// startBus runs the session bus at /run/user/UID/bus and waits for the
// address it prints once it listens.
func (s *userSession) startBus() {
	t := s.t
	c := s.asUser(exec.Command(s.tools["dbus-daemon"], "--session", "--address=unix:path="+s.bus(), "--nofork", "--print-address"), []string{"HOME=" + s.home, "PATH=/usr/bin:/bin"})
	out, _ := c.StdoutPipe()
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		sdkEnvUnavailable(t, "cannot run dbus-daemon as uid %d: %v", s.uid, err)
	}
	s.busPID = c.Process.Pid
	lines := lineChan(out)
	s.stops = append(s.stops, func() { c.Process.Signal(syscall.SIGTERM); drain(lines); c.Wait() })
	if !awaitLine(lines, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "unix:path="+s.bus()) }) {
		t.Fatalf("dbus-daemon did not start listening on %s: %s", s.bus(), stderr.String())
	}
}

// startKeyring runs gnome-keyring's Secret Service on the session bus with
// a login keyring unlocked by a password on stdin (as scripts/with-keyring
// does), and waits until it owns org.freedesktop.secrets. It prints nothing
// when ready, so a monitor on the bus watches for the name: a client that
// came earlier would have D-Bus activate a second, locked keyring.
func (s *userSession) startKeyring() {
	t := s.t
	sessionEnv := []string{"HOME=" + s.home, "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + s.runDir, "DBUS_SESSION_BUS_ADDRESS=unix:path=" + s.bus()}
	mon := s.asUser(exec.Command(s.tools["dbus-monitor"], "--session", "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.freedesktop.secrets'"), sessionEnv)
	monOut, _ := mon.StdoutPipe()
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	events := lineChan(monOut)
	stopMonitor := func() { mon.Process.Kill(); drain(events); mon.Wait() }
	// dbus-monitor reports losing its own name once it has become a
	// monitor, so from then on it sees the keyring take its name.
	if !awaitLine(events, 10*time.Second, func(l string) bool { return strings.Contains(l, "member=NameLost") }) {
		stopMonitor()
		t.Fatal("dbus-monitor did not start monitoring the session bus")
	}

	c := s.asUser(exec.Command(s.tools["gnome-keyring-daemon"], "--foreground", "--unlock", "--components=secrets"), sessionEnv)
	c.Stdin = strings.NewReader("sfmcp-test")
	var output bytes.Buffer
	c.Stdout, c.Stderr = &output, &output
	if err := c.Start(); err != nil {
		stopMonitor()
		t.Fatal(err)
	}
	s.keyringPID = c.Process.Pid
	exited := make(chan struct{})
	go func() { c.Wait(); close(exited) }()
	s.stops = append(s.stops, func() { c.Process.Signal(syscall.SIGTERM); <-exited })
	owned := awaitLine(events, 10*time.Second, func(l string) bool { return strings.Contains(l, `string "org.freedesktop.secrets"`) })
	stopMonitor()
	if !owned {
		c.Process.Kill()
		<-exited
		t.Fatalf("gnome-keyring did not take org.freedesktop.secrets on the session bus: %s", output.String())
	}
}

// keyringItems lists, as the user on the session bus, the Secret Service
// items of sfmcp's service.
func (s *userSession) keyringItems() string {
	c := s.asUser(exec.Command(s.tools["dbus-send"], "--session", "--print-reply", "--dest=org.freedesktop.secrets",
		"/org/freedesktop/secrets", "org.freedesktop.Secret.Service.SearchItems", "dict:string:string:service,"+keychain.Service), s.desktop)
	out, err := c.CombinedOutput()
	if err != nil {
		s.t.Fatalf("dbus-send SearchItems: %v: %s", err, out)
	}
	return string(out)
}

// run runs sfmcp-token as the user with env and records its output for the
// leak check.
func (s *userSession) run(env []string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	c := s.asUser(exec.Command(s.bin, args...), env)
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	where := "sfmcp-token " + strings.Join(args, " ") + " (uid " + strconv.Itoa(s.uid) + ")"
	if printsSecret(args) {
		leaks.Record(where+" (stderr)", errOut.String())
	} else {
		leaks.Record(where, out.String()+errOut.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errOut.String()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

// signIn adds profile prod and signs it in from the desktop session, so
// the sign-in lands in its gnome-keyring.
func (s *userSession) signIn() {
	t := s.t
	if code, _, errOut := s.run(s.desktop, "profile", "add", "prod", "--account", "myorg-acct", "--host", s.sf.Host(), "--role", "MCP_USERS"); code != 0 {
		t.Fatalf("profile add: exit %d: %s", code, errOut)
	}
	login := s.asUser(exec.Command(s.bin, "login", "--profile", "prod", "--no-browser", "--timeout", "60s"), s.desktop)
	code, out, errOut := signInAsBrowser(t, login, s.browse)
	if code != 0 || !strings.Contains(out, "Logged in to "+s.sf.Host()+" as ALICE (profile prod)") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
}

// browse is the user's browser on login's start page. sfmcp refuses
// loopback connections from other users, so the two loopback hops (the
// start page and the callback) come from a process of the user; the hop to
// the stand-in's authorization endpoint is made from here. Errors never
// carry the URLs: they hold the state and the code.
func (s *userSession) browse(startURL string) error {
	resp, _, err := s.loopbackGet(startURL)
	if err != nil {
		return fmt.Errorf("start page: %v", err)
	}
	if resp.StatusCode != http.StatusFound {
		return fmt.Errorf("start page answered %d, not a redirect", resp.StatusCode)
	}
	hc := *s.sf.Client()
	hc.Timeout = 10 * time.Second
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	auth, err := hc.Get(resp.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("authorize: %v", err)
	}
	auth.Body.Close()
	if auth.StatusCode != http.StatusFound {
		return fmt.Errorf("authorize answered %d, not a redirect to the callback", auth.StatusCode)
	}
	resp, body, err := s.loopbackGet(auth.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("callback: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed in") {
		return fmt.Errorf("callback answered %d: %q", resp.StatusCode, body)
	}
	return nil
}

// loopbackGet fetches an http://127.0.0.1 URL as the user, with bash's
// /dev/tcp (present wherever bash is, unlike curl).
func (s *userSession) loopbackGet(raw string) (*http.Response, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return nil, "", errors.New("not an http://127.0.0.1 URL")
	}
	c := s.asUser(exec.Command(s.tools["bash"], "-c", `exec 3<>"/dev/tcp/127.0.0.1/$1" && cat >&3 && cat <&3`, "bash", u.Port()), s.sdk)
	c.Stdin = strings.NewReader("GET " + u.RequestURI() + " HTTP/1.0\r\nHost: " + u.Host + "\r\n\r\n")
	out, err := c.Output()
	if err != nil {
		return nil, "", fmt.Errorf("bash as uid %d: %v", s.uid, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		return nil, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), nil
}

// headers runs `headers` from caller's environment and checks that it
// printed one JSON line of headers that the stand-in's MCP server takes.
func (s *userSession) headers(caller sdkEnvCaller) string {
	t := s.t
	t.Helper()
	code, out, errOut := s.run(append(slices.Clone(caller.env), caller.headersEnv...), append([]string{"headers"}, caller.headersArgs...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("headers from the %s environment: exit %d: %s", caller.name, code, errOut)
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(out), &h); err != nil || strings.Count(out, "\n") != 1 || len(h) != 2 ||
		!strings.HasPrefix(h["Authorization"], "Bearer ") || h["X-Snowflake-Authorization-Token-Type"] != "OAUTH" {
		t.Fatalf("headers from the %s environment printed no headers (%d bytes, %v)", caller.name, len(out), err)
	}
	if st := (&proc{t: t, sf: s.sf}).callMCP(t, h); st != http.StatusOK {
		t.Fatalf("the MCP server refused the headers from the %s environment: %d", caller.name, st)
	}
	return out
}

// bridge runs `mcp-proxy` from caller's environment as an MCP client
// would: initialize and tools/list, then EOF on stdin.
func (s *userSession) bridge(caller sdkEnvCaller) {
	t := s.t
	t.Helper()
	c := s.asUser(exec.Command(s.bin, "mcp-proxy", "--profile", "prod", "--server", "db.public.gong_mcp"), caller.env)
	stdin, _ := c.StdinPipe()
	stdout, _ := c.StdoutPipe()
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	rec := &lineRecorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	session, err := mcp.NewClient(&mcp.Implementation{Name: "sfmcp-sdkenv-test", Version: "1"}, nil).
		Connect(ctx, &mcp.IOTransport{Reader: teeReadCloser{stdout, rec}, Writer: stdin}, nil)
	var tools *mcp.ListToolsResult
	if err == nil {
		tools, err = session.ListTools(ctx, nil)
		session.Close()
	}
	stdin.Close()
	waitErr := c.Wait()
	rec.mu.Lock()
	leaks.Record("sfmcp-token mcp-proxy ("+caller.name+" environment)", strings.Join(rec.lines, "")+stderr.String())
	rec.mu.Unlock()
	if err != nil {
		t.Fatalf("the bridge from the %s environment: %v\n%s", caller.name, err, stderr.String())
	}
	if len(tools.Tools) != 2 || tools.Tools[0].Name != "gong_search" {
		t.Fatalf("tools/list through the bridge from the %s environment: %+v", caller.name, tools.Tools)
	}
	if waitErr != nil {
		t.Fatalf("the bridge from the %s environment exited: %v\n%s", caller.name, waitErr, stderr.String())
	}
}

// sessionProc is a live process of the session: one of the user's whose
// HOME is the session's, so only what this test started, directly or not.
type sessionProc struct {
	pid  int
	exe  string
	args []string
}

func (s *userSession) procs() []sessionProc {
	entries, _ := os.ReadDir("/proc")
	var out []sessionProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || procUID(pid) != s.uid || !slices.Contains(s.environ(pid), "HOME="+s.home) {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil { // gone, or a zombie
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, sessionProc{pid: pid, exe: exe, args: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")})
	}
	return out
}

// daemons are the pids of the session's sfmcp daemons.
func (s *userSession) daemons() []int {
	var pids []int
	for _, p := range s.procs() {
		if filepath.Dir(p.exe) == filepath.Dir(s.bin) && len(p.args) > 1 && p.args[1] == "daemon" {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

func (s *userSession) environ(pid int) []string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return strings.Split(string(b), "\x00")
}

// procUID is pid's real uid, or -1.
func procUID(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if uid, err := strconv.Atoi(f[0]); err == nil {
					return uid
				}
			}
		}
	}
	return -1
}

// stopProcess sends SIGTERM to pid, which is no child of ours, and waits
// for it to exit on a pidfd; after 10 s it is killed.
func stopProcess(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return
	}
	defer unix.Close(fd)
	unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0)
	if !pidfdExited(fd, 10*time.Second) {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		pidfdExited(fd, 10*time.Second)
	}
}

func pidfdExited(fd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(time.Until(deadline).Milliseconds()))
		if errors.Is(err, unix.EINTR) && time.Now().Before(deadline) {
			continue
		}
		return err == nil && n == 1
	}
}

// lineChan delivers r's lines until r ends.
func lineChan(r io.Reader) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// awaitLine reads lines until one matches, the stream ends or d passes.
func awaitLine(lines <-chan string, d time.Duration, match func(string) bool) bool {
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if match(l) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func drain(lines <-chan string) {
	for range lines {
	}
}
