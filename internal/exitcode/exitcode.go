// Package exitcode owns what every sfmcp command ends with: its documented
// exit code and the one-line next step it suggests. It is a leaf: the hot
// path and the full CLI both use it.
package exitcode

import (
	"io"
	"runtime"
	"strings"

	"github.com/sfmcp/sfmcp/client/apitype"
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

// ForCode is the exit code and next step of an error with code (an
// apitype code) for profile ("" when not known). It is the one place a
// code becomes advice: the hot path, the full CLI, the bridge and doctor
// all use it.
func ForCode(code, profile string) (int, string) {
	named := profile
	if named == "" {
		named = "NAME"
	}
	switch code {
	case apitype.CodeLoginRequired:
		return LoginRequired, LoginHint(named)
	case apitype.CodeSignInOpened:
		// The daemon opened the sign-in; a second one would race it.
		return LoginRequired, "finish the sign-in in the browser window sfmcp opened, then try again (if you closed it: sfmcp-token login --profile " + named + ")"
	case apitype.CodeUnknownProfile:
		if profile != "" {
			// A name was given (by --profile or an MCP client's entry):
			// that one is missing, not every profile.
			return Usage, "profile " + profile + " does not exist; run: sfmcp-token profile list"
		}
		return Usage, "run: sfmcp-token profile list (or sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME)"
	case apitype.CodeKeychainUnavailable:
		return Unavailable, KeychainAdvice()
	case apitype.CodeUnavailable:
		return Unavailable, "check the network connection and the account host, then try again shortly; behind a proxy, set https_proxy in the config and sign in again (details: sfmcp-token status)"
	case apitype.CodeHostMismatch:
		return Usage, HostMismatchHint()
	case apitype.CodeHostNotAllowed:
		return Usage, "your organisation's system configuration allows only the hosts it names; ask your administrator if this profile should work"
	case apitype.CodeClientConfig:
		show := "sfmcp-token profile show"
		if profile != "" {
			show += " " + profile
		}
		return Usage, "fix the profile (" + show + ") or ask your Snowflake administrator to check the integration"
	case apitype.CodeBadRequest, apitype.CodeInternal:
		return Error, "see the daemon log for details"
	case apitype.CodeNoDaemon:
		return Unavailable, "start it: sfmcp-token daemon, or install the service: sfmcp-token service install (autostart is off when SFMCP_NO_AUTOSTART=1)"
	case apitype.CodeDaemonBusy:
		return Unavailable, "try again; if this persists, a process on this machine is flooding the daemon (see the daemon log)"
	case apitype.CodeUnsafeSocket:
		return Usage, "use a socket in a directory of your own: unset SFMCP_SOCKET or XDG_RUNTIME_DIR if they point elsewhere, or set SFMCP_SOCKET to a path under a 0700 directory you own"
	case apitype.CodeDaemonFailed:
		return Unavailable, "check the daemon: sfmcp-token status"
	case "":
		return Error, "" // an unexpected error: nothing to advise
	}
	// A code this binary does not know (a daemon of another version).
	return Error, "see the daemon log for details"
}

// DaemonEnvNote names the variables set in this environment that a daemon
// an MCP client started did not take from its caller, when they may explain
// a missing profile or sign-in ("" when none is set).
func DaemonEnvNote(getenv func(string) string) string {
	var set []string
	for _, k := range []string{"SFMCP_CONFIG", "SFMCP_SYSTEM_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "SFMCP_KEYRING"} {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		return ""
	}
	return "note: the daemon does not read " + strings.Join(set, ", ") + " from your environment (it may have been started by an MCP client); keep the config at ~/.config/sfmcp/config.toml (with keyring = \"file\" there for the file store), or run the daemon with your environment: sfmcp-token service install"
}

// HostMismatchHint is the next step when a server URL is not on the
// profile's host.
func HostMismatchHint() string {
	return "a token goes only to https on the profile's own host: check the server URL (in .mcp.json: is this project's entry yours?); if that host really is your Snowflake account (e.g. its PrivateLink name), add it to the profile's extra_hosts in the config file"
}

// NoDefaultProfileHint is the next step when no profile was named and
// none is the default, while profiles exist.
func NoDefaultProfileHint() string {
	return "no profile was named and none is the default; run: sfmcp-token profile list, then sfmcp-token profile default NAME"
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
