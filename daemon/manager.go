package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Store is what the daemon needs from the keychain.
type Store interface {
	Credential(profile string) (keychain.Credential, error)
	// ReplaceCredential saves c only while the stored sign-in still holds
	// oldSecret, and reports whether it did.
	ReplaceCredential(profile, oldSecret string, c keychain.Credential) (bool, error)
}

// Refresher trades a refresh token for fresh tokens (oauth.Client does).
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string) (oauth.Tokens, error)
}

// Errors callers branch on.
var (
	// ErrLoginRequired: no sign-in, or Snowflake rejected it; only
	// `sfmcp-token login` (which then reloads the daemon) helps.
	ErrLoginRequired = errors.New("a new sign-in is required")
	// ErrSignInOpened: a browser sign-in the daemon opened for the
	// profile is under way (always with ErrLoginRequired).
	ErrSignInOpened = errors.New("a browser window was opened to sign in to Snowflake: finish it there")
	// ErrReloaded: the profile was reloaded (login, logout) while a refresh
	// was under way; its result was dropped. Asking again gives the answer
	// for the new state.
	ErrReloaded = errors.New("the profile changed during the refresh; try again")
)

// Token is an access token handed to a client.
type Token struct {
	Profile     string
	AccessToken string
	TokenType   string // OAUTH or PROGRAMMATIC_ACCESS_TOKEN
	ExpiresAt   time.Time
	// Headers is the headersHelper JSON object for this token, rendered
	// once per token rather than once per request.
	Headers []byte
	// extraHosts are the hosts besides the profile's own that the stored
	// sign-in allows (recorded at login, not taken from the config).
	extraHosts []string
	// Network is how the sign-in reaches Snowflake (recorded at login).
	CAFile, CAFileSHA256, HTTPSProxy string
	NetworkRecorded                  bool
}

// Options configure a Manager.
type Options struct {
	Store Store
	// LoadConfig reads the profiles; called at start and on reload.
	LoadConfig func() (*config.File, error)
	// NewRefresher builds the token-endpoint client for a profile's stored
	// sign-in (whose network settings it uses).
	NewRefresher func(config.Profile, keychain.Credential) (Refresher, error)
	Log          *slog.Logger
	// Now reads the wall clock. Expiry is judged on it alone: Go's
	// monotonic clock stops while the machine sleeps, so after a night's
	// sleep it would call a long-expired token valid.
	Now func() time.Time
	// Elapsed reads a monotonic clock (time since an arbitrary start). The
	// wall clock moving much further than it means the machine slept.
	Elapsed func() time.Duration
	// BackoffBase and BackoffMax bound retries after a failed refresh
	// (defaults 1 s and 60 s); each wait is jittered.
	BackoffBase, BackoffMax time.Duration
	// RefreshTimeout bounds one token request (default 30 s).
	RefreshTimeout time.Duration
	// IdleAfter stops background refreshes of a profile nobody asked for
	// in this long (default 1 h); the next request refreshes on demand.
	IdleAfter time.Duration
	// ExpiryWarning is called at most once a day per profile when its
	// refresh token or PAT has less than 7 days left (a log line and a
	// desktop notification in the daemon).
	ExpiryWarning func(profile string, left time.Duration)
	// Probe asks the MCP server at serverURL whether it accepts t, when a
	// headersHelper client asks again for the token it was given: clients
	// re-run the helper after every reconnect (Snowflake's end of stream
	// makes Claude Code reconnect after each tool call) and after a 401
	// alike, so only the server can tell a refusal. refused is true only
	// for a 401.
	Probe func(ctx context.Context, p config.Profile, cred keychain.Credential, serverURL string, t Token) (refused bool, err error)
	// RefresherKey, if set, names what NewRefresher builds a client from
	// beyond the stored sign-in's fields (e.g. the CA file's current
	// certificates), so a cached client is rebuilt when it changes.
	RefresherKey func(config.Profile, keychain.Credential) string
	// SignIn runs the browser sign-in of p (the flow `sfmcp-token login`
	// runs) and stores it. The daemon calls it when Snowflake needs a new
	// sign-in and the caller is at this machine's desktop; nil means it
	// never opens one (no desktop, or SFMCP_NO_AUTO_LOGIN=1). SignIn opens
	// the browser through show, which runs open and tells the daemon how
	// that went: an opener's error ends the sign-in (nobody can see it).
	SignIn func(ctx context.Context, p config.Profile, show func(open func() error) error) error
	// OpenGrace is how long an opener may run without an answer before
	// its window counts as shown (default 2 s). An opener that cannot
	// open fails at once (xdg-open with no browser or display exits 3
	// within a fraction of a second), while one that works may block
	// until the browser exits (some xdg-open setups). A caller waits for
	// the outcome openPrepare longer at most.
	OpenGrace time.Duration
	// MayOpenSignIn says why the daemon must not open a sign-in for p
	// ("" if it may): it renews only a sign-in the user made, to the same
	// host over the same network.
	MayOpenSignIn func(p config.Profile) string
	// NeedsSignIn tells the user that p needs a sign-in the daemon did not
	// open (a desktop notification naming command); nil does nothing.
	NeedsSignIn func(profile, command string)
	// OnRefreshed, if set, observes the end of every refresh attempt
	// (tests synchronise on it; err is nil on success).
	OnRefreshed func(profile string, err error)
}

