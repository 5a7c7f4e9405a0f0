package errcode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/safesocket"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Every code has an error that Of maps to it, however deeply wrapped; the
// walk is over apitype.Codes, so a new code without a case fails here.
func TestOfWalksEveryCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("profile prod: %w", err) }
	byCode := map[string][]error{
		apitype.CodeLoginRequired: {oauth.ErrLoginRequired, &oauth.LoginRequiredError{Profile: "prod", Reason: "the CA file changed"},
			&client.Error{Code: apitype.CodeLoginRequired}},
		apitype.CodeSignInOpened:        {&oauth.LoginRequiredError{Profile: "prod", SignInOpened: true}, &client.Error{Code: apitype.CodeLoginRequired, SignInOpened: true}},
		apitype.CodeHostMismatch:        {config.ErrHostMismatch},
		apitype.CodeHostNotAllowed:      {config.ErrHostNotAllowed},
		apitype.CodeUnknownProfile:      {config.ErrNoProfile},
		apitype.CodeKeychainUnavailable: {keychain.ErrUnavailable},
		apitype.CodeClientConfig:        {oauth.ErrClientConfig, &client.Error{Code: apitype.CodeClientConfig}},
		apitype.CodeUnavailable: {oauth.ErrUnavailable, context.DeadlineExceeded, &net.OpError{Op: "dial", Err: errors.New("refused")},
			New(apitype.CodeUnavailable, "the profile changed during the refresh; try again")},
		apitype.CodeBadRequest:   {&client.Error{Code: apitype.CodeBadRequest}},
		apitype.CodeInternal:     {&client.Error{Code: apitype.CodeInternal}},
		apitype.CodeNoDaemon:     {client.ErrNoDaemon},
		apitype.CodeDaemonBusy:   {client.ErrBusy},
		apitype.CodeUnsafeSocket: {safesocket.ErrUnsafe},
	}
	for _, code := range apitype.Codes {
		if code == apitype.CodeDaemonFailed {
			// A failed exchange with the daemon is not a failure Of can
			// tell from others; the caller that talked to the daemon
			// names it through client.CodeOf.
			if got := client.CodeOf(errors.New("read the sfmcp daemon's answer: EOF")); got != code {
				t.Errorf("client.CodeOf(a failed exchange) = %q", got)
			}
			continue
		}
		errs, ok := byCode[code]
		if !ok {
			t.Errorf("no error with code %s", code)
		}
		for _, err := range errs {
			if got := Of(wrap(err)); got != code {
				t.Errorf("Of(%v) = %q; want %q", err, got, code)
			}
		}
	}
	for _, err := range []error{errors.New("something else"), nil} {
		if got := Of(err); got != "" {
			t.Errorf("Of(%v) = %q; want none", err, got)
		}
	}
}

// The profile an error names survives wrapping; the reason a sign-in is
// required reads as it did when it was a string.
func TestProfileOfAndLoginRequiredMessage(t *testing.T) {
	err := fmt.Errorf("refresh: %w", &oauth.LoginRequiredError{Profile: "prod", Cause: errors.New("the CA file changed")})
	if got := ProfileOf(err); got != "prod" {
		t.Errorf("ProfileOf = %q", got)
	}
	if got, want := err.Error(), "refresh: profile prod: a new sign-in is required (the CA file changed)"; got != want {
		t.Errorf("message = %q; want %q", got, want)
	}
	if got := ProfileOf(&client.Error{Profile: "dev"}); got != "dev" {
		t.Errorf("ProfileOf(daemon answer) = %q", got)
	}
}
