package onboard

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sfmcp/sfmcp/internal/mcpclients"
)

// FieldError is an input that is missing or invalid: "profile" (its
// name), "account" (a new profile's), "mcp_server", or "url" (the MCP
// server's URL, and what its metadata says).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ProfileConflictError: a profile of that name exists with other settings,
// which setup does not change.
type ProfileConflictError struct {
	Profile     string
	Differences []string // as config.Profile.Differences names them
}

func (e *ProfileConflictError) Error() string {
	return fmt.Sprintf("profile %s already exists with other settings (%s); nothing was changed", e.Profile, strings.Join(e.Differences, "; "))
}

// InvalidProfileError: the new profile the inputs make is not valid.
type InvalidProfileError struct {
	Profile string
	Err     error
}

func (e *InvalidProfileError) Error() string { return "profile " + e.Profile + ": " + e.Err.Error() }
func (e *InvalidProfileError) Unwrap() error { return e.Err }

// UntrustedHostError: a new profile would sign in outside Snowflake's
// domains, and nobody confirmed it.
type UntrustedHostError struct{ Host string }

func (e *UntrustedHostError) Error() string {
	return e.Host + " is not a Snowflake host; nothing was changed"
}

// UntrustedIssuerError: a profile would sign in at an identity provider
// that an MCP server's metadata named, and nobody confirmed it.
type UntrustedIssuerError struct{ Issuer string }

func (e *UntrustedIssuerError) Error() string {
	return "the MCP server sends the sign-in to " + IssuerHost(e.Issuer) + " (" + e.Issuer + "), which you did not name; nothing was changed"
}

// IssuerHost is the host of an issuer, as a person checks it.
func IssuerHost(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return issuer
}

// ErrNoClient: asked which MCP clients to configure, the user chose none.
var ErrNoClient = errors.New("no MCP client chosen; nothing was changed")

// ClientFileError: the chosen clients' files cannot be opened (an unknown
// client, a file that does not parse).
type ClientFileError struct{ Err error }

func (e *ClientFileError) Error() string { return e.Err.Error() }
func (e *ClientFileError) Unwrap() error { return e.Err }

// EntryConflictError: a client's file has an entry of the plan's name that
// setup may not write: another program's (Err is its
// *mcpclients.NotOursError), or sfmcp's for another profile or server (Err
// is nil). Like every refusal of New, it comes before anything changed.
type EntryConflictError struct {
	Config *mcpclients.Config
	Name   string
	Err    error
}

func (e *EntryConflictError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%s): %v", e.Config.Client.Name, e.Config.Path, e.Err)
	}
	return fmt.Sprintf("%s (%s) already has an MCP server %q for something else; nothing was changed", e.Config.Client.Name, e.Config.Path, e.Name)
}

func (e *EntryConflictError) Unwrap() error { return e.Err }
