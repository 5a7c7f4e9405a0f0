package daemon

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

var stateNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// cachedEntry holds a 600 s token obtained at stateNow, last asked for then.
func cachedEntry() *entry {
	e := &entry{}
	e.refreshed(stateNow, keychain.Credential{Secret: "refresh-secret", User: "ALICE"}, "access-1", config.TokenOAuth, 600*time.Second)
	e.use(stateNow)
	return e
}

// One background refresh at a time: the claim holds until the refresh
// ends, and only then may the next be kicked.
func TestKickClaimsTheOneBackgroundRefresh(t *testing.T) {
	e := cachedEntry()
	if !e.kick() {
		t.Fatal("the first kick was refused")
	}
	e.startRefresh()
	if e.kick() {
		t.Fatal("a second background refresh was kicked while one is under way")
	}
	e.endRefresh()
	if e.kicked || e.refreshing {
		t.Fatalf("endRefresh left kicked=%v refreshing=%v", e.kicked, e.refreshing)
	}
	if !e.kick() {
		t.Fatal("the claim was not released when the refresh ended")
	}
}

func TestRefreshDue(t *testing.T) {
	pat := config.Profile{Name: "runner", Auth: config.AuthPAT}
	oauthProfile := config.Profile{Name: "prod"}
	for name, c := range map[string]struct {
		p     config.Profile
		at    time.Duration // after the token was obtained
		setup func(*entry)
		due   bool
	}{
		"before the margin":      {p: oauthProfile, at: 479 * time.Second},
		"inside the margin":      {p: oauthProfile, at: 481 * time.Second, due: true},
		"expired":                {p: oauthProfile, at: time.Hour - time.Minute, due: true},
		"a PAT":                  {p: pat, at: 481 * time.Second},
		"needs a sign-in":        {p: oauthProfile, at: 481 * time.Second, setup: func(e *entry) { e.needLogin(oauth.ErrLoginRequired) }},
		"idle":                   {p: oauthProfile, at: time.Hour + time.Second},
		"within the backoff":     {p: oauthProfile, at: 481 * time.Second, setup: func(e *entry) { e.nextAttempt = stateNow.Add(482 * time.Second) }},
		"the backoff just ended": {p: oauthProfile, at: 481 * time.Second, setup: func(e *entry) { e.nextAttempt = stateNow.Add(481 * time.Second) }, due: true},
		"no token":               {p: oauthProfile, at: 481 * time.Second, setup: func(e *entry) { e.access = "" }},
	} {
		t.Run(name, func(t *testing.T) {
			e := cachedEntry()
			if c.setup != nil {
				c.setup(e)
			}
			if got := e.refreshDue(c.p, stateNow.Add(c.at), time.Hour); got != c.due {
				t.Fatalf("refreshDue = %v, want %v", got, c.due)
			}
		})
	}
}

func TestRefreshAfterSleep(t *testing.T) {
	for name, c := range map[string]struct {
		p      config.Profile
		setup  func(*entry)
		within time.Duration
		want   bool
	}{
		"in use":          {p: config.Profile{Name: "prod"}, within: 2 * time.Hour, want: true},
		"unused too long": {p: config.Profile{Name: "prod"}, within: 30 * time.Minute},
		"a PAT":           {p: config.Profile{Name: "runner", Auth: config.AuthPAT}, within: 2 * time.Hour},
		"needs a sign-in": {p: config.Profile{Name: "prod"}, within: 2 * time.Hour, setup: func(e *entry) { e.needLogin(oauth.ErrLoginRequired) }},
	} {
		t.Run(name, func(t *testing.T) {
			e := cachedEntry()
			if c.setup != nil {
				c.setup(e)
			}
			if got := e.refreshAfterSleep(c.p, stateNow.Add(time.Hour), c.within); got != c.want {
				t.Fatalf("refreshAfterSleep = %v, want %v", got, c.want)
			}
		})
	}
}

