package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/oauth"
)

// Advice is a failed sign-in as the user is told of it: Err says what
// happened, Exit and Hint are the exit code and the next step. An Exit of
// 0 leaves both to the error's code (errcode.Of, exitcode.ForCode).
type Advice struct {
	Err  error
	Exit int
	Hint string
}

// Advise words a failed sign-in of profile, the same for login, setup and
// the sign-in the daemon opens itself.
func Advise(profile string, err error) Advice {
	var (
		authz    *AuthorizeError
		wrong    *WrongUserError
		noSecret *NoClientSecretError
	)
	switch {
	case errors.As(err, &authz):
		return authorizeAdvice(profile, authz.Err)
	case errors.As(err, &wrong):
		return Advice{err, exitcode.LoginRequired,
			"sign in as " + wrong.Want + " (" + exitcode.LoginHint(profile) + "); if another user of this machine opened the sign-in page, tell your administrator"}
	case errors.Is(err, ErrNoRefreshToken):
		return Advice{err, exitcode.Usage, "ask your administrator to set OAUTH_ISSUE_REFRESH_TOKENS = TRUE on the integration, and allow the refresh_token scope when consenting"}
	case errors.As(err, &noSecret):
		return Advice{err, exitcode.Usage,
			fmt.Sprintf(`run: printf %%s "$SECRET" | sfmcp-token profile set-secret %s --client-secret-stdin (or set SFMCP_CLIENT_SECRET)`, noSecret.Profile)}
	}
	return Advice{Err: err}
}

// authorizeAdvice words a sign-in the authorization server did not
// complete (oauth's err): the ones a new sign-in cures ask for one.
func authorizeAdvice(profile string, err error) Advice {
	again := exitcode.LoginHint(profile)
	switch {
	case errors.Is(err, oauth.ErrAccessDenied), errors.Is(err, oauth.ErrStateMismatch), errors.Is(err, oauth.ErrTimeout), errors.Is(err, oauth.ErrStartReused),
		errors.Is(err, oauth.ErrLoginRequired):
		return Advice{fmt.Errorf("sign-in failed: %w", err), exitcode.LoginRequired, again}
	case errors.Is(err, context.Canceled):
		// Not context.Canceled itself: an interrupted sign-in still needs
		// one, which the exit code says.
		return Advice{errors.New("sign-in interrupted"), exitcode.LoginRequired, again}
	}
	return Advice{Err: fmt.Errorf("sign-in failed: %w", err)}
}

// TimeoutHint is the next step after p's browser sign-in ran out of
// time. The browser may not have opened, or could not reach this machine,
// so it names the ways that need none here: the address pasted back
// (--no-browser) and, at an identity provider, a code entered on another
// device (--device). remote says the sign-in that timed out already
// offered the paste.
func TimeoutHint(p config.Profile, remote bool) string {
	login := "sfmcp-token login --profile " + p.Name
	hint := "if no browser opened, or it could not reach this machine, run: " + login + " --no-browser and paste the address your browser ends on"
	if remote {
		hint = "paste the address your browser ends on in time: run: " + login + " --no-browser"
	}
	if p.IsIdP() {
		hint += ", or " + login + " --device to enter a code on another device"
	}
	return hint
}
