package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// signInFixture is a fixture whose daemon may open a browser sign-in: it
// signs ALICE in again at the stand-in (the "browser") and stores it.
func signInFixture(t *testing.T, opts func(*Options)) (*fixture, *atomic.Int32, chan string) {
	var opened atomic.Int32
	notified := make(chan string, 10)
	var f *fixture
	f = newFixture(t, nil, func(o *Options) {
		o.BackoffBase, o.BackoffMax = time.Hour, time.Hour
		o.SignIn = &SignIn{Run: func(ctx context.Context, p config.Profile, show func(func() error) error) error {
			opened.Add(1)
			c := &oauth.Client{BaseURL: f.sf.URL, ClientID: config.LocalApplication, Scopes: []string{"refresh_token", "session:role:MCP_USERS"}, HTTPClient: f.sf.Client()}
			open := func(u string) error { return show(func() error { _, _, err := f.sf.Visit(u); return err }) }
			tok, err := (&oauth.Login{Client: c, Timeout: 10 * time.Second, Open: open}).Run(ctx)
			if err != nil {
				return err
			}
			return f.store.SaveCredential(p.Name, keychain.Credential{Secret: tok.RefreshToken, Kind: keychain.CredentialOAuth, Host: f.sf.Host(), User: "ALICE"})
		}}
		o.NeedsSignIn = func(profile, command string) { notified <- command }
		if opts != nil {
			opts(o)
		}
	})
	return f, &opened, notified
}

// revoke makes Snowflake refuse the stored sign-in and the cached token.
func (f *fixture) revoke() {
	f.sf.RevokeUser("ALICE")
	f.clock.Advance(11 * time.Minute) // the cached access token expired too
}

// Issue #11 §4: a bridge request that finds the sign-in revoked waits for
// the browser sign-in the daemon opens, then gets a token.
func TestWaitingRequestSucceedsAfterTheOpenedSignIn(t *testing.T) {
	f, opened, _ := signInFixture(t, nil)
	first := f.token()
	f.revoke()
	tok, err := f.m.Token(context.Background(), Request{Profile: "prod", WaitSignIn: 10 * time.Second})
	if err != nil {
		t.Fatalf("the waiting request failed: %v", err)
	}
	if tok.AccessToken == "" || tok.AccessToken == first.AccessToken || opened.Load() != 1 {
		t.Fatalf("opened %d sign-ins; token renewed: %v", opened.Load(), tok.AccessToken != first.AccessToken)
	}
	// Revoked again within 10 minutes: no second browser; the error says
	// so, and leaves the command to the code's advice.
	f.sf.RevokeUser("ALICE")
	f.clock.Advance(time.Minute)
	_, err = f.m.Token(context.Background(), Request{Profile: "prod", Force: true, WaitSignIn: 10 * time.Second})
	if !errors.Is(err, oauth.ErrLoginRequired) || !strings.Contains(err.Error(), "no browser was opened") || strings.Contains(err.Error(), "sfmcp-token login") || opened.Load() != 1 {
		t.Fatalf("second failure: opened %d, err %v", opened.Load(), err)
	}
}

// headers does not wait (clients give helpers 10 s): it fails at once,
// saying a browser was opened, and the sign-in completes on its own.
func TestHeadersFailsFastWhileTheSignInOpens(t *testing.T) {
	f, opened, _ := signInFixture(t, nil)
	f.token()
	f.revoke()
	_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	if !errors.Is(err, oauth.ErrLoginRequired) || !strings.Contains(err.Error(), "browser window was opened") {
		t.Fatalf("headers: %v", err)
	}
	f.m.mu.Lock()
	s := f.m.signIns["prod"]
	f.m.mu.Unlock()
	<-s.done
	if s.err != nil || opened.Load() != 1 {
		t.Fatalf("the opened sign-in: %v (opened %d)", s.err, opened.Load())
	}
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); err != nil {
		t.Fatalf("after the sign-in: %v", err)
	}
}

