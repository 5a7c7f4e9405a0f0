package client

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// The daemon's wire protocol: the JSON of its answers and its error codes.

// Error codes in the daemon's JSON error answers; clients map them to exit
// codes.
const (
	CodeLoginRequired       = "login_required"
	CodeUnknownProfile      = "unknown_profile"
	CodeKeychainUnavailable = "keychain_unavailable"
	CodeUnavailable         = "unavailable"
	CodeClientConfig        = "client_config"
	CodeHostMismatch        = "host_mismatch" // the server URL is not on the profile's host
	CodeBadRequest          = "bad_request"
	CodeInternal            = "internal"
)

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Profile string `json:"profile,omitempty"`
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
}

// Fingerprint identifies a token without revealing it.
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}
