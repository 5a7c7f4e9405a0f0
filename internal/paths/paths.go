// Package paths decides where sfmcp keeps each user's runtime files:
// the daemon's socket, its single-instance lock and its log, and which
// D-Bus session bus holds the user's keychain. Every process of one user
// must agree on them whatever environment it was started with: MCP SDK
// clients start servers with only HOME, LOGNAME, PATH, SHELL, TERM and
// USER, an SSH shell may lack XDG_RUNTIME_DIR, and systemd sets it. So the
// paths come from the uid and the OS's conventions; environment variables
// only override, and the lock depends on the home directory alone.
package paths

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Paths are one user's sfmcp runtime files.
type Paths struct {
	Home string
	// Socket is where the daemon listens: $SFMCP_SOCKET, else sfmcp.sock
	// in the user's runtime directory (see runtimeDir).
	Socket string
	// Lock is the daemon's single-instance lock. It depends only on Home,
	// so two processes that see different XDG_RUNTIME_DIR or SFMCP_SOCKET
	// still contend for one lock; the daemon holding it records its socket
	// there, so a client that looked elsewhere finds it.
	Lock string
	// Log is where the daemon writes its log when no service manager
	// collects it. Like the lock it depends on Home alone, so the client
	// that starts a daemon and the daemon agree on it.
	Log string
}

// Resolve computes the paths for the current user from getenv.
func Resolve(getenv func(string) string) (Paths, error) {
	return resolve(getenv, os.Getuid(), runtime.GOOS)
}

func resolve(getenv func(string) string, uid int, goos string) (Paths, error) {
	home, err := homeDir(getenv)
	if err != nil {
		return Paths{}, err
	}
	p := Paths{Home: home}
	switch goos {
	case "darwin":
		// Not $TMPDIR: launchd agents and GUI apps see a different one
		// than a login shell does.
		p.Socket = filepath.Join(home, "Library", "Caches", "sfmcp", "sfmcp.sock")
		p.Lock = filepath.Join(home, "Library", "Application Support", "sfmcp", "daemon.lock")
		p.Log = filepath.Join(home, "Library", "Logs", "sfmcp", "daemon.log")
	default:
		p.Socket = filepath.Join(runtimeDir(getenv, uid, home), "sfmcp", "sfmcp.sock")
		state := filepath.Join(home, ".local", "state", "sfmcp")
		p.Lock = filepath.Join(state, "daemon.lock")
		p.Log = filepath.Join(state, "daemon.log")
	}
	if s := getenv("SFMCP_SOCKET"); s != "" {
		p.Socket = s
	}
	return p, nil
}

// homeDir is $HOME when it is absolute, else the account's home directory.
// A relative HOME would resolve in the caller's working directory, which
// may be a project's.
func homeDir(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Clean(h), nil
	}
	u, err := user.Current()
	if err != nil || !filepath.IsAbs(u.HomeDir) {
		return "", fmt.Errorf("cannot find your home directory: set HOME to an absolute path (or SFMCP_SOCKET for the socket alone)")
	}
	return u.HomeDir, nil
}

// runtimeDir is $XDG_RUNTIME_DIR when it is this user's own 0700
// directory, else /run/user/UID when that is, else the user's cache
// directory (XDG's fallback for machines without a runtime directory).
func runtimeDir(getenv func(string) string, uid int, home string) string {
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) && privateDir(d, uid) {
		return d
	}
	if d := RunUserDir(uid); privateDir(d, uid) {
		return d
	}
	if d := getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(home, ".cache")
}

// RunUserDir is the runtime directory systemd-logind makes for uid.
func RunUserDir(uid int) string { return "/run/user/" + strconv.Itoa(uid) }

// SessionBus is the D-Bus session bus address to use: the checked form of
// DBUS_SESSION_BUS_ADDRESS (see CheckedBus), else the user bus socket in
// the runtime directory, when it is this user's. Empty means there is none; callers
// must then not let D-Bus autolaunch a private bus, which would outlive
// the command and hold no keychain.
func SessionBus(getenv func(string) string) string {
	return sessionBus(getenv, os.Getuid())
}

func sessionBus(getenv func(string) string, uid int) string {
	if a, ok := checkedBus(getenv("DBUS_SESSION_BUS_ADDRESS"), uid); ok {
		return a
	}
	dirs := []string{RunUserDir(uid)}
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if !privateDir(d, uid) {
			continue
		}
		if a, ok := checkedBus("unix:path="+filepath.Join(d, "bus"), uid); ok {
			return a
		}
	}
	return ""
}

// CheckedBus returns the address to hand D-Bus for addr, when addr is a
// session bus sfmcp may send secrets over: exactly one address, a Unix
// socket at an absolute path that this user owns. An address from the
// environment may come from a project's MCP client entry; a TCP bus, an
// abstract socket or another user's socket could be a fake Secret Service
// that collects what is stored in it. The result is rebuilt from the path
// that was checked, never the caller's string: D-Bus dials the first of
// repeated keys, unescapes %XX and falls through to the next
// ;-separated address, none of which a check of the string would see.
func CheckedBus(addr string) (string, bool) { return checkedBus(addr, os.Getuid()) }

func checkedBus(addr string, uid int) (string, bool) {
	rest, ok := strings.CutPrefix(addr, "unix:")
	if !ok || strings.ContainsAny(rest, ";%") {
		return "", false
	}
	path, seen := "", map[string]bool{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return "", false
		}
		seen[k] = true
		switch k {
		case "path":
			path = v
		case "guid": // names the bus's identity; dropped from the rebuilt address
		default:
			return "", false // abstract, tmpdir, dir, runtime: nothing to check
		}
	}
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || !plainBusPath(path) || !ownSocket(path, uid) {
		return "", false
	}
	return "unix:path=" + path, true
}

// plainBusPath reports whether path needs no escaping in a D-Bus address
// (the spec's optionally-escaped bytes), so the rebuilt address names
// exactly the file that was checked.
func plainBusPath(path string) bool {
	for _, c := range []byte(path) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_/.", c) >= 0) {
			return false
		}
	}
	return true
}