// Manager keeps each profile's access token fresh. Access tokens live only
// in its memory.
type Manager struct {
	opts   Options
	ctx    context.Context // daemon lifetime: background work stops with it
	flight singleflight.Group

	mu sync.Mutex
	// lastWall and lastElapsed are the clocks at the last look, to notice
	// a resume from sleep.
	lastWall    time.Time
	lastElapsed time.Duration
	cfg         *config.File
	entries     map[string]*entry
	// generation counts invalidations per profile, so a refresh that
	// straddles a logout or a change of the profile publishes nothing.
	generation map[string]uint64
	// pending holds rotated refresh tokens Snowflake issued that the
	// keychain has not accepted yet. The old ones are already dead, so these
	// are kept in memory, whatever reloads happen, and saved before anything
	// else is done for the profile.
	pending map[string]*rotation
	// signIns holds the last browser sign-in opened per profile, and
	// notified the last time a needed sign-in was only announced.
	signIns  map[string]*signIn
	notified map[string]time.Time
}

// rotation is a refresh token that replaced old and must reach the keychain.
type rotation struct {
	old  string
	cred keychain.Credential
}

// entry is one profile's state. Guarded by Manager.mu.
type entry struct {
	access    string
	tokenType string
	headers   []byte
	expiry    time.Time
	lifetime  time.Duration
	obtained  time.Time
	cred      keychain.Credential // metadata (and the current refresh token)
	credKnown bool

	loginErr    error // sticky until reload
	lastErr     error
	failures    int
	lastAttempt time.Time // of the last failed refresh
	nextAttempt time.Time // of the background retry
	lastUsed    time.Time
	kicked      bool      // a background refresh is under way
	refreshing  bool      // a refresh of any kind is under way
	warned      time.Time // last expiry warning
	timer       *time.Timer
	refreshes   int
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

// handout is a token given to one headersHelper client.
type handout struct {
	fingerprint string
	at          time.Time
	refusedAt   time.Time // when its last re-run was taken as a refusal
}

// NewManager loads the config and returns a Manager whose background work
// stops when ctx ends.
func NewManager(ctx context.Context, opts Options) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Elapsed == nil {
		start := time.Now()
		opts.Elapsed = func() time.Duration { return time.Since(start) }
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = time.Minute
	}
	if opts.RefreshTimeout <= 0 {
		opts.RefreshTimeout = 30 * time.Second
	}
	if opts.IdleAfter <= 0 {
		opts.IdleAfter = time.Hour
	}
	if opts.OpenGrace <= 0 {
		opts.OpenGrace = 2 * time.Second
	}
	m := &Manager{opts: opts, ctx: ctx, entries: map[string]*entry{}, generation: map[string]uint64{}, pending: map[string]*rotation{},
		signIns: map[string]*signIn{}, notified: map[string]time.Time{}}
	m.lastWall, m.lastElapsed = m.now(), opts.Elapsed()
	cfg, err := opts.LoadConfig()
	if err != nil {
		return nil, err
	}
	m.cfg = cfg
	return m, nil
}

// now is the wall clock without Go's monotonic reading, so every
// comparison with an expiry is a wall-clock comparison.
func (m *Manager) now() time.Time { return m.opts.Now().Round(0) }

// resumeGap is how much further the wall clock may move than the
// monotonic one between two looks before the machine is taken to have
// slept (NTP steps are far smaller).
const resumeGap = 30 * time.Second

