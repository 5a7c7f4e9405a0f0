package daemon

// This file is the rule book of one profile: when its token refreshes, and
// who may open a browser sign-in for it. The rest of the package asks these
// methods; none sets the fields they own.
//
// A profile refreshes
//   - in a caller's request (single-flight), when it holds no valid token,
//     or the caller reports the cached one refused, or forces a new one
//     (not within forceSpacing of the last);
//   - in the background, once its token is inside the refresh margin (a
//     fifth of its lifetime, at most 2 min): kicked by a request, by its
//     timer, or by the wall-clock watch, whichever sees it first;
//   - in the background after a transient failure while its token still
//     serves, when the backoff ends;
//   - in the background at once after the machine slept (sleep.go).
//
// It does not refresh
//   - while it needs a new sign-in, until a reload (a login or logout);
//   - in the background when nobody asked for it in Options.IdleAfter,
//     or within the backoff after a failure;
//   - in a caller's request within callerRetryAfter of a failure, or while
//     another refresh is under way: the caller gets that failure at once;
//   - ahead of expiry for a PAT: it is read again once it expired.
//
// The daemon opens a browser sign-in only for a profile whose refresh
// needs one, and only if Options.SignIn is set, the profile's auto_login
// allows it, the caller did not turn it off, the request did not come over
// SSH and SignIn.May allows it (a sign-in the user made, renewed as made);
// at most one per profile every signInEvery, or every openRetry after one
// whose browser did not open. Every other case tells the user what to run.

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

const (
	// callerRetryAfter: within a background backoff, a caller's request
	// tries Snowflake again (single-flight) once the last failed attempt is
	// this old, so users stop failing soon after Snowflake recovers.
	callerRetryAfter = 3 * time.Second
	// forceSpacing: a forced refresh this soon after another would only
	// repeat it.
	forceSpacing = 2 * time.Second
	// signInEvery is how often the daemon opens a browser sign-in for one
	// profile at most. One whose browser failed to open showed nothing, so
	// another may be tried after openRetry (the display or browser may be
	// back), but not on every request.
	signInEvery = 10 * time.Minute
	openRetry   = time.Minute
)

// refreshMargin is how long before expiry a token is renewed: a fifth of its
// lifetime, at most two minutes (600 s → 120 s, 60 s → 12 s).
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/5, 2*time.Minute)
}

// entry is one profile's state. Guarded by Manager.mu: every method on it
// expects the caller to hold m.mu.
type entry struct {
	// The cached token, set by refreshed.
	access    string
	tokenType string
	headers   []byte
	expiry    time.Time // wall clock
	lifetime  time.Duration
	obtained  time.Time
	cred      keychain.Credential // metadata only: never the secret
	credKnown bool
	refreshes int

	// The refresh state, changed only by the methods in this file.
	kicked      bool      // a background refresh is under way
	refreshing  bool      // a refresh of any kind is under way
	loginErr    error     // a new sign-in is needed; sticky until reload
	lastErr     error     // of the last refresh, if it failed
	failures    int       // failed refreshes in a row
	lastAttempt time.Time // of the last failed refresh
	nextAttempt time.Time // of the background retry
	lastUsed    time.Time // of the last request
	timer       *time.Timer

	warned time.Time // last expiry warning
	// refresher is the profile's token-endpoint client, kept across
	// refreshes (its connections stay warm) while the sign-in's client
	// and network stay those of refresherFor.
	refresher    Refresher
	refresherFor string
	// handedTo remembers, per headersHelper client, the token it was last
	// given: the same client asking again for that token means the server
	// refused it (see Request.Client).
	handedTo map[string]handout
}

// valid reports whether e holds a token that has not expired by the wall
// clock.
func (e *entry) valid(now time.Time) bool { return e.access != "" && now.Before(e.expiry) }

// use records a request for the token. Only requests count: a profile
// refreshed in the background alone goes idle after Options.IdleAfter.
func (e *entry) use(now time.Time) { e.lastUsed = now }

// inUse reports whether a request came within d.
func (e *entry) inUse(now time.Time, d time.Duration) bool { return now.Sub(e.lastUsed) <= d }

// renews reports whether r asks for a new token although the cached one
// may be valid: it reports the cached token refused (a refusal of an older
// one renews nothing, so a burst of 401s for one token costs one refresh),
// or it forces one, not within forceSpacing of the last.
func (e *entry) renews(r Request, now time.Time) bool {
	switch {
	case r.Refused != "":
		return e.access != "" && Fingerprint(e.access) == r.Refused
	case r.Force:
		return now.Sub(e.obtained) >= forceSpacing
	}
	return false
}

// failFast returns the failure a caller's request gets instead of trying
// Snowflake itself: the last one, if it is under callerRetryAfter old or a
// refresh is under way (it may hang past the caller's own limit); else nil.
func (e *entry) failFast(now time.Time) error {
	if e.lastErr != nil && (now.Sub(e.lastAttempt) < callerRetryAfter || e.refreshing) {
		return e.lastErr
	}
	return nil
}

// refreshDue reports whether p, in use within idleAfter, should refresh in
// the background now: it holds a token inside its refresh margin (or
// expired), needs no sign-in and is past its backoff. Never a PAT.
func (e *entry) refreshDue(p config.Profile, now time.Time, idleAfter time.Duration) bool {
	return !p.IsPAT() && e.access != "" && e.loginErr == nil && e.inUse(now, idleAfter) &&
		!now.Before(e.nextAttempt) && now.After(e.expiry.Add(-refreshMargin(e.lifetime)))
}

