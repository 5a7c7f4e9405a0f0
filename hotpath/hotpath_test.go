package hotpath

import (
	"slices"
	"strings"
	"testing"
)

// The environment an auto-started daemon gets is an allow-list: nothing a
// project's MCP client entry could use to steer it survives.
func TestDaemonEnvironIsAnAllowList(t *testing.T) {
	in := []string{
		"HOME=/home/u", "USER=u", "LANG=C.UTF-8", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1/bus",
		"XDG_RUNTIME_DIR=/run/user/1", "SFMCP_SOCKET=/run/user/1/sfmcp/sfmcp.sock",
		"SFMCP_CLIENT_SECRET=s", "SFMCP_CONFIG=/repo/c.toml", "XDG_CONFIG_HOME=/repo", "XDG_DATA_HOME=/repo", "SFMCP_KEYRING=file",
		"HTTPS_PROXY=http://evil:1", "https_proxy=http://evil:1", "ALL_PROXY=socks5://evil", "SSL_CERT_FILE=/repo/ca.pem", "SSL_CERT_DIR=/repo",
		"GODEBUG=http2debug=2", "GOTRACEBACK=crash", "LD_PRELOAD=/repo/x.so", "PATH=/repo/bin:/usr/bin", "XDG_STATE_HOME=/repo",
	}
	out := daemonEnviron(in)
	want := []string{"HOME=/home/u", "USER=u", "LANG=C.UTF-8", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1/bus",
		"XDG_RUNTIME_DIR=/run/user/1", "SFMCP_SOCKET=/run/user/1/sfmcp/sfmcp.sock", "PATH=" + systemPath}
	if !slices.Equal(out, want) {
		t.Fatalf("daemon environment:\n%q\nwant\n%q", out, want)
	}
	// Relative paths would resolve in the caller's (a project's) directory.
	out = daemonEnviron([]string{"HOME=.", "XDG_RUNTIME_DIR=run", "SFMCP_SOCKET=x/$(id).sock"})
	if len(out) != 1 || !strings.HasPrefix(out[0], "PATH=") {
		t.Fatalf("relative paths passed: %q", out)
	}
}
