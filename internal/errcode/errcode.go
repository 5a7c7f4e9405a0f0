// Package errcode maps an error to its code in sfmcp's one vocabulary of
// failures (the apitype codes). The daemon sends that code on the wire,
// and every command of the full CLI turns it into an exit code and a next
// step through exitcode.ForCode, so a failure is advised the same way
// wherever it is met. It never words advice itself.
package errcode

import (
	"context"
	"errors"
	"net"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Of is the code of err, or "" when none fits (an unexpected error).
func Of(err error) string {
	if err == nil {
		return ""
	}
	// The client's own errors and the daemon's answers; a failed exchange
	// with the daemon is the caller's to name (client.CodeOf), not a
	// network failure to Snowflake.
	if code := client.CodeOf(err); code != apitype.CodeDaemonFailed {
		return code
	}
	var (
		login *oauth.LoginRequiredError
		coded interface{ ErrorCode() string }
		ne    net.Error
	)
	switch {
	case errors.As(err, &login) && login.SignInOpened:
		return apitype.CodeSignInOpened
	case errors.Is(err, oauth.ErrLoginRequired):
		return apitype.CodeLoginRequired
	case errors.As(err, &coded):
		return coded.ErrorCode()
	case errors.Is(err, config.ErrHostMismatch):
		return apitype.CodeHostMismatch
	case errors.Is(err, config.ErrHostNotAllowed):
		return apitype.CodeHostNotAllowed
	case errors.Is(err, config.ErrNoProfile):
		return apitype.CodeUnknownProfile
	case errors.Is(err, keychain.ErrUnavailable):
		return apitype.CodeKeychainUnavailable
	case errors.Is(err, oauth.ErrClientConfig):
		return apitype.CodeClientConfig
	case errors.Is(err, oauth.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return apitype.CodeUnavailable
	}
	return ""
}

// New returns an error with message that Of maps to code, for a failure
// that has no sentinel of its own (the daemon's "the profile changed
// during the refresh" is CodeUnavailable: try again).
func New(code, message string) error { return &codedError{code: code, message: message} }

type codedError struct{ code, message string }

func (e *codedError) Error() string     { return e.message }
func (e *codedError) ErrorCode() string { return e.code }

// ProfileOf is the profile err is about, when it says ("" otherwise): the
// one the daemon resolved, or the one whose sign-in is required.
func ProfileOf(err error) string {
	var (
		ce    *client.Error
		login *oauth.LoginRequiredError
	)
	switch {
	case errors.As(err, &ce):
		return ce.Profile
	case errors.As(err, &login):
		return login.Profile
	}
	return ""
}
