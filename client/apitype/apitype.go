// Package apitype is the daemon's wire protocol: the JSON of its answers,
// its error codes and the record in its single-instance lock. Both the
// daemon and its clients import it; it imports neither.
package apitype

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Error codes: sfmcp's one vocabulary for what went wrong. The daemon
// sends them in its JSON error answers; every command maps an error to one
// of them and one of them to its exit code and next step
// (exitcode.ForCode), so the hot path and the full CLI advise alike.
const (
	CodeLoginRequired       = "login_required"
	CodeUnknownProfile      = "unknown_profile"
	CodeKeychainUnavailable = "keychain_unavailable"
	CodeUnavailable         = "unavailable"
	CodeClientConfig        = "client_config"
	CodeHostMismatch        = "host_mismatch"    // the server URL is not on the profile's host
	CodeHostNotAllowed      = "host_not_allowed" // the system file allows other hosts only
	CodeBadRequest          = "bad_request"
	CodeInternal            = "internal"
)

// Codes a client derives itself; the daemon never sends them.
const (
	// CodeSignInOpened: login_required, and the daemon opened a browser
	// sign-in (ErrorBody.SignInOpened).
	CodeSignInOpened = "signin_opened"
	CodeNoDaemon     = "no_daemon"     // nothing answers on the socket
	CodeDaemonBusy   = "daemon_busy"   // the daemon's connection queue stayed full
	CodeUnsafeSocket = "unsafe_socket" // the socket is not this user's alone
	CodeDaemonFailed = "daemon_failed" // the exchange with the daemon failed
)

// Codes is every code, for tests that walk the vocabulary.
var Codes = []string{
	CodeLoginRequired, CodeUnknownProfile, CodeKeychainUnavailable, CodeUnavailable, CodeClientConfig,
	CodeHostMismatch, CodeHostNotAllowed, CodeBadRequest, CodeInternal,
	CodeSignInOpened, CodeNoDaemon, CodeDaemonBusy, CodeUnsafeSocket, CodeDaemonFailed,
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Profile string `json:"profile,omitempty"`
	// What Snowflake's token endpoint said, when it refused: its RFC 6749
	// error (invalid_grant, invalid_client, …), its numeric code (390307)
	// and what to do about it. Clients branch on these, never on Message.
	OAuthError    string `json:"oauth_error,omitempty"`
	SnowflakeCode string `json:"snowflake_code,omitempty"`
	Advice        string `json:"advice,omitempty"`
	// SignInOpened: the daemon opened a browser sign-in for the profile,
	// so the user should finish it rather than start another.
	SignInOpened bool `json:"signin_opened,omitempty"`
}

// TokenBody is the answer of /v1/token.
type TokenBody struct {
	Profile     string    `json:"profile"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	// The network the sign-in was made with, which whoever sends the
	// token must use (the bridge does): a CA bundle and its digest, a proxy.
	NetworkRecorded bool   `json:"network_recorded,omitempty"`
	CAFile          string `json:"ca_file,omitempty"`
	CAFileSHA256    string `json:"ca_file_sha256,omitempty"`
	HTTPSProxy      string `json:"https_proxy,omitempty"`
}

// Health is the answer of /v1/health.
type Health struct {
	OK      bool   `json:"ok"`
	PID     int    `json:"pid"`
	Version string `json:"version"`
}

// Status is the answer of /v1/status.
type Status struct {
	PID     int       `json:"pid"`
	Version string    `json:"version"`
	Socket  string    `json:"socket"`
	Started time.Time `json:"started"`
	Uptime  string    `json:"uptime"`
	// Goroutines helps spot leaks (the load benchmark compares them).
	Goroutines int             `json:"goroutines"`
	Profiles   []ProfileStatus `json:"profiles"`
}

// ProfileStatus is one profile's state, without any secret.
type ProfileStatus struct {
	Name            string    `json:"name"`
	Host            string    `json:"host"`
	Auth            string    `json:"auth"`
	State           string    `json:"state"` // ok, idle, login_required, error
	User            string    `json:"user,omitempty"`
	Role            string    `json:"role,omitempty"`
	AccessExpiresAt time.Time `json:"access_expires_at,omitzero"`
	SecretExpiresAt time.Time `json:"secret_expires_at,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	Refreshes       int       `json:"refreshes"`
	// Issuer is the identity provider the profile signs in at ("" for
	// Snowflake's own OAuth); TokenScopes and TokenAudience are the scp and
	// aud of its current access token, decoded (never the token).
	Issuer        string   `json:"issuer,omitempty"`
	TokenScopes   []string `json:"token_scopes,omitempty"`
	TokenAudience []string `json:"token_audience,omitempty"`
}

// The daemon's single-instance lock file (paths.Paths.Lock) holds its
// pid and the socket it listens on, one per line, so a client that looked
// for the socket elsewhere (a different XDG_RUNTIME_DIR or SFMCP_SOCKET)
// still finds the one daemon of its user.

// MaxLockRecord bounds what is read from a lock file.
const MaxLockRecord = 4 << 10

// FormatLockRecord is the content of the lock file of daemon pid.
func FormatLockRecord(pid int, socket string) []byte {
	return []byte(strconv.Itoa(pid) + "\n" + socket + "\n")
}

// ParseLockRecord reads a lock file's content. An empty one (being
// written) or one from an older version (the pid alone) has no socket.
func ParseLockRecord(b []byte) (pid int, socket string, err error) {
	if len(b) > MaxLockRecord {
		return 0, "", fmt.Errorf("the lock file is too large to be sfmcp's")
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return 0, "", nil
	}
	if pid, err = strconv.Atoi(lines[0]); err != nil || pid <= 0 || len(lines) > 2 {
		return 0, "", fmt.Errorf("the lock file holds something other than a pid and a socket path")
	}
	if len(lines) == 2 {
		socket = lines[1]
		if !filepath.IsAbs(socket) {
			return 0, "", fmt.Errorf("the lock file names a relative socket path")
		}
		// The daemon records no path with a CR or a NUL (the kernel would
		// dial the path up to the NUL).
		if strings.ContainsAny(socket, "\r\x00") {
			return 0, "", fmt.Errorf("the lock file names a socket path with a control character")
		}
	}
	return pid, socket, nil
}
