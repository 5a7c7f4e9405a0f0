package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/oauth"
)

// Every failed sign-in is worded once, for login, setup and the daemon:
// what a new sign-in cures asks for one; what the administrator must fix
// says what; anything else keeps its own code (Exit 0).
func TestAdvise(t *testing.T) {
	surprise := errors.New("connection reset")
	for _, tc := range []struct {
		name     string
		err      error
		exit     int
		msg      string
		hint     string // a part of it
		canceled bool   // errors.Is(Err, context.Canceled)
	}{
		{"denied", &AuthorizeError{Err: oauth.ErrAccessDenied}, exitcode.LoginRequired, "sign-in failed: " + oauth.ErrAccessDenied.Error(), "login --profile prod", false},
		{"timed out", &AuthorizeError{Err: fmt.Errorf("waiting: %w", oauth.ErrTimeout)}, exitcode.LoginRequired, "sign-in failed: waiting: " + oauth.ErrTimeout.Error(), "login --profile prod", false},
		{"interrupted", &AuthorizeError{Err: context.Canceled}, exitcode.LoginRequired, "sign-in interrupted", "login --profile prod", false},
		{"server failed", &AuthorizeError{Err: surprise}, exitcode.OK, "sign-in failed: connection reset", "", false},
		{"wrong user", &WrongUserError{Profile: "prod", Want: "ALICE", Got: "BOB"}, exitcode.LoginRequired, "signed in as BOB, but profile prod is for ALICE; nothing was saved", "sign in as ALICE (run: sfmcp-token login --profile prod)", false},
		{"no refresh token", ErrNoRefreshToken, exitcode.Usage, ErrNoRefreshToken.Error(), "OAUTH_ISSUE_REFRESH_TOKENS = TRUE", false},
		{"no secret", &NoClientSecretError{Profile: "conf"}, exitcode.Usage, "profile conf is a confidential client but no client secret is stored", "profile set-secret conf --client-secret-stdin", false},
		{"other", surprise, exitcode.OK, "connection reset", "", false},
		{"cancelled outside the flow", context.Canceled, exitcode.OK, "context canceled", "", true},
	} {
		a := Advise("prod", tc.err)
		if a.Exit != tc.exit || a.Err.Error() != tc.msg || !strings.Contains(a.Hint, tc.hint) || (tc.hint == "") != (a.Hint == "") {
			t.Errorf("%s: %d %q %q, want %d %q %q", tc.name, a.Exit, a.Err, a.Hint, tc.exit, tc.msg, tc.hint)
		}
		if got := errors.Is(a.Err, context.Canceled); got != tc.canceled {
			t.Errorf("%s: Is(Canceled) = %v", tc.name, got)
		}
	}
}

// Issue #23: a sign-in that ran out of time is not answered with the
// command that just timed out, but with the ways that need no browser here.
func TestTimeoutHint(t *testing.T) {
	snow := config.Profile{Name: "prod"}
	idp := config.Profile{Name: "corp", Issuer: "https://example.okta.com"}
	for _, tc := range []struct {
		p      config.Profile
		remote bool
		want   string
	}{
		{snow, false, "if no browser opened, or it could not reach this machine, run: sfmcp-token login --profile prod --no-browser and paste the address your browser ends on"},
		{idp, false, "if no browser opened, or it could not reach this machine, run: sfmcp-token login --profile corp --no-browser and paste the address your browser ends on, or sfmcp-token login --profile corp --device to enter a code on another device"},
		{snow, true, "paste the address your browser ends on in time: run: sfmcp-token login --profile prod --no-browser"},
		{idp, true, "paste the address your browser ends on in time: run: sfmcp-token login --profile corp --no-browser, or sfmcp-token login --profile corp --device to enter a code on another device"},
	} {
		if got := TimeoutHint(tc.p, tc.remote); got != tc.want {
			t.Errorf("TimeoutHint(%s, remote %v):\n got %q\nwant %q", tc.p.Name, tc.remote, got, tc.want)
		}
	}
}