// Issue #20: a window is claimed only when the opener succeeded, or still
// runs after the grace (xdg-open may block until the browser exits); an
// opener that failed gets the caller the login advice at once.
func TestSignInCountsAsOpenedOnlyWhenTheBrowserOpened(t *testing.T) {
	for name, c := range map[string]struct {
		open   func(ctx context.Context) error
		grace  time.Duration
		opened bool
	}{
		"the opener exited 0":   {open: func(context.Context) error { return nil }, grace: time.Hour, opened: true},
		"the opener still runs": {open: func(ctx context.Context) error { <-ctx.Done(); return nil }, grace: time.Millisecond, opened: true},
		"the opener failed":     {open: func(context.Context) error { return errors.New("exit status 3") }, grace: time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil, func(o *Options) {
				o.SignIn = &SignIn{OpenGrace: c.grace}
				o.SignIn.Run = func(ctx context.Context, p config.Profile, show func(func() error) error) error {
					go show(func() error { return c.open(ctx) }) // as oauth.Login runs its opener
					<-ctx.Done()                                 // nobody signs in
					return ctx.Err()
				}
			})
			f.token()
			f.revoke()
			_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
			_, body := errorFor(err)
			if !errors.Is(err, oauth.ErrLoginRequired) || body.SignInOpened != c.opened || isSignInOpened(err) != c.opened {
				t.Fatalf("SignInOpened %v, want %v: %v", body.SignInOpened, c.opened, err)
			}
			if !c.opened && (!strings.Contains(err.Error(), "exit status 3") || strings.Contains(err.Error(), "sfmcp-token login")) {
				t.Fatalf("the error should say what failed, and leave what to run to the code's advice: %v", err)
			}
		})
	}
}

// Review of #20: the grace is timed from the opener's start, not the
// sign-in's: what comes before it (a keychain read) may take longer than
// the grace, and a window no opener has shown yet was not opened.
func TestGraceCountsFromTheOpenersStart(t *testing.T) {
	const grace = 200 * time.Millisecond
	f := newFixture(t, nil, func(o *Options) {
		o.SignIn = &SignIn{OpenGrace: grace}
		o.SignIn.Run = func(ctx context.Context, p config.Profile, show func(func() error) error) error {
			// A keychain read before the browser opens that takes longer
			// than the grace: the case under test, not a synchronisation.
			<-time.After(3 * grace)
			show(func() error { return errors.New("exit status 3") })
			<-ctx.Done()
			return ctx.Err()
		}
	})
	f.token()
	f.revoke()
	_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	if !errors.Is(err, oauth.ErrLoginRequired) || isSignInOpened(err) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("a window whose opener had not run yet was claimed: %v", err)
	}
}

// Second review of #20: a sign-in stuck before its opener (a keychain
// behind an unlock prompt) holds a caller a few seconds at most, and the
// answer names the command to run if no window appears.
func TestCallerWaitsForTheOpenerAFewSecondsAtMost(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) {
		o.SignIn = &SignIn{OpenGrace: time.Millisecond}
		o.SignIn.Run = func(ctx context.Context, p config.Profile, show func(func() error) error) error {
			<-ctx.Done() // never gets as far as the opener
			return ctx.Err()
		}
	})
	f.token()
	f.revoke()
	// Far longer than openPrepare: a caller held until its own deadline
	// fails this test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := f.m.Token(ctx, Request{Profile: "prod"})
	if ctx.Err() != nil || !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("the caller was held until its deadline: %v", err)
	}
	if code, body := errorFor(err); code == 0 || !body.SignInOpened {
		t.Fatalf("want the answer that a window is on its way: %+v", body)
	}
}

// Issue #20: a failed open does not hold the bridge's request (which would
// wait for a window nobody sees), is not taken for a sign-in under way, is
// not tried again on every request, and does not count against the 10
// minutes between windows.
func TestFailedOpenAnswersAtOnceAndIsTriedAgainLater(t *testing.T) {
	var tries atomic.Int32
	f := newFixture(t, nil, func(o *Options) {
		o.SignIn = &SignIn{OpenGrace: time.Hour} // the outcome comes from the opener alone
		o.SignIn.Run = func(ctx context.Context, p config.Profile, show func(func() error) error) error {
			tries.Add(1)
			show(func() error { return errors.New("exit status 3") })
			<-ctx.Done()
			return ctx.Err()
		}
	})
	f.token()
	f.revoke()
	bridge := func(want string, tried int32) {
		t.Helper()
		// Far shorter than the wait asked for: a request held for the
		// window ends with this deadline, and says one was opened.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := f.m.Token(ctx, Request{Profile: "prod", WaitSignIn: time.Hour})
		if !errors.Is(err, oauth.ErrLoginRequired) || isSignInOpened(err) || !strings.Contains(err.Error(), want) ||
			strings.Contains(err.Error(), "sfmcp-token login") || tries.Load() != tried {
			t.Fatalf("tried %d times (want %d): %v", tries.Load(), tried, err)
		}
	}
	bridge("failed: exit status 3", 1)
	f.m.mu.Lock()
	s := f.m.signIns["prod"]
	f.m.mu.Unlock()
	<-s.done // the failed open ended the sign-in
	bridge("failed: exit status 3", 1)
	f.clock.Advance(openRetry)
	bridge("failed: exit status 3", 2)
}