// A caller gets the last failure instead of trying Snowflake while it is
// fresh or a retry is under way, and tries itself after that.
func TestFailFast(t *testing.T) {
	boom := errors.New("503")
	for name, c := range map[string]struct {
		failed     bool
		refreshing bool
		after      time.Duration // since the failure
		want       error
	}{
		"no failure":                   {after: time.Second},
		"a failure moments ago":        {failed: true, after: callerRetryAfter - time.Millisecond, want: boom},
		"a failure long enough ago":    {failed: true, after: callerRetryAfter},
		"a retry under way":            {failed: true, refreshing: true, after: time.Minute, want: boom},
		"a first refresh is under way": {refreshing: true, after: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			e := cachedEntry()
			if c.failed {
				e.refreshFailed(boom, stateNow, time.Hour, time.Hour)
			}
			if c.refreshing {
				e.startRefresh()
			}
			if got := e.failFast(stateNow.Add(c.after)); got != c.want {
				t.Fatalf("failFast = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRenews(t *testing.T) {
	current := Fingerprint("access-1")
	for name, c := range map[string]struct {
		r     Request
		after time.Duration // since the token was obtained
		want  bool
	}{
		"a plain request":           {r: Request{}, after: time.Minute},
		"the cached token refused":  {r: Request{Refused: current}, after: time.Second, want: true},
		"an older token refused":    {r: Request{Refused: Fingerprint("access-0")}, after: time.Minute},
		"forced right after":        {r: Request{Force: true}, after: forceSpacing - time.Millisecond},
		"forced":                    {r: Request{Force: true}, after: forceSpacing, want: true},
		"refused wins over a force": {r: Request{Force: true, Refused: Fingerprint("access-0")}, after: time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			if got := cachedEntry().renews(c.r, stateNow.Add(c.after)); got != c.want {
				t.Fatalf("renews = %v, want %v", got, c.want)
			}
		})
	}
}

// A successful refresh clears every failure, a needed sign-in included,
// and keeps the credential's metadata but never its secret.
func TestRefreshedForgetsFailuresAndTheSecret(t *testing.T) {
	e := cachedEntry()
	e.refreshFailed(errors.New("503"), stateNow, time.Second, time.Second)
	e.needLogin(fmt.Errorf("profile prod: %w", oauth.ErrLoginRequired))
	later := stateNow.Add(time.Minute)
	e.refreshed(later, keychain.Credential{Secret: "refresh-secret-2", User: "ALICE", ExtraHosts: []string{"x.example"}}, "access-2", config.TokenOAuth, 600*time.Second)
	if e.loginErr != nil || e.lastErr != nil || e.failures != 0 {
		t.Fatalf("failures kept: login %v, last %v, %d in a row", e.loginErr, e.lastErr, e.failures)
	}
	if e.cred.Secret != "" || e.cred.User != "ALICE" || !e.credKnown {
		t.Fatalf("cached credential: secret kept %v, user %q, known %v", e.cred.Secret != "", e.cred.User, e.credKnown)
	}
	if !e.expiry.Equal(later.Add(600*time.Second)) || !e.valid(later) || e.refreshes != 2 {
		t.Fatalf("expiry %s, valid %v, refreshes %d", e.expiry, e.valid(later), e.refreshes)
	}
	if t0 := e.tokenLocked("prod"); !strings.Contains(string(t0.Headers), "Bearer access-2") || !slices.Equal(t0.extraHosts, []string{"x.example"}) {
		t.Fatalf("handed out: headers %q, extra hosts %v", t0.Headers, t0.extraHosts)
	}
}

// The backoff doubles per failure in a row up to the ceiling, is jittered
// over its upper half, and holds background refreshes back until it ends.
func TestRefreshFailedBacksOff(t *testing.T) {
	e := cachedEntry()
	now := stateNow.Add(481 * time.Second) // inside the margin
	for n := 1; n <= 40; n++ {
		err := fmt.Errorf("failure %d", n)
		d := e.refreshFailed(err, now, time.Second, 8*time.Second)
		ceiling := min(time.Second<<min(n-1, 16), 8*time.Second)
		if d < ceiling/2 || d > ceiling || !e.nextAttempt.Equal(now.Add(d)) || !e.lastAttempt.Equal(now) {
			t.Fatalf("failure %d: wait %s outside [%s, %s], or next attempt %s not now+wait", n, d, ceiling/2, ceiling, e.nextAttempt)
		}
		if e.failures != n || e.lastErr != err || e.failFast(now) != err {
			t.Fatalf("failure %d: recorded %d, %v", n, e.failures, e.lastErr)
		}
		if e.refreshDue(config.Profile{Name: "prod"}, now, time.Hour) {
			t.Fatalf("failure %d: due within the backoff", n)
		}
	}
}

// After a failed refresh, only a transient failure while the token still
// serves is retried in the background; a needed sign-in waits for the user.
func TestRetryInBackground(t *testing.T) {
	for name, c := range map[string]struct {
		err   error
		after time.Duration
		want  bool
	}{
		"success":                      {after: time.Minute},
		"transient, the token serves":  {err: errors.New("503"), after: time.Minute, want: true},
		"transient, the token expired": {err: errors.New("503"), after: 600 * time.Second},
		"a sign-in is needed":          {err: fmt.Errorf("profile prod: %w (revoked)", oauth.ErrLoginRequired), after: time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			if got := cachedEntry().retryInBackground(c.err, stateNow.Add(c.after)); got != c.want {
				t.Fatalf("retryInBackground = %v, want %v", got, c.want)
			}
		})
	}
}

// A profile that needs a sign-in holds no token to hand out, nor refreshes
// in the background, and says so in its status.
func TestNeedLoginDropsTheToken(t *testing.T) {
	e := cachedEntry()
	err := fmt.Errorf("profile prod: %w (revoked)", oauth.ErrLoginRequired)
	e.needLogin(err)
	now := stateNow.Add(481 * time.Second)
	if e.valid(now) || e.refreshDue(config.Profile{Name: "prod"}, now, time.Hour) || e.refreshAfterSleep(config.Profile{Name: "prod"}, now, time.Hour) {
		t.Fatal("a profile that needs a sign-in still serves or refreshes its token")
	}
	if state, msg := e.status(now); state != apitype.CodeLoginRequired || msg != err.Error() {
		t.Fatalf("status %q %q", state, msg)
	}
}

func TestEntryStatus(t *testing.T) {
	for name, c := range map[string]struct {
		setup      func(*entry)
		after      time.Duration
		state, msg string
	}{
		"a valid token":   {after: time.Minute, state: "ok"},
		"expired":         {after: time.Hour, state: ""},
		"a failure":       {setup: func(e *entry) { e.refreshFailed(errors.New("503"), stateNow, time.Second, time.Second) }, after: time.Minute, state: "error", msg: "503"},
		"needs a sign-in": {setup: func(e *entry) { e.needLogin(errors.New("revoked")) }, after: time.Minute, state: apitype.CodeLoginRequired, msg: "revoked"},
	} {
		t.Run(name, func(t *testing.T) {
			e := cachedEntry()
			if c.setup != nil {
				c.setup(e)
			}
			if state, msg := e.status(stateNow.Add(c.after)); state != c.state || msg != c.msg {
				t.Fatalf("status %q %q, want %q %q", state, msg, c.state, c.msg)
			}
		})
	}
}

// Who may open a sign-in: each reason in its order, and SignIn.May asked
// only when nothing before it refuses (it reads the keychain; never without
// a SignIn).
func TestWhyNoSignIn(t *testing.T) {
	off := false
	for name, c := range map[string]struct {
		signIn bool
		may    string
		p      config.Profile
		r      Request
		want   string
		asked  bool
	}{
		"no SignIn":          {p: config.Profile{Name: "prod"}, want: "no desktop to open a browser on, or SFMCP_NO_AUTO_LOGIN=1 for the daemon"},
		"auto_login = false": {signIn: true, p: config.Profile{Name: "prod", AutoLogin: &off}, want: "auto_login = false for this profile"},
		"the caller said no": {signIn: true, p: config.Profile{Name: "prod"}, r: Request{NoSignIn: true}, want: "SFMCP_NO_AUTO_LOGIN=1"},
		"over SSH":           {signIn: true, p: config.Profile{Name: "prod"}, r: Request{OverSSH: func() bool { return true }}, want: "the request came over SSH"},
		"May refuses":        {signIn: true, may: "another host", p: config.Profile{Name: "prod"}, want: "another host", asked: true},
		"it may":             {signIn: true, p: config.Profile{Name: "prod"}, r: Request{OverSSH: func() bool { return false }}, asked: true},
	} {
		t.Run(name, func(t *testing.T) {
			asked := false
			m := &Manager{}
			if c.signIn {
				m.opts.SignIn = &SignIn{May: func(config.Profile) string { asked = true; return c.may }}
			}
			if got := m.whyNoSignIn(c.p, c.r); got != c.want || asked != c.asked {
				t.Fatalf("whyNoSignIn = %q (May asked: %v), want %q (%v)", got, asked, c.want, c.asked)
			}
		})
	}
}

// How often: one sign-in per profile every signInEvery, and one whose
// browser did not open again after openRetry.
func TestWhyNotYet(t *testing.T) {
	ended := func(ago time.Duration, shown bool, openErr error) *signIn {
		s := &signIn{started: stateNow.Add(-ago), shown: make(chan struct{}), done: make(chan struct{}), openErr: openErr}
		if shown {
			close(s.shown)
		}
		close(s.done)
		return s
	}
	for name, c := range map[string]struct {
		last *signIn
		want string // a part of the answer; "" for none
	}{
		"none yet":                          {},
		"opened 9 minutes ago":              {last: ended(9*time.Minute, true, nil), want: "at most one per profile every 10 minutes"},
		"opened 10 minutes ago":             {last: ended(signInEvery, true, nil)},
		"its opener failed 30 s ago":        {last: ended(30*time.Second, false, errors.New("exit status 3")), want: "failed: exit status 3"},
		"its opener failed a minute ago":    {last: ended(openRetry, false, errors.New("exit status 3"))},
		"it ended before a browser showed":  {last: ended(30*time.Second, false, nil), want: "ended before a browser was opened"},
		"it ended unshown a minute ago":     {last: ended(openRetry, false, nil)},
		"its opener failed after the grace": {last: ended(5*time.Minute, true, errors.New("exit status 3"))},
	} {
		t.Run(name, func(t *testing.T) {
			got := whyNotYet(c.last, stateNow)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Fatalf("whyNotYet = %q, want %q", got, c.want)
			}
		})
	}
}