// noticeResumeLocked compares the two clocks. After a sleep it refreshes
// every profile in use at once: their timers were frozen with the
// monotonic clock, and their tokens may have expired while asleep.
func (m *Manager) noticeResumeLocked(now time.Time) {
	elapsed := m.opts.Elapsed()
	slept := now.Sub(m.lastWall) - (elapsed - m.lastElapsed)
	m.lastWall, m.lastElapsed = now, elapsed
	if slept < resumeGap {
		return
	}
	m.opts.Log.Info("the machine slept; refreshing the tokens in use", "slept", slept.Round(time.Second).String())
	for name, e := range m.entries {
		p, ok := m.cfg.Profiles[name]
		if !ok || p.IsPAT() || e.kicked || e.loginErr != nil || now.Sub(e.lastUsed) > m.opts.IdleAfter+slept {
			continue
		}
		e.kicked = true
		go m.refreshInBackground(p)
	}
}

// Watch checks the wall clock every interval until ctx ends: it notices a
// resume from sleep even when no client asks, and starts the refreshes
// whose timers a sleep delayed.
func (m *Manager) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.checkDue()
		}
	}
}

// checkDue starts the background refresh of every profile in use whose
// token is due by the wall clock.
func (m *Manager) checkDue() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.noticeResumeLocked(now)
	for name, e := range m.entries {
		p, ok := m.cfg.Profiles[name]
		if !ok || p.IsPAT() || e.kicked || e.access == "" || e.loginErr != nil || now.Sub(e.lastUsed) > m.opts.IdleAfter || now.Before(e.nextAttempt) {
			continue
		}
		if now.After(e.expiry.Add(-refreshMargin(e.lifetime))) {
			e.kicked = true
			go m.refreshInBackground(p)
		}
	}
}

// callerRetryAfter: within a background backoff, a caller's request tries
// Snowflake again (single-flight) once the last failed attempt is this
// old, so users stop failing soon after Snowflake recovers.
const callerRetryAfter = 3 * time.Second

// refusalSpacing bounds how often one headersHelper client's re-runs may
// cost a refresh, should a server refuse every token.
const refusalSpacing = 5 * time.Second

// Fingerprint identifies a token without revealing it: what a client
// reports as refused (Request.Refused). It lives here, not in the wire
// types, so the hot-path client links no hashing.
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// refreshMargin is how long before expiry a token is renewed: a fifth of its
// lifetime, at most two minutes (600 s → 120 s, 60 s → 12 s).
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/5, 2*time.Minute)
}

// Request selects a profile and says how fresh its token must be.
type Request struct {
	Profile string // by name; else the profile whose host ServerURL is on
	// ServerURL is where the token will go, when the caller knows it: the
	// token is handed out only if it is https on the profile's own host.
	ServerURL string
	// Force asks for a new token even if the cached one looks valid.
	Force bool
	// Refused is the Fingerprint of a token the server rejected. A new
	// token is fetched only while that one is still cached, so a burst of
	// 401s for the same token causes one refresh.
	Refused string
	// Client identifies the MCP client a headersHelper run belongs to
	// (the process above the helper's shell, and the server entry it is
	// for). Clients re-run the helper after a 401 with nothing else to
	// tell it from a first run, so when the same client asks again for the
	// token it was given, the server is asked whether it still takes it
	// (Options.Probe).
	Client string
	// WaitSignIn is how long the request may wait for a browser sign-in
	// the daemon opened, then try again (the bridge's requests do).
	WaitSignIn time.Duration
	// NoSignIn: never open a browser sign-in for this request.
	NoSignIn bool
	// OverSSH reports whether the caller runs in an SSH session, where a
	// browser opened on this machine's screen reaches no one. It is asked
	// only when a sign-in is needed.
	OverSSH func() bool
}

// signInEvery is how often the daemon opens a browser sign-in for one
// profile at most. One whose browser failed to open showed nothing, so
// another may be tried after openRetry (the display or browser may be
// back), but not on every request.
// openPrepare bounds how long a caller waits, beyond the grace, for the
// opener to be run at all.
const (
	signInEvery = 10 * time.Minute
	openRetry   = time.Minute
	openPrepare = 3 * time.Second
)

