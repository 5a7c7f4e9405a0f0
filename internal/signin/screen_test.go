package signin

import (
	"net"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sfmcp/sfmcp/internal/paths"
)

// Issue #20: on Linux only a display is a desktop. A session bus alone
// (containers, lingering sessions, CI, dbus-run-session) shows no browser.
// macOS always has one; callers over SSH are refused per request.
func TestAtDesktop(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir()) // a bus is never reached through a link
	if err != nil {
		t.Fatal(err)
	}
	bus := filepath.Join(tmp, "bus")
	ln, err := net.Listen("unix", bus)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		display, wayland string
		want             bool
	}{{"", "", false}, {":0", "", true}, {"", "wayland-0", true}} {
		env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + bus, "DISPLAY": c.display, "WAYLAND_DISPLAY": c.wayland}
		getenv := func(k string) string { return env[k] }
		if paths.SessionBus(getenv) == "" {
			t.Fatal("the test's bus is not taken for a session bus")
		}
		want := c.want || runtime.GOOS == "darwin"
		if got := AtDesktop(getenv); got != want {
			t.Errorf("a session bus, DISPLAY %q, WAYLAND_DISPLAY %q: AtDesktop %v, want %v", c.display, c.wayland, got, want)
		}
	}
}

// login offers the URL and the paste instead of a browser over SSH, unless
// a display is forwarded.
func TestOverSSHWithoutDisplay(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, true},
		{map[string]string{"SSH_TTY": "/dev/pts/1"}, true},
		{map[string]string{"SSH_TTY": "/dev/pts/1", "DISPLAY": "localhost:10.0"}, false},
		{map[string]string{"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22", "WAYLAND_DISPLAY": "wayland-0"}, false},
		{map[string]string{"DISPLAY": ":0"}, false},
	} {
		if got := OverSSHWithoutDisplay(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: OverSSHWithoutDisplay %v, want %v", c.env, got, c.want)
		}
	}
}

// Issue #23: login offers the URL and the paste on a machine with no
// display; macOS and Windows always have a desktop.
func TestWithoutDisplay(t *testing.T) {
	headless := runtime.GOOS != "darwin" && runtime.GOOS != "windows"
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, headless},
		{map[string]string{"SSH_TTY": "/dev/pts/1"}, headless},
		{map[string]string{"DISPLAY": ":0"}, false},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, false},
	} {
		if got := WithoutDisplay(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: WithoutDisplay %v, want %v", c.env, got, c.want)
		}
	}
}
