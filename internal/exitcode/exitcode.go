// Package exitcode owns what every sfmcp command ends with: its documented
// exit code and the one-line next step it suggests. It is a leaf: the hot
// path and the full CLI both use it.
package exitcode

import (
	"io"
	"runtime"
)

// Exit codes, documented in the README.
const (
	OK            = 0
	Error         = 1   // unexpected error
	Usage         = 2   // usage, configuration or installation error
	LoginRequired = 3   // no or rejected sign-in
	Unavailable   = 4   // keychain, network, Snowflake or daemon unavailable
	ChecksFailed  = 5   // doctor: at least one check failed, and each says what to do
	Interrupted   = 130 // Ctrl-C (SIGINT) or SIGTERM ended a command, as shells report it
)

// HostMismatchHint is the next step when a server URL is not on the
// profile's host.
func HostMismatchHint() string {
	return "a token goes only to https on the profile's own host: check the server URL (in .mcp.json: is this project's entry yours?); if that host really is your Snowflake account (e.g. its PrivateLink name), add it to the profile's extra_hosts in the config file"
}

// LoginHint is the next step whenever a profile has no usable sign-in.
func LoginHint(profile string) string {
	return "run: sfmcp-token login --profile " + profile
}

// HeadlessUnlock starts gnome-keyring's Secret Service and unlocks (or
// creates) the login keyring with a password from stdin; --start alone
// leaves it locked.
const HeadlessUnlock = `printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets`

// fileStoreOption offers the file store with its risk.
const fileStoreOption = "Or opt in to the file store: keyring = \"file\" in the config file (SFMCP_KEYRING=file works for one command, but a daemon an MCP client started does not read it); the refresh token then sits in a mode 0600 file that any process of yours, root and your backups can read"

// KeychainAdvice says how to get a usable credential store on this OS.
func KeychainAdvice() string {
	switch runtime.GOOS {
	case "darwin":
		return "unlock the login keychain (Keychain Access) and try again. " + fileStoreOption
	case "windows":
		return "make sure Windows Credential Manager is available. " + fileStoreOption
	default:
		return "the Secret Service is missing or locked. At a desktop, unlock the login keyring. On a headless machine with a session bus (loginctl enable-linger $USER keeps one at /run/user/$(id -u)/bus), start and unlock gnome-keyring once per boot: " + HeadlessUnlock +
			". " + fileStoreOption
	}
}

// Report prints an error and its next step, as every sfmcp command does.
func Report(w io.Writer, err error, hint string) {
	io.WriteString(w, "sfmcp: "+err.Error()+"\n")
	if hint != "" {
		io.WriteString(w, "sfmcp: "+hint+"\n")
	}
}
