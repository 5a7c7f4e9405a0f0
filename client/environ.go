package client

import (
	"path/filepath"
	"strings"

	"github.com/sfmcp/sfmcp/internal/paths"
)

// daemonEnviron is the environment an auto-started daemon inherits: an
// allow-list. The caller may be a bridge whose environment a project's MCP
// client entry set, and the daemon it starts serves every later session, so
// nothing that chooses the configuration, the credential store, proxies,
// TLS roots or runtime debugging (GODEBUG can log HTTP/2 frames) comes from
// there. The daemon reads those from the user's config file. Secrets never
// pass either: a process's environment is readable by the same user.
func daemonEnviron(env []string) []string {
	out := make([]string, 0, len(daemonEnvAllowed)+1)
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !daemonEnvAllowed[name] && !strings.HasPrefix(name, "LC_") {
			continue
		}
		// A relative path would resolve in the caller's directory.
		if pathEnv[name] && !filepath.IsAbs(value) {
			continue
		}
		// The daemon stores secrets on this bus and opens the browser on
		// this display: only the user's own, never a remote one a
		// project's client entry names. The bus is passed on as checked
		// (rebuilt from its path), never as the entry wrote it.
		if name == "DBUS_SESSION_BUS_ADDRESS" {
			bus, ok := paths.CheckedBus(value)
			if !ok {
				continue
			}
			kv = name + "=" + bus
		}
		if name == "DISPLAY" && !localDisplay(value) || name == "WAYLAND_DISPLAY" && !waylandName(value) {
			continue
		}
		// A zone or locale by name only: a path (TZ=/repo/fifo) would make
		// the daemon, or the helpers it runs, read a file a project chose.
		if !namedSetting(name, value) {
			continue
		}
		out = append(out, kv)
	}
	// Helpers the daemon runs (notify-send) are looked up on the system
	// path, not on one a project chose.
	return append(out, "PATH="+systemPath)
}

// localDisplay reports whether d is an X display on this machine (":0",
// ":1.0"), not one over the network ("evil.example:0").
func localDisplay(d string) bool {
	num, screen, _ := strings.Cut(strings.TrimPrefix(d, ":"), ".")
	return strings.HasPrefix(d, ":") && digits(num) && (screen == "" && !strings.HasSuffix(d, ".") || digits(screen))
}

// waylandName reports whether w names a compositor socket in the user's
// runtime directory ("wayland-0"), not a path elsewhere.
func waylandName(w string) bool {
	return w != "" && w != "." && w != ".." && !strings.ContainsAny(w, "/\x00")
}

// namedSetting reports whether a TZ or locale variable names a zone or
// locale ("Europe/Paris", ":UTC", "en_US.UTF-8") rather than a file: not
// absolute, not relative to "." (musl reads "./x" as a path), no "..",
// and for a locale no "/" at all. Other variables pass.
func namedSetting(name, v string) bool {
	locale := name == "LANG" || name == "LANGUAGE" || strings.HasPrefix(name, "LC_")
	if name != "TZ" && !locale {
		return true
	}
	v = strings.TrimPrefix(v, ":")
	return !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, ".") && !strings.Contains(v, "..") && !strings.ContainsRune(v, 0) &&
		!(locale && strings.Contains(v, "/"))
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

var daemonEnvAllowed = map[string]bool{
	"HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "LANG": true, "LANGUAGE": true, "TZ": true,
	// The session: its keychain and its desktop notifications.
	"DBUS_SESSION_BUS_ADDRESS": true, "XDG_RUNTIME_DIR": true, "DISPLAY": true, "WAYLAND_DISPLAY": true,
	// Where the daemon listens must be where its clients look. Nothing
	// that changes what the daemon does for every later session (its
	// keychain timeout, auto-login, notifications): a bridge passes its
	// own no-sign-in wish per request, and the rest is the user's config
	// or the service's environment.
	"SFMCP_SOCKET": true,
}

var pathEnv = map[string]bool{"HOME": true, "XDG_RUNTIME_DIR": true, "SFMCP_SOCKET": true}

const systemPath = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
