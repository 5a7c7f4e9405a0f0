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
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Every error a command or the daemon branches on has its code, however
// deeply it is wrapped.
func TestOf(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("profile prod: %w", err) }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(oauth.ErrLoginRequired), apitype.CodeLoginRequired},
		{wrap(&oauth.LoginRequiredError{Profile: "prod", Reason: "the CA file changed"}), apitype.CodeLoginRequired},
		{wrap(&oauth.LoginRequiredError{Profile: "prod", SignInOpened: true}), apitype.CodeSignInOpened},
		{wrap(config.ErrHostMismatch), apitype.CodeHostMismatch},
		{wrap(config.ErrHostNotAllowed), apitype.CodeHostNotAllowed},
		{wrap(config.ErrNoProfile), apitype.CodeUnknownProfile},
		{wrap(keychain.ErrUnavailable), apitype.CodeKeychainUnavailable},
		{wrap(oauth.ErrClientConfig), apitype.CodeClientConfig},
		{wrap(oauth.ErrUnavailable), apitype.CodeUnavailable},
		{wrap(context.DeadlineExceeded), apitype.CodeUnavailable},
		{wrap(&net.OpError{Op: "dial", Err: errors.New("refused")}), apitype.CodeUnavailable},
		{wrap(New(apitype.CodeUnavailable, "the profile changed during the refresh; try again")), apitype.CodeUnavailable},
		{wrap(&client.Error{Code: apitype.CodeClientConfig}), apitype.CodeClientConfig},
		{wrap(client.ErrNoDaemon), apitype.CodeNoDaemon},
		{errors.New("something else"), ""},
		{nil, ""},
	} {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %q; want %q", tc.err, got, tc.want)
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
