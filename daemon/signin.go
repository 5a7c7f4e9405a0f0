package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/oauth"
)

// openPrepare bounds how long a caller waits, beyond the grace, for the
// opener to be run at all.
const openPrepare = 3 * time.Second

// signIn is a browser sign-in the daemon opened.
type signIn struct {
	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc // a login or logout of the profile ends it
	shown   chan struct{}      // closed once a browser shows it (see SignIn.OpenGrace)
	done    chan struct{}      // closed when it ends
	openErr error              // the opener failed, which ended it
	err     error
}

// failed reports whether no browser showed s: its opener failed, or it
// ended before one opened. Called with m.mu held.
func (s *signIn) failed() bool {
	return s.openErr != nil || closed(s.done) && !closed(s.shown)
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// failure says why no browser showed s (see failed). Called with m.mu held.
func (s *signIn) failure() string {
	why := "it ended before a browser was opened" // cancelled, timed out
	if s.openErr != nil {
		why = s.openErr.Error()
	} else if s.err != nil && !errors.Is(s.err, context.Canceled) && !errors.Is(s.err, context.DeadlineExceeded) {
		why = s.err.Error()
	}
	return "opening one at " + s.started.Local().Format("15:04") + " failed: " + why
}

// signInAndRetry handles a profile that needs a new sign-in: it opens the
// browser sign-in when the caller is at this machine's desktop (at most
// once per profile per signInEvery), or else tells the desktop which
// command to run. A request that may wait (the bridge's) waits for the
// sign-in and tries again, so the user's call succeeds after one click.
func (m *Manager) signInAndRetry(ctx context.Context, p config.Profile, r Request, loginErr error) (Token, error) {
	s, note := m.offerSignIn(p, r)
	if s != nil {
		if why := m.openFailure(ctx, s); why != "" {
			s, note = nil, m.notOpening(p, why)
		}
	}
	if s == nil {
		return Token{}, fmt.Errorf("%w; %s", loginErr, note)
	}
	// Whether the caller waited or not, the sign-in is still open when
	// this error goes out.
	opened := func() error { return signInOpened(p, loginErr) }
	if r.WaitSignIn > 0 {
		wait := time.NewTimer(r.WaitSignIn)
		defer wait.Stop()
		select {
		case <-s.done:
			if s.err == nil {
				return m.token(p, m.now(), Request{Profile: r.Profile, ServerURL: r.ServerURL, Client: r.Client})
			}
			return Token{}, fmt.Errorf("%w; the browser sign-in sfmcp opened failed: %v", loginErr, s.err)
		case <-wait.C:
		case <-ctx.Done():
		case <-m.ctx.Done():
		}
	}
	return Token{}, opened()
}

// openFailure waits until it is known whether a browser shows s, and
// says why none does ("" if one does). It waits a few seconds past the
// grace at most: what comes before the opener (a keychain read behind an
// unlock prompt) may take longer, and a helper has 10 s in all. A caller
// that stops waiting first is told a window is on its way, with the
// command to run if none appears.
func (m *Manager) openFailure(ctx context.Context, s *signIn) string {
	limit := time.NewTimer(m.opts.SignIn.OpenGrace + openPrepare)
	defer limit.Stop()
	select {
	case <-s.shown:
	case <-s.done:
	case <-limit.C:
	case <-ctx.Done():
	case <-m.ctx.Done():
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !s.failed() {
		return ""
	}
	return s.failure()
}

// show runs the opener of s, timing the grace from its start (what comes
// before it, a keychain read, may take a while), and records the outcome.
func (m *Manager) show(s *signIn, open func() error) error {
	grace := time.AfterFunc(m.opts.SignIn.OpenGrace, func() { m.browserOpened(s, nil) })
	err := open()
	grace.Stop()
	m.browserOpened(s, err)
	return err
}

// browserOpened records how opening the browser for s went (see
// SignIn.Run); the outcome of a sign-in that ended is settled. A
// failure ends the sign-in: nobody can see it.
func (m *Manager) browserOpened(s *signIn, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case closed(s.done):
	case err != nil:
		if s.openErr == nil {
			s.openErr = err
			s.cancel()
		}
	case !closed(s.shown):
		close(s.shown)
	}
}

// offerSignIn returns the browser sign-in under way for p, opening one if
// allowed (see state.go), with a note for the user; nil if none is open.
func (m *Manager) offerSignIn(p config.Profile, r Request) (*signIn, string) {
	if p.IsPAT() {
		return nil, "rotate the PAT (sfmcp-token pat rotate)"
	}
	why := m.whyNoSignIn(p, r)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s := m.signIns[p.Name]
	if s != nil && !closed(s.done) {
		return s, "a browser window is open to sign in to Snowflake (profile " + p.Name + "): finish it there"
	}
	if why == "" {
		why = whyNotYet(s, now)
	}
	if why != "" {
		return nil, m.notOpeningLocked(p, why, now)
	}
	// Two minutes: the bridge waits that long, and the loopback port is
	// held until it ends (a login of the profile cancels it at once).
	ctx, cancel := context.WithTimeout(m.ctx, 2*time.Minute)
	s = &signIn{started: now, ctx: ctx, cancel: cancel, shown: make(chan struct{}), done: make(chan struct{})}
	m.signIns[p.Name] = s
	m.opts.Log.Info("opening a browser sign-in", "profile", p.Name)
	go m.runSignIn(p, s)
	return s, "a browser window was opened to sign in to Snowflake (profile " + p.Name + "): finish it there"
}

// notOpening tells the user (daemon log, desktop notification) that p
// needs a sign-in the daemon does not open, and why; it returns the note
// for the caller.
func (m *Manager) notOpening(p config.Profile, why string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.notOpeningLocked(p, why, m.now())
}

func (m *Manager) notOpeningLocked(p config.Profile, why string, now time.Time) string {
	command := "sfmcp-token login --profile " + p.Name
	if m.opts.NeedsSignIn != nil && now.Sub(m.notified[p.Name]) >= signInEvery {
		m.notified[p.Name] = now
		go m.opts.NeedsSignIn(p.Name, command)
	}
	m.opts.Log.Warn("a new sign-in is needed; not opening a browser", "profile", p.Name, "why", why, "run", command)
	// The command is the caller's to advise (exitcode.ForCode of the
	// error's code): in the message too, users read it twice.
	return "no browser was opened (" + why + ")"
}

// runSignIn runs one browser sign-in and, once it is stored, makes the
// profile use it.
func (m *Manager) runSignIn(p config.Profile, s *signIn) {
	defer s.cancel()
	err := m.opts.SignIn.Run(s.ctx, p, func(open func() error) error { return m.show(s, open) })
	if err == nil {
		m.browserOpened(s, nil) // it completed, so a browser showed it
		err = m.Reload(p.Name)
	}
	m.mu.Lock()
	if s.openErr != nil {
		err = s.openErr // what ended it, rather than the cancellation
	}
	m.mu.Unlock()
	if err != nil {
		m.opts.Log.Warn("the browser sign-in sfmcp opened did not complete", "profile", p.Name, "error", err.Error())
	} else {
		m.opts.Log.Info("signed in through the browser", "profile", p.Name)
	}
	m.mu.Lock()
	s.err = err
	close(s.done)
	m.mu.Unlock()
}

// signInOpened is loginErr, saying that a browser sign-in for p is open.
func signInOpened(p config.Profile, loginErr error) error {
	var lr *oauth.LoginRequiredError
	if errors.As(loginErr, &lr) {
		opened := *lr
		opened.SignInOpened = true
		return &opened
	}
	return &oauth.LoginRequiredError{Profile: p.Name, Cause: loginErr, SignInOpened: true}
}
