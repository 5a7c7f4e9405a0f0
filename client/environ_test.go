package client

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client/apitype"
)

// The environment an auto-started daemon gets is an allow-list: nothing a
// project's MCP client entry could use to steer it survives.
func TestDaemonEnvironIsAnAllowList(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir()) // a bus is never reached through a link
	if err != nil {
		t.Fatal(err)
	}
	bus := filepath.Join(tmp, "bus")
	l, err := net.Listen("unix", bus)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	in := []string{
		"HOME=/home/u", "USER=u", "LANG=C.UTF-8", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus, "DISPLAY=:0", "WAYLAND_DISPLAY=wayland-0",
		"XDG_RUNTIME_DIR=/run/user/1", "SFMCP_SOCKET=/run/user/1/sfmcp/sfmcp.sock",
		"SFMCP_CLIENT_SECRET=s", "SFMCP_CONFIG=/repo/c.toml", "SFMCP_SYSTEM_CONFIG=/repo/system.toml", "XDG_CONFIG_HOME=/repo", "XDG_DATA_HOME=/repo", "SFMCP_KEYRING=file",
		"HTTPS_PROXY=http://evil:1", "https_proxy=http://evil:1", "ALL_PROXY=socks5://evil", "SSL_CERT_FILE=/repo/ca.pem", "SSL_CERT_DIR=/repo",
		"GODEBUG=http2debug=2", "GOTRACEBACK=crash", "LD_PRELOAD=/repo/x.so", "PATH=/repo/bin:/usr/bin", "XDG_STATE_HOME=/repo",
	}
	out := daemonEnviron(in)
	want := []string{"HOME=/home/u", "USER=u", "LANG=C.UTF-8", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus, "DISPLAY=:0", "WAYLAND_DISPLAY=wayland-0",
		"XDG_RUNTIME_DIR=/run/user/1", "SFMCP_SOCKET=/run/user/1/sfmcp/sfmcp.sock", "PATH=" + systemPath}
	if !slices.Equal(out, want) {
		t.Fatalf("daemon environment:\n%q\nwant\n%q", out, want)
	}
	// The daemon stores secrets on its bus and opens the browser on its
	// display: a remote one a project's entry names is dropped.
	out = daemonEnviron([]string{"DBUS_SESSION_BUS_ADDRESS=tcp:host=evil.example,port=1", "DISPLAY=evil.example:0", "WAYLAND_DISPLAY=/tmp/evil/wayland-0"})
	if len(out) != 1 || !strings.HasPrefix(out[0], "PATH=") {
		t.Fatalf("a remote bus or display passed: %q", out)
	}
	// #20: the bus is handed on rebuilt from the path that was checked;
	// an address D-Bus would read differently is dropped whole.
	out = daemonEnviron([]string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus + ",guid=0123abcd"})
	if !slices.Contains(out, "DBUS_SESSION_BUS_ADDRESS=unix:path="+bus) {
		t.Fatalf("the checked bus was not rebuilt: %q", out)
	}
	for _, addr := range []string{"unix:path=/nonexistent/bus,path=" + bus + ";tcp:host=127.0.0.1,port=1", "unix:path=" + bus + ";tcp:host=127.0.0.1,port=1"} {
		if out := daemonEnviron([]string{"DBUS_SESSION_BUS_ADDRESS=" + addr}); len(out) != 1 {
			t.Fatalf("%q passed as %q", addr, out)
		}
	}
	// #20: settings that would change what the daemon does for every
	// later session are not a project's to choose.
	out = daemonEnviron([]string{"SFMCP_KEYCHAIN_TIMEOUT=1ns", "SFMCP_NO_AUTO_LOGIN=1", "SFMCP_NO_NOTIFY=1"})
	if len(out) != 1 {
		t.Fatalf("daemon-wide settings passed: %q", out)
	}
	// A zone or locale by name only, never a file a project chose.
	out = daemonEnviron([]string{"TZ=/repo/fifo", "TZ=:/repo/fifo", "TZ=../../repo/z", "TZ=./tmp/z", "TZ=:./tmp/z", "LC_ALL=/repo/loc", "LANG=repo/loc"})
	if len(out) != 1 {
		t.Fatalf("a zone or locale file passed: %q", out)
	}
	out = daemonEnviron([]string{"TZ=Europe/Paris", "LC_ALL=en_US.UTF-8", "LANGUAGE=en_US:en"})
	if len(out) != 4 {
		t.Fatalf("zone and locale names were dropped: %q", out)
	}
	for d, want := range map[string]bool{":0": true, ":12.1": true, ":": false, ":0.": false, "host:0": false, ":0x": false} {
		if localDisplay(d) != want {
			t.Errorf("localDisplay(%q) = %v", d, !want)
		}
	}
	// Relative paths would resolve in the caller's (a project's) directory.
	out = daemonEnviron([]string{"HOME=.", "XDG_RUNTIME_DIR=run", "SFMCP_SOCKET=x/$(id).sock"})
	if len(out) != 1 || !strings.HasPrefix(out[0], "PATH=") {
		t.Fatalf("relative paths passed: %q", out)
	}
}

// Second review of issue #11: a lock record a crashed daemon left, naming
// a socket that is no longer safe to use, does not keep clients from the
// daemon they would otherwise find or start.
func TestStaleUnsafeLockRecordIsPassedOver(t *testing.T) {
	home := t.TempDir()
	state := filepath.Join(home, ".local", "state", "sfmcp")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if err := os.WriteFile(filepath.Join(state, "daemon.lock"), apitype.FormatLockRecord(424242, filepath.Join(open, "s.sock")), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	os.Mkdir(run, 0o700)
	env := map[string]string{"HOME": home, "SFMCP_SOCKET": filepath.Join(run, "sfmcp.sock"), "SFMCP_NO_AUTOSTART": "1"}
	_, err := Connect(context.Background(), Options{Getenv: func(k string) string { return env[k] }})
	if !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("err = %v; want no daemon (so one is started), not the stale record's complaint", err)
	}
}
