package daemon

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/errcode"
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

// ErrReloaded: the profile was reloaded (login, logout) while a refresh
// was under way; its result was dropped. Asking again gives the answer for
// the new state. (A profile that needs a new sign-in fails with an
// *oauth.LoginRequiredError, which says whether the daemon opened one.)
var ErrReloaded = errcode.New(apitype.CodeUnavailable, "the profile changed during the refresh; try again")

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
	// SignIn is how the daemon opens a browser sign-in when Snowflake
	// needs a new one and the caller is at this machine's desktop; nil (no
	// desktop, or SFMCP_NO_AUTO_LOGIN=1) means it never opens one.
	SignIn *SignIn
	// NeedsSignIn tells the user that p needs a sign-in the daemon did not
	// open (a desktop notification naming command); nil does nothing. It
	// is told also when SignIn is nil.
	NeedsSignIn func(profile, command string)
	// OnRefreshed, if set, observes the end of every refresh attempt
	// (tests synchronise on it; err is nil on success).
	OnRefreshed func(profile string, err error)
}

// SignIn is how the daemon opens a browser sign-in itself. A nil *SignIn in Options: it never opens one.
type SignIn struct {
	// Run runs the browser sign-in of p (the flow `sfmcp-token login`
	// runs) and stores it. It opens the browser through show, which runs
	// open and tells the daemon how that went: an opener's error ends the
	// sign-in (nobody can see it). A SignIn without Run counts as nil.
	Run func(ctx context.Context, p config.Profile, show func(open func() error) error) error
	// May says why the daemon must not open a sign-in for p ("" if it
	// may): it renews only a sign-in the user made, to the same host over
	// the same network. Nil: it may.
	May func(p config.Profile) string
	// OpenGrace is how long an opener may run without an answer before
	// its window counts as shown (default 2 s). An opener that cannot
	// open fails at once (xdg-open with no browser or display exits 3
	// within a fraction of a second), while one that works may block
	// until the browser exits (some xdg-open setups). A caller waits for
	// the outcome openPrepare longer at most.
	OpenGrace time.Duration
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
	if opts.SignIn != nil && opts.SignIn.Run == nil {
		opts.SignIn = nil // nothing to open one with
	}
	if opts.SignIn != nil {
		s := *opts.SignIn // the caller's own stays as it was
		if s.OpenGrace <= 0 {
			s.OpenGrace = 2 * time.Second
		}
		opts.SignIn = &s
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

// entryLocked returns the state of profile name, creating it. Caller
// holds m.mu.
func (m *Manager) entryLocked(name string) *entry {
	e, ok := m.entries[name]
	if !ok {
		e = &entry{}
		m.entries[name] = e
	}
	return e
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