// refreshAfterSleep reports whether p should refresh at once after the
// machine slept: its timer froze, and its token may have expired asleep.
// within is how recently it must have been in use (the idle time plus
// the sleep); a profile waiting for a sign-in or a PAT does not.
func (e *entry) refreshAfterSleep(p config.Profile, now time.Time, within time.Duration) bool {
	return !p.IsPAT() && e.loginErr == nil && e.inUse(now, within)
}

// kick claims the profile's one background refresh and reports whether
// the caller got it; false while one is under way. A caller that got it
// runs m.refreshInBackground, whose end (endRefresh) releases it.
func (e *entry) kick() bool {
	if e.kicked {
		return false
	}
	e.kicked = true
	return true
}

// startRefresh marks a refresh under way, so callers fail fast on the last
// failure meanwhile (failFast). Called by the refresh's single-flight
// leader only.
func (e *entry) startRefresh() { e.refreshing = true }

// endRefresh ends the refresh under way and releases kick's claim. Called
// once per refresh, by its leader, after its single-flight is over, so a
// refresh kicked next cannot join the one ending.
func (e *entry) endRefresh() { e.kicked, e.refreshing = false, false }

// refreshed caches a new token obtained at now and forgets every failure,
// a needed sign-in included: the sign-in works. The credential is kept as
// metadata; its secret stays in the keychain only.
func (e *entry) refreshed(now time.Time, cred keychain.Credential, access, tokenType string, lifetime time.Duration) {
	e.access, e.tokenType, e.lifetime, e.obtained = access, tokenType, lifetime, now
	e.headers = renderHeaders(access, tokenType)
	e.expiry = now.Add(lifetime)
	e.cred, e.credKnown = cred, true
	e.cred.Secret = ""
	e.lastErr, e.failures, e.loginErr = nil, 0, nil
	e.refreshes++
}

// refreshFailed records a transient failure at now and sets the next
// background attempt after a capped exponential backoff (base doubled per
// failure in a row, at most ceiling), jittered over its upper half so
// daemons that failed together do not retry together. It returns the wait.
func (e *entry) refreshFailed(err error, now time.Time, base, ceiling time.Duration) time.Duration {
	e.failures++
	d := base << min(e.failures-1, 16)
	d = min(d, ceiling)
	d = d/2 + rand.N(d/2+1)
	e.lastErr = err
	e.lastAttempt = now
	e.nextAttempt = now.Add(d)
	return d
}

// retryInBackground reports whether the refresh that ended with err should
// be tried again in the background at nextAttempt: a transient failure
// while the cached token still serves, so it is renewed before it expires
// if Snowflake comes back. A needed sign-in is not retried.
func (e *entry) retryInBackground(err error, now time.Time) bool {
	return err != nil && !errors.Is(err, oauth.ErrLoginRequired) && e.valid(now)
}

// needLogin makes every request for the profile fail with err until a
// reload replaces the entry, and drops the token: nothing hands out a token
// of a sign-in Snowflake refused.
func (e *entry) needLogin(err error) {
	e.loginErr = err
	e.access = ""
}

// status is the state and last error Status reports for e; state "" is
// idle.
func (e *entry) status(now time.Time) (state, lastError string) {
	switch {
	case e.loginErr != nil:
		return apitype.CodeLoginRequired, e.loginErr.Error()
	case e.lastErr != nil:
		return "error", e.lastErr.Error()
	case e.valid(now):
		return "ok", ""
	}
	return "", ""
}

// scheduleLocked arms the background refresh of p after the given time:
// the timer kicks one if the profile is still in use, still this entry (no
// reload since) and the daemon still runs. Caller holds m.mu.
func (m *Manager) scheduleLocked(p config.Profile, e *entry, after time.Duration) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(max(after, 0), func() {
		m.mu.Lock()
		due := e.inUse(m.now(), m.opts.IdleAfter) && m.entries[p.Name] == e && m.ctx.Err() == nil && e.kick()
		m.mu.Unlock()
		if due {
			m.refreshInBackground(p)
		}
	})
}

// whyNoSignIn says why the daemon must not open a browser sign-in for p at
// r's request ("" if it may; whyNotYet says how often). Called without
// m.mu: SignIn.May reads the config and the keychain, and r.OverSSH the
// caller's processes.
func (m *Manager) whyNoSignIn(p config.Profile, r Request) string {
	overSSH := r.OverSSH != nil && r.OverSSH()
	switch {
	case m.opts.SignIn == nil:
		return "no desktop to open a browser on, or SFMCP_NO_AUTO_LOGIN=1 for the daemon"
	case !p.OpensSignIn():
		return "auto_login = false for this profile"
	case r.NoSignIn:
		return "SFMCP_NO_AUTO_LOGIN=1"
	case overSSH:
		return "the request came over SSH"
	case m.opts.SignIn.May != nil:
		return m.opts.SignIn.May(p)
	}
	return ""
}

// whyNotYet says why no sign-in may be opened at now, given the last one
// opened for the profile (nil if none, ended if not nil): one whose browser
// did not open may be retried after openRetry, one that opened after
// signInEvery. Caller holds m.mu.
func whyNotYet(last *signIn, now time.Time) string {
	switch {
	case last == nil:
		return ""
	case last.failed() && now.Sub(last.started) < openRetry:
		return last.failure()
	case !last.failed() && now.Sub(last.started) < signInEvery:
		return "one was opened at " + last.started.Local().Format("15:04") + " and sfmcp opens at most one per profile every 10 minutes"
	}
	return ""
}
