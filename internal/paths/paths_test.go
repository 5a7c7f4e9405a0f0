package paths

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// privateTemp is a 0700 directory of this user, as a runtime dir must be.
func privateTemp(t *testing.T) string {
	tmp, err := filepath.EvalSymlinks(t.TempDir()) // a bus is never reached through a link
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(tmp, "run")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLinuxPaths(t *testing.T) {
	uid := os.Getuid()
	rt := privateTemp(t)
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	runUserIsPrivate := privateDir(RunUserDir(uid), uid)
	fallback := "/h/.cache/sfmcp/sfmcp.sock"
	if runUserIsPrivate {
		fallback = filepath.Join(RunUserDir(uid), "sfmcp", "sfmcp.sock")
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"runtime dir of our own", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": rt}, filepath.Join(rt, "sfmcp", "sfmcp.sock")},
		{"runtime dir others can enter", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": open}, fallback},
		{"runtime dir that does not exist", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/nonexistent/run"}, fallback},
		{"relative runtime dir", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "run"}, fallback},
		{"the six variables of an MCP SDK", map[string]string{"HOME": "/h", "USER": "u", "LOGNAME": "u", "PATH": "/bin", "SHELL": "/bin/sh", "TERM": "xterm"}, fallback},
		{"SFMCP_SOCKET overrides", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": rt, "SFMCP_SOCKET": "/x/s.sock"}, "/x/s.sock"},
	} {
		p, err := resolve(envOf(c.env), uid, "linux")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.Socket != c.want {
			t.Errorf("%s: socket %s, want %s", c.name, p.Socket, c.want)
		}
		// Whatever the environment says about the socket, the lock and
		// the log depend on the home directory alone.
		if p.Lock != "/h/.local/state/sfmcp/daemon.lock" || p.Log != "/h/.local/state/sfmcp/daemon.log" {
			t.Errorf("%s: lock %s log %s", c.name, p.Lock, p.Log)
		}
	}
	// XDG_STATE_HOME and XDG_CACHE_HOME a project's client entry sets do
	// not move the lock.
	p, _ := resolve(envOf(map[string]string{"HOME": "/h", "XDG_STATE_HOME": "/elsewhere", "XDG_CACHE_HOME": "/c"}), uid, "linux")
	if p.Lock != "/h/.local/state/sfmcp/daemon.lock" || p.Log != "/h/.local/state/sfmcp/daemon.log" {
		t.Errorf("XDG_STATE_HOME moved the lock or log: %+v", p)
	}
	if !runUserIsPrivate && p.Socket != "/c/sfmcp/sfmcp.sock" {
		t.Errorf("XDG_CACHE_HOME fallback: %s", p.Socket)
	}
}

func TestMacOSPathsIgnoreTMPDIR(t *testing.T) {
	for _, env := range []map[string]string{
		{"HOME": "/Users/u", "TMPDIR": "/var/folders/xy/T/"},
		{"HOME": "/Users/u", "XDG_RUNTIME_DIR": privateTemp(t)},
		{"HOME": "/Users/u"},
	} {
		p, err := resolve(envOf(env), os.Getuid(), "darwin")
		if err != nil {
			t.Fatal(err)
		}
		if p.Socket != "/Users/u/Library/Caches/sfmcp/sfmcp.sock" || p.Lock != "/Users/u/Library/Application Support/sfmcp/daemon.lock" || p.Log != "/Users/u/Library/Logs/sfmcp/daemon.log" {
			t.Errorf("%v: %+v", env, p)
		}
	}
}

func TestRelativeHomeIsNotUsed(t *testing.T) {
	p, err := resolve(envOf(map[string]string{"HOME": "."}), os.Getuid(), "linux")
	if err == nil && !filepath.IsAbs(p.Lock) {
		t.Fatalf("relative HOME gave %+v", p)
	}
}

func TestSessionBus(t *testing.T) {
	uid := os.Getuid()
	if got := sessionBus(envOf(map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}), uid); got == "unix:path=/nonexistent/bus" {
		t.Errorf("a set address with no socket of ours behind it is kept: %q", got)
	}
	rt := privateTemp(t)
	env := map[string]string{"XDG_RUNTIME_DIR": rt}
	if got := sessionBus(envOf(env), uid); got != "" && !ownSocket(filepath.Join(RunUserDir(uid), "bus"), uid) {
		t.Errorf("no bus socket anywhere, got %q", got)
	}
	// A plain file named bus is not a bus.
	os.WriteFile(filepath.Join(rt, "bus"), nil, 0o600)
	if got := sessionBus(envOf(env), uid); got == "unix:path="+filepath.Join(rt, "bus") {
		t.Errorf("a regular file was taken for the bus: %q", got)
	}
	os.Remove(filepath.Join(rt, "bus"))
	l, err := net.Listen("unix", filepath.Join(rt, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := sessionBus(envOf(env), uid); got != "unix:path="+filepath.Join(rt, "bus") {
		t.Errorf("the runtime dir's bus socket: %q", got)
	}
	// "autolaunch:" is what makes D-Bus start a private bus; it is not an
	// address to keep.
	env["DBUS_SESSION_BUS_ADDRESS"] = "autolaunch:"
	if got := sessionBus(envOf(env), uid); got != "unix:path="+filepath.Join(rt, "bus") {
		t.Errorf("autolaunch: kept: %q", got)
	}
}

// Third review of issue #11, and #20: a bus address from the environment
// is used only when it is exactly one address of this user's own Unix
// socket, and what is used is rebuilt from the path that was checked.
func TestOnlyTheUsersOwnBusIsUsed(t *testing.T) {
	uid := os.Getuid()
	rt := privateTemp(t)
	bus := filepath.Join(rt, "bus")
	l, err := net.Listen("unix", bus)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	own := "unix:path=" + bus
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	link := filepath.Join(rt, "link")
	if err := os.Symlink(bus, link); err != nil {
		t.Fatal(err)
	}
	escaped := "unix:path=" + strings.ReplaceAll(bus, "/bus", "/%62us")
	for addr, want := range map[string]string{
		own:                                      own,
		own + ",guid=0123abcd":                   own,
		"unix:guid=0123abcd,path=" + bus:         own,
		"tcp:host=evil.example,port=1":           "",
		"nonce-tcp:host=127.0.0.1,port=1":        "",
		"unix:abstract=/tmp/dbus-x":              "",
		"unix:path=relative/bus":                 "",
		"unix:path=" + filepath.Join(rt, "nope"): "",
		"autolaunch:":                            "",
		"":                                       "",
		// D-Bus dials the first path=; a check of the last one saw ours.
		"unix:path=/nonexistent/bus,path=" + bus:      "",
		"unix:path=" + bus + ",path=/nonexistent/bus": "",
		"unix:path=" + bus + ",guid=1,guid=2":         "",
		// When the first address fails, D-Bus goes on to the next.
		own + ";" + tcp.Addr().Network() + ":host=127.0.0.1,port=1": "",
		"unix:path=/nonexistent/bus;" + own:                         "",
		own + ";":                                                   "",
		// %XX is unescaped by D-Bus, so the checked string is not the path.
		escaped:                           "",
		"unix:path=" + link:               "",
		"unix:path=" + rt + "/../run/bus": "",
		"unix:path=" + bus + ",":          "",
	} {
		if got, ok := checkedBus(addr, uid); got != want || ok != (want != "") {
			t.Errorf("%q: checked as %q, %v; want %q", addr, got, ok, want)
		}
	}
	// A link earlier in the path, in a directory others may write to,
	// could be re-pointed at another user's directory after the check.
	sticky := filepath.Join(t.TempDir(), "sticky")
	os.Mkdir(sticky, 0o700)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	if err := os.Symlink(rt, filepath.Join(sticky, "m")); err != nil {
		t.Fatal(err)
	}
	if got, ok := checkedBus("unix:path="+filepath.Join(sticky, "m", "bus"), uid); ok {
		t.Errorf("a bus reached through a linked directory was accepted: %q", got)
	}
	if got := sessionBus(envOf(map[string]string{"XDG_RUNTIME_DIR": filepath.Join(sticky, "m")}), uid); strings.Contains(got, sticky) {
		t.Errorf("a linked runtime directory's bus was chosen: %q", got)
	}
	// A socket of ours in a directory others may write to can be swapped
	// for theirs between the check and the dial.
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	listenUnix(t, filepath.Join(open, "bus"))
	if got, ok := checkedBus("unix:path="+filepath.Join(open, "bus"), uid); ok {
		t.Errorf("a socket in a world-writable, non-sticky directory was accepted: %q", got)
	}
	// So is one further up: the socket's own directory can be moved away.
	sub := filepath.Join(open, "sub")
	os.Mkdir(sub, 0o700)
	listenUnix(t, filepath.Join(sub, "bus"))
	if got, ok := checkedBus("unix:path="+filepath.Join(sub, "bus"), uid); ok {
		t.Errorf("a socket below a world-writable, non-sticky directory was accepted: %q", got)
	}
	env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": "tcp:host=evil.example,port=1"}
	if got := sessionBus(envOf(env), uid); strings.HasPrefix(got, "tcp:") {
		t.Errorf("a TCP bus from the environment was chosen: %q", got)
	}
	env["DBUS_SESSION_BUS_ADDRESS"] = own + ",guid=0123abcd;tcp:host=127.0.0.1,port=1"
	if got := sessionBus(envOf(env), uid); got == env["DBUS_SESSION_BUS_ADDRESS"] {
		t.Errorf("the environment's string was handed on: %q", got)
	}
}

// Another user's socket, directly or through a link, is refused (needs
// root to make a socket another uid owns).
func TestAnotherUsersBusIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("SFMCP_TEST_REQUIRE_ROOT") != "" {
			t.Fatal("needs root")
		}
		t.Skip("needs root to make a socket another user owns")
	}
	rt := privateTemp(t)
	bus := filepath.Join(rt, "bus")
	l, err := net.Listen("unix", bus)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chown(bus, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(rt, "link")
	os.Symlink(bus, link)
	for _, addr := range []string{"unix:path=" + bus, "unix:path=" + link, "unix:path=/nonexistent/bus,path=" + bus} {
		if got, ok := checkedBus(addr, 0); ok {
			t.Errorf("%q: another user's socket was accepted as %q", addr, got)
		}
	}
}

// listenUnix listens on a Unix socket at path until the test ends.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}