// Nothing opens over SSH, for a profile that turned it off, or for a
// caller that asked not to; the user is told the command instead.
func TestNoSignInOpensWhereNoOneSeesIt(t *testing.T) {
	off := false
	for name, c := range map[string]struct {
		req     Request
		profile func(*config.Profile)
	}{
		"over SSH":            {req: Request{Profile: "prod", OverSSH: func() bool { return true }}},
		"SFMCP_NO_AUTO_LOGIN": {req: Request{Profile: "prod", NoSignIn: true}},
		"auto_login = false":  {req: Request{Profile: "prod"}, profile: func(p *config.Profile) { p.AutoLogin = &off }},
	} {
		t.Run(name, func(t *testing.T) {
			f, opened, notified := signInFixture(t, nil)
			if c.profile != nil {
				f.m.mu.Lock()
				p := f.m.cfg.Profiles["prod"]
				c.profile(&p)
				f.m.cfg.Profiles["prod"] = p
				f.m.mu.Unlock()
			}
			f.token()
			f.revoke()
			c.req.WaitSignIn = 10 * time.Second
			_, err := f.m.Token(context.Background(), c.req)
			if !errors.Is(err, oauth.ErrLoginRequired) || !strings.Contains(err.Error(), "no browser was opened") || strings.Contains(err.Error(), "sfmcp-token login") {
				t.Fatalf("err %v", err)
			}
			if opened.Load() != 0 {
				t.Fatal("a browser sign-in was opened")
			}
			if cmd := <-notified; cmd != "sfmcp-token login --profile prod" {
				t.Fatalf("notified %q", cmd)
			}
			if !strings.Contains(f.logs.String(), "run=\"sfmcp-token login --profile prod\"") {
				t.Errorf("the daemon log does not name the command:\n%s", f.logs.String())
			}
		})
	}
}

// Errors cross the socket as fields, not text (issue #12): the token
// endpoint's error, code and advice, and whether a sign-in is open.
func TestErrorBodyCarriesTypes(t *testing.T) {
	te := &oauth.TokenError{Op: "refresh", Status: 400, Code: "invalid_client", SnowflakeCode: "390307"}
	_, body := errorFor(fmt.Errorf("refresh profile prod: %w", te))
	if body.OAuthError != "invalid_client" || body.SnowflakeCode != "390307" || body.Advice != te.Advice() || body.SignInOpened {
		t.Errorf("token error body: %+v", body)
	}
	status, body := errorFor(fmt.Errorf("wait: %w", &oauth.LoginRequiredError{Profile: "prod", SignInOpened: true}))
	if status != 401 || body.Error != apitype.CodeLoginRequired || !body.SignInOpened {
		t.Errorf("opened sign-in: %d %+v", status, body)
	}
	if _, body := errorFor(fmt.Errorf("%w: a browser window was opened (only the words)", oauth.ErrLoginRequired)); body.SignInOpened {
		t.Error("the sign-in flag came from the message's text")
	}
}

// A revoked sign-in reaches the client with Snowflake's own error and
// advice as fields (invalid_grant), not only as text.
func TestRevokedSignInKeepsSnowflakesError(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.token()
	f.sf.RevokeUser("ALICE")
	f.clock.Advance(11 * time.Minute)
	_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	status, body := errorFor(err)
	if status != 401 || body.Error != apitype.CodeLoginRequired || body.OAuthError != "invalid_grant" || body.Advice == "" {
		t.Fatalf("%d %+v", status, body)
	}
}

// isSignInOpened reports whether err says the daemon opened a sign-in.
func isSignInOpened(err error) bool {
	var lr *oauth.LoginRequiredError
	return errors.As(err, &lr) && lr.SignInOpened
}