// signIn is a browser sign-in the daemon opened.
type signIn struct {
	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc // a login or logout of the profile ends it
	shown   chan struct{}      // closed once a browser shows it (see Options.OpenGrace)
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

// Token returns a valid access token for the requested profile.
func (m *Manager) Token(ctx context.Context, r Request) (Token, error) {
	p, err := m.profile(r.Profile, r.ServerURL)
	if err != nil {
		return Token{}, err
	}
	if r.Client != "" && r.Refused == "" && !r.Force {
		r.Refused = m.refusedOnRerun(ctx, p, r)
	}
	t, err := m.token(p, m.now(), r)
	if errors.Is(err, ErrLoginRequired) {
		t, err = m.signInAndRetry(ctx, p, r, err)
	}
	t.Profile = p.Name // also on errors: callers name the profile in advice
	if err == nil && r.ServerURL != "" {
		// The config allowed the URL (Select); the sign-in must too, so a
		// config with extra_hosts of a project's choosing widens nothing.
		signedIn := p
		signedIn.ExtraHosts = t.extraHosts
		if err := signedIn.CheckServerURL(r.ServerURL); err != nil {
			var hm *config.HostMismatchError
			if errors.As(err, &hm) {
				hm.Reason = "the config's extra_hosts name it, but the stored sign-in does not: extra hosts take effect at the next sign-in (sfmcp-token login, or pat rotate for a PAT)"
			}
			return Token{Profile: p.Name}, err
		}
	}
	return t, err
}

func (m *Manager) token(p config.Profile, now time.Time, r Request) (Token, error) {
	m.mu.Lock()
	m.noticeResumeLocked(now)
	e := m.entryLocked(p.Name)
	e.lastUsed = now
	if e.loginErr != nil {
		err := e.loginErr
		m.mu.Unlock()
		return Token{}, err
	}
	valid := e.access != "" && now.Before(e.expiry)
	var renew bool
	switch {
	case r.Refused != "":
		renew = e.access != "" && Fingerprint(e.access) == r.Refused
	case r.Force:
		// A forced refresh right after another one would only repeat it.
		renew = now.Sub(e.obtained) >= 2*time.Second
	}
	if valid && !renew {
		t := e.tokenLocked(p.Name)
		e.noteHandoutLocked(r.Client, now)
		due := now.After(e.expiry.Add(-refreshMargin(e.lifetime)))
		if due && !e.kicked && !p.IsPAT() && !now.Before(e.nextAttempt) {
			e.kicked = true
			go m.refreshInBackground(p)
		}
		m.mu.Unlock()
		return t, nil
	}
	if e.lastErr != nil && (now.Sub(e.lastAttempt) < callerRetryAfter || e.refreshing) && !renew {
		// Snowflake failed moments ago: fail fast instead of hammering it.
		err := e.lastErr
		m.mu.Unlock()
		return Token{}, err
	}
	m.mu.Unlock()
	t, err := m.refresh(p)
	if err == nil && r.Client != "" {
		m.mu.Lock()
		if e := m.entries[p.Name]; e != nil && e.access == t.AccessToken {
			e.noteHandoutLocked(r.Client, m.now())
		}
		m.mu.Unlock()
	}
	return t, err
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
	opened := func() error { return fmt.Errorf("%w; %w (profile %s)", loginErr, ErrSignInOpened, p.Name) }
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
	limit := time.NewTimer(m.opts.OpenGrace + openPrepare)
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
	grace := time.AfterFunc(m.opts.OpenGrace, func() { m.browserOpened(s, nil) })
	err := open()
	grace.Stop()
	m.browserOpened(s, err)
	return err
}

// browserOpened records how opening the browser for s went (see
// Options.SignIn); the outcome of a sign-in that ended is settled. A
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
// allowed, with a note for the user; nil if none is open.
func (m *Manager) offerSignIn(p config.Profile, r Request) (*signIn, string) {
	if p.IsPAT() {
		return nil, "rotate the PAT (sfmcp-token pat rotate)"
	}
	overSSH := r.OverSSH != nil && r.OverSSH()
	refusal := ""
	if m.opts.SignIn != nil && m.opts.MayOpenSignIn != nil && p.OpensSignIn() && !r.NoSignIn && !overSSH {
		refusal = m.opts.MayOpenSignIn(p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s := m.signIns[p.Name]
	if s != nil {
		select {
		case <-s.done:
		default:
			return s, "a browser window is open to sign in to Snowflake (profile " + p.Name + "): finish it there"
		}
	}
	why := ""
	switch {
	case m.opts.SignIn == nil:
		why = "no desktop to open a browser on, or SFMCP_NO_AUTO_LOGIN=1 for the daemon"
	case !p.OpensSignIn():
		why = "auto_login = false for this profile"
	case r.NoSignIn:
		why = "SFMCP_NO_AUTO_LOGIN=1"
	case overSSH:
		why = "the request came over SSH"
	case refusal != "":
		why = refusal
	case s != nil && s.failed() && now.Sub(s.started) < openRetry:
		why = s.failure()
	case s != nil && !s.failed() && now.Sub(s.started) < signInEvery:
		why = "one was opened at " + s.started.Local().Format("15:04") + " and sfmcp opens at most one per profile every 10 minutes"
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
	return "no browser was opened (" + why + "); run: " + command
}

// runSignIn runs one browser sign-in and, once it is stored, makes the
// profile use it.
func (m *Manager) runSignIn(p config.Profile, s *signIn) {
	defer s.cancel()
	err := m.opts.SignIn(s.ctx, p, func(open func() error) error { return m.show(s, open) })
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

// refusedOnRerun returns the fingerprint of the token r.Client was given
// if that client asks again for it and the server now refuses it (a 401 on
// r.ServerURL, on the profile's own host only); else "". Probes of one
// token are single-flight, and one client's re-runs cost at most one
// refresh per refusalSpacing.
func (m *Manager) refusedOnRerun(ctx context.Context, p config.Profile, r Request) string {
	own := p
	own.ExtraHosts = nil
	if m.opts.Probe == nil || r.ServerURL == "" || own.CheckServerURL(r.ServerURL) != nil {
		return ""
	}
	m.mu.Lock()
	e := m.entries[p.Name]
	var h handout
	var t Token
	var cred keychain.Credential
	again := false
	if e != nil && e.access != "" && e.loginErr == nil && m.now().Before(e.expiry) {
		h, again = e.handedTo[r.Client]
		again = again && h.fingerprint == Fingerprint(e.access) && m.now().Sub(h.refusedAt) >= refusalSpacing
		t, cred = e.tokenLocked(p.Name), e.cred
	}
	m.mu.Unlock()
	if !again {
		return ""
	}
	v, _, _ := m.flight.Do("probe\x00"+h.fingerprint+"\x00"+r.ServerURL, func() (any, error) {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		refused, err := m.opts.Probe(pctx, p, cred, r.ServerURL, t)
		if err != nil {
			m.opts.Log.Warn("could not ask the MCP server whether it takes the token; handing it out", "profile", p.Name, "error", err.Error())
		}
		return refused, nil
	})
	if refused, _ := v.(bool); !refused {
		return ""
	}
	m.mu.Lock()
	if e := m.entries[p.Name]; e != nil {
		if h, ok := e.handedTo[r.Client]; ok {
			h.refusedAt = m.now()
			e.handedTo[r.Client] = h
		}
	}
	m.mu.Unlock()
	m.opts.Log.Info("the MCP server refused the token a headersHelper client was given; renewing it", "profile", p.Name)
	return h.fingerprint
}

// probeTimeout bounds a Probe: the helper that waits has 10 s in all.
const probeTimeout = 3 * time.Second

// noteHandoutLocked records that client was given the current token.
func (e *entry) noteHandoutLocked(client string, now time.Time) {
	if client == "" {
		return
	}
	if e.handedTo == nil {
		e.handedTo = map[string]handout{}
	}
	if len(e.handedTo) >= 256 {
		for k, h := range e.handedTo {
			if now.Sub(h.at) > time.Hour {
				delete(e.handedTo, k)
			}
		}
		if len(e.handedTo) >= 256 {
			clear(e.handedTo)
		}
	}
	h := e.handedTo[client]
	h.fingerprint, h.at = Fingerprint(e.access), now
	e.handedTo[client] = h
}

// refresh runs one refresh per profile at a time; concurrent callers share
// its result (single-flight).
func (m *Manager) refresh(p config.Profile) (Token, error) {
	leader := false
	v, err, _ := m.flight.Do(p.Name, func() (any, error) {
		leader = true
		return m.doRefresh(p)
	})
	// Only the caller that ran the refresh ends it, and only once the
	// flight is over, so a refresh started next cannot join this one.
	if leader {
		m.afterRefresh(p, err)
	}
	if err != nil {
		return Token{}, err
	}
	return v.(Token), nil
}

// afterRefresh ends a refresh attempt: a failure while the cached token is
// still valid schedules a retry after the backoff, so the token is renewed
// before it expires if Snowflake comes back.
func (m *Manager) afterRefresh(p config.Profile, err error) {
	m.mu.Lock()
	e := m.entryLocked(p.Name)
	e.kicked, e.refreshing = false, false
	if err != nil && !errors.Is(err, ErrLoginRequired) && e.access != "" && m.now().Before(e.expiry) {
		m.scheduleLocked(p, e, e.nextAttempt.Sub(m.now()))
	}
	m.mu.Unlock()
	if m.opts.OnRefreshed != nil {
		m.opts.OnRefreshed(p.Name, err)
	}
}

func (m *Manager) refreshInBackground(p config.Profile) { _, _ = m.refresh(p) }

// doRefresh loads the credential, asks Snowflake for new tokens and, if the
// refresh token rotated, writes it to the keychain before anyone sees the
// new access token.
func (m *Manager) doRefresh(p config.Profile) (Token, error) {
	m.mu.Lock()
	m.entryLocked(p.Name).refreshing = true
	pending := m.pending[p.Name]
	gen := m.generation[p.Name]
	m.mu.Unlock()
	if pending != nil {
		if _, err := m.opts.Store.ReplaceCredential(p.Name, pending.old, pending.cred); err != nil {
			return Token{}, m.failed(p, fmt.Errorf("save the rotated refresh token of profile %s: %w", p.Name, err))
		}
		m.mu.Lock()
		if m.pending[p.Name] == pending {
			delete(m.pending, p.Name)
		}
		m.mu.Unlock()
	}
	cred, err := m.opts.Store.Credential(p.Name)
	if errors.Is(err, keychain.ErrNotFound) {
		return Token{}, m.loginRequired(p, "there is no stored sign-in")
	}
	if err != nil {
		return Token{}, m.failed(p, fmt.Errorf("read the sign-in of profile %s: %w", p.Name, err))
	}
	if why := boundElsewhere(p, cred); why != "" {
		return Token{}, m.loginRequired(p, why)
	}
	if p.IsPAT() {
		return m.publish(p, gen, cred, cred.Secret, config.TokenPAT, patLifetime(cred, m.now()), false)
	}
	r, err := m.refresherFor(p, gen, cred)
	if errors.Is(err, ErrLoginRequired) {
		return Token{}, m.loginRequired(p, strings.TrimPrefix(err.Error(), ErrLoginRequired.Error()+": "))
	}
	if err != nil {
		return Token{}, m.failed(p, err)
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.RefreshTimeout)
	defer cancel()
	tokens, err := r.Refresh(ctx, cred.Secret)
	if err != nil {
		// Whatever failed (a client secret or CA changed since, a dead
		// connection), the next attempt builds the client afresh.
		m.dropRefresher(p.Name, r)
	}
	if errors.Is(err, oauth.ErrLoginRequired) {
		return Token{}, m.loginRequiredBy(p, err)
	}
	if err != nil {
		return Token{}, m.failed(p, fmt.Errorf("refresh profile %s: %w", p.Name, err))
	}
	rotated := tokens.RefreshToken != "" && tokens.RefreshToken != cred.Secret
	if rotated {
		// Single-use refresh tokens: the old one is now dead, so the new
		// one must be safe on disk before its access token is used, even
		// if the profile was reloaded meanwhile. Only a logout or a new
		// sign-in (the keychain no longer holds the old token) makes it
		// obsolete.
		old := cred.Secret
		cred.Secret = tokens.RefreshToken
		if !tokens.RefreshExpiry.IsZero() {
			cred.SecretExpiresAt = tokens.RefreshExpiry.UTC()
		}
		saved, err := m.opts.Store.ReplaceCredential(p.Name, old, cred)
		if err != nil {
			m.mu.Lock()
			m.pending[p.Name] = &rotation{old: old, cred: cred}
			m.mu.Unlock()
			return Token{}, m.failed(p, fmt.Errorf("save the rotated refresh token of profile %s (kept in memory, retried): %w", p.Name, err))
		}
		if !saved {
			m.opts.Log.Info("sign-in replaced during a refresh; its result is dropped", "profile", p.Name)
			return Token{}, ErrReloaded
		}
	}
	return m.publish(p, gen, cred, tokens.AccessToken, config.TokenOAuth, tokens.ExpiresIn, rotated)
}

// refresherFor returns the profile's long-lived token-endpoint client,
// building it when there is none yet, or the sign-in's client or network
// changed: Options.RefresherKey names what the client was built from (the
// CA file's current certificates, say), so a changed file is noticed at the
// next refresh. A reload, and any failed refresh, drop it.
func (m *Manager) refresherFor(p config.Profile, gen uint64, cred keychain.Credential) (Refresher, error) {
	key := strings.Join([]string{cred.Host, cred.ClientID, cred.CAFile, cred.CAFileSHA256, cred.HTTPSProxy, fmt.Sprint(cred.NetworkRecorded)}, "\x00")
	if m.opts.RefresherKey != nil {
		key += "\x00" + m.opts.RefresherKey(p, cred)
	}
	m.mu.Lock()
	if e := m.entries[p.Name]; e != nil && e.refresher != nil && e.refresherFor == key {
		r := e.refresher
		m.mu.Unlock()
		return r, nil
	}
	m.mu.Unlock()
	r, err := m.opts.NewRefresher(p, cred)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	// Only into the state of the profile it was built for: a reload since
	// (another definition, another sign-in) gets its own.
	if e := m.entries[p.Name]; e != nil && m.generation[p.Name] == gen {
		e.refresher, e.refresherFor = r, key
	}
	m.mu.Unlock()
	return r, nil
}

// dropRefresher forgets r as the profile's token-endpoint client.
func (m *Manager) dropRefresher(name string, r Refresher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[name]; e != nil && e.refresher == r {
		e.refresher, e.refresherFor = nil, ""
	}
}

// boundElsewhere says why a stored credential must not be used for p: a
// refresh token or PAT goes only to the host it was issued for, so a config
// that moved the profile (or a hostile one a client pointed the daemon at)
// cannot send it anywhere else.
func boundElsewhere(p config.Profile, cred keychain.Credential) string {
	ep, err := p.Endpoint()
	if err != nil {
		return err.Error()
	}
	if cred.Host == "" || !config.SameHost(cred.Host, ep.Host) {
		return fmt.Sprintf("the stored sign-in was issued by %s, but the profile's host is %s; sign in again if that change is yours", orNone(cred.Host), ep.Host)
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "an unknown host"
	}
	return s
}

func patLifetime(cred keychain.Credential, now time.Time) time.Duration {
	if cred.SecretExpiresAt.IsZero() {
		return 24 * time.Hour
	}
	return cred.SecretExpiresAt.Sub(now)
}

// publish stores the new token in memory and schedules the next refresh.
func (m *Manager) publish(p config.Profile, gen uint64, cred keychain.Credential, access, tokenType string, lifetime time.Duration, rotated bool) (Token, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.generation[p.Name] != gen {
		return Token{}, ErrReloaded
	}
	e := m.entryLocked(p.Name)
	e.access, e.tokenType, e.lifetime, e.obtained = access, tokenType, lifetime, now
	e.headers = renderHeaders(access, tokenType)
	e.expiry = now.Add(lifetime)
	e.cred, e.credKnown = cred, true
	e.cred.Secret = "" // the refresh token stays in the keychain only
	e.lastErr, e.failures, e.loginErr = nil, 0, nil
	e.refreshes++
	if left := cred.SecretExpiresAt.Sub(now); !cred.SecretExpiresAt.IsZero() && left < 7*24*time.Hour && now.Sub(e.warned) >= 24*time.Hour {
		e.warned = now
		m.opts.Log.Warn("sign-in expires soon", "profile", p.Name, "days_left", int(left.Hours()/24))
		if m.opts.ExpiryWarning != nil {
			go m.opts.ExpiryWarning(p.Name, left)
		}
	}
	if tokenType == config.TokenOAuth {
		m.opts.Log.Info("refreshed access token", "profile", p.Name, "user", cred.User, "expires_in", lifetime.Round(time.Second).String(), "rotated", rotated)
		m.scheduleLocked(p, e, lifetime-refreshMargin(lifetime))
	}
	return e.tokenLocked(p.Name), nil
}

// scheduleLocked arms the background refresh of a profile that is in use.
func (m *Manager) scheduleLocked(p config.Profile, e *entry, after time.Duration) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(max(after, 0), func() {
		m.mu.Lock()
		idle := m.now().Sub(e.lastUsed) > m.opts.IdleAfter
		current := m.entries[p.Name] == e
		if idle || !current || e.kicked || m.ctx.Err() != nil {
			m.mu.Unlock()
			return
		}
		e.kicked = true
		m.mu.Unlock()
		m.refreshInBackground(p)
	})
}

func (m *Manager) loginRequired(p config.Profile, why string) error {
	return m.markLoginRequired(p, why, fmt.Errorf("profile %s: %w (%s)", p.Name, ErrLoginRequired, why))
}

// loginRequiredBy is loginRequired for Snowflake's refusal cause, which
// stays in the error chain (its code and advice reach the client).
func (m *Manager) loginRequiredBy(p config.Profile, cause error) error {
	return m.markLoginRequired(p, cause.Error(), fmt.Errorf("profile %s: %w (%w)", p.Name, ErrLoginRequired, cause))
}

func (m *Manager) markLoginRequired(p config.Profile, why string, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entryLocked(p.Name)
	e.loginErr = err
	e.access = ""
	m.opts.Log.Warn("login required", "profile", p.Name, "reason", why)
	return err
}

// failed records a transient failure and computes the next attempt with
// capped exponential backoff and full jitter.
func (m *Manager) failed(p config.Profile, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entryLocked(p.Name)
	e.failures++
	d := m.opts.BackoffBase << min(e.failures-1, 16)
	d = min(d, m.opts.BackoffMax)
	d = d/2 + rand.N(d/2+1)
	e.lastErr = err
	e.lastAttempt = m.now()
	e.nextAttempt = e.lastAttempt.Add(d)
	m.opts.Log.Error("refresh failed", "profile", p.Name, "attempt", e.failures, "retry_in", d.Round(time.Millisecond).String(), "error", err.Error())
	return err
}

func (m *Manager) entryLocked(name string) *entry {
	e, ok := m.entries[name]
	if !ok {
		e = &entry{}
		m.entries[name] = e
	}
	return e
}

func (e *entry) tokenLocked(profile string) Token {
	return Token{Profile: profile, AccessToken: e.access, TokenType: e.tokenType, ExpiresAt: e.expiry, Headers: e.headers, extraHosts: e.cred.ExtraHosts,
		CAFile: e.cred.CAFile, CAFileSHA256: e.cred.CAFileSHA256, HTTPSProxy: e.cred.HTTPSProxy, NetworkRecorded: e.cred.NetworkRecorded}
}

// profile resolves a profile. An unknown one (or a server URL no profile
// serves) may be a profile added since the daemon started, so the config is
// read again once; that invalidates only profiles whose definition changed.
func (m *Manager) profile(name, serverURL string) (config.Profile, error) {
	m.mu.Lock()
	p, err := m.cfg.Select(name, serverURL)
	m.mu.Unlock()
	if err == nil || !errors.Is(err, config.ErrNoProfile) && !errors.Is(err, config.ErrHostMismatch) {
		return p, err
	}
	if rerr := m.Reload(""); rerr != nil {
		return config.Profile{}, rerr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Select(name, serverURL)
}

// Reload re-reads the config and forgets the cached state of the profiles
// whose definition changed or that are gone, and of name (a login or logout
// of it), so a new sign-in takes effect at once. Other profiles keep their
// tokens: a reload must never cost a refresh, let alone a single-use
// refresh token.
func (m *Manager) Reload(name string) error {
	cfg, err := m.opts.LoadConfig()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.cfg
	m.cfg = cfg
	var invalidated []string
	for n := range m.entries {
		if n == name || !sameProfile(old, cfg, n) {
			invalidated = append(invalidated, n)
		}
	}
	if name != "" && !slices.Contains(invalidated, name) {
		invalidated = append(invalidated, name) // a refresh may be under way without an entry
	}
	// A login of the profile needs the loopback port a sign-in the daemon
	// opened may hold.
	if s := m.signIns[name]; s != nil && name != "" {
		s.cancel()
	}
	for _, n := range invalidated {
		if e := m.entries[n]; e != nil && e.timer != nil {
			e.timer.Stop()
		}
		delete(m.entries, n)
		m.generation[n]++
	}
	if len(invalidated) > 0 {
		m.opts.Log.Info("reloaded", "profiles", invalidated)
	}
	return nil
}

// sameProfile reports whether profile name is defined identically in a and b.
func sameProfile(a, b *config.File, name string) bool {
	pa, okA := a.Profiles[name]
	pb, okB := b.Profiles[name]
	return okA == okB && reflect.DeepEqual(pa, pb)
}

// Close stops background refreshes.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
}

// renderHeaders builds the JSON object a headersHelper prints, newline
// terminated.
func renderHeaders(access, tokenType string) []byte {
	b, _ := json.Marshal(map[string]string{
		"Authorization":                        "Bearer " + access,
		"X-Snowflake-Authorization-Token-Type": tokenType,
	})
	return append(b, '\n')
}
