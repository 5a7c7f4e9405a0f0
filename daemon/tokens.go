package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Store is what the daemon needs from the keychain.
type Store interface {
	Credential(profile string) (keychain.Credential, error)
	SaveCredential(profile string, c keychain.Credential) error
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
}

// Options configure a Manager.
type Options struct {
	Store Store
	// LoadConfig reads the profiles; called at start and on reload.
	LoadConfig func() (*config.File, error)
	// NewRefresher builds the token-endpoint client for a profile.
	NewRefresher func(config.Profile) (Refresher, error)
	Log          *slog.Logger
	Now          func() time.Time
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

	mu      sync.Mutex
	cfg     *config.File
	entries map[string]*entry
	// generation counts reloads per profile ("" counts reloads of all), so
	// a refresh that straddles a logout cannot resurrect the sign-in.
	generation map[string]uint64
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
	nextAttempt time.Time
	lastUsed    time.Time
	kicked      bool // a background refresh is under way
	// pending is a rotated refresh token Snowflake issued that the keychain
	// has not accepted yet; the old one is already dead, so it is kept in
	// memory and saved before anything else happens.
	pending   *keychain.Credential
	warned    time.Time // last expiry warning
	timer     *time.Timer
	refreshes int
}

// NewManager loads the config and returns a Manager whose background work
// stops when ctx ends.
func NewManager(ctx context.Context, opts Options) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
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
	m := &Manager{opts: opts, ctx: ctx, entries: map[string]*entry{}, generation: map[string]uint64{}}
	cfg, err := opts.LoadConfig()
	if err != nil {
		return nil, err
	}
	m.cfg = cfg
	return m, nil
}

// refreshMargin is how long before expiry a token is renewed: a fifth of its
// lifetime, at most two minutes (600 s → 120 s, 60 s → 12 s).
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/5, 2*time.Minute)
}

// Request selects a profile and says how fresh its token must be.
type Request struct {
	Profile   string // by name; else
	ServerURL string // the profile whose host matches; else the default
	// Force asks for a new token even if the cached one looks valid.
	Force bool
	// Refused is the Fingerprint of a token the server rejected. A new
	// token is fetched only while that one is still cached, so a burst of
	// 401s for the same token causes one refresh.
	Refused string
}

// Fingerprint identifies a token without revealing it (client.Fingerprint).
func Fingerprint(token string) string { return client.Fingerprint(token) }

// Token returns a valid access token for the requested profile.
func (m *Manager) Token(ctx context.Context, r Request) (Token, error) {
	p, err := m.profile(r.Profile, r.ServerURL)
	if err != nil {
		return Token{}, err
	}
	t, err := m.token(p, m.opts.Now(), r)
	t.Profile = p.Name // also on errors: callers name the profile in advice
	return t, err
}

func (m *Manager) token(p config.Profile, now time.Time, r Request) (Token, error) {
	m.mu.Lock()
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
		due := now.After(e.expiry.Add(-refreshMargin(e.lifetime)))
		if due && !e.kicked && !p.IsPAT() && !now.Before(e.nextAttempt) {
			e.kicked = true
			go m.refreshInBackground(p)
		}
		m.mu.Unlock()
		return t, nil
	}
	if e.lastErr != nil && now.Before(e.nextAttempt) && !renew {
		// Within the backoff window: fail fast instead of hammering Snowflake.
		err := e.lastErr
		m.mu.Unlock()
		return Token{}, err
	}
	m.mu.Unlock()
	return m.refresh(p)
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
	e.kicked = false
	if err != nil && !errors.Is(err, ErrLoginRequired) && e.access != "" && m.opts.Now().Before(e.expiry) {
		m.scheduleLocked(p, e, e.nextAttempt.Sub(m.opts.Now()))
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
	pending := m.entryLocked(p.Name).pending
	gen := m.generationLocked(p.Name)
	m.mu.Unlock()
	if pending != nil {
		if err := m.opts.Store.SaveCredential(p.Name, *pending); err != nil {
			return Token{}, m.failed(p, fmt.Errorf("save the rotated refresh token of profile %s: %w", p.Name, err))
		}
		m.mu.Lock()
		m.entryLocked(p.Name).pending = nil
		m.mu.Unlock()
	}
	cred, err := m.opts.Store.Credential(p.Name)
	if errors.Is(err, keychain.ErrNotFound) {
		return Token{}, m.loginRequired(p, "there is no stored sign-in")
	}
	if err != nil {
		return Token{}, m.failed(p, fmt.Errorf("read the sign-in of profile %s: %w", p.Name, err))
	}
	if p.IsPAT() {
		return m.publish(p, gen, cred, cred.Secret, config.TokenPAT, patLifetime(cred, m.opts.Now()), false)
	}
	r, err := m.opts.NewRefresher(p)
	if err != nil {
		return Token{}, m.failed(p, err)
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.RefreshTimeout)
	defer cancel()
	tokens, err := r.Refresh(ctx, cred.Secret)
	if errors.Is(err, oauth.ErrLoginRequired) {
		return Token{}, m.loginRequired(p, err.Error())
	}
	if err != nil {
		return Token{}, m.failed(p, fmt.Errorf("refresh profile %s: %w", p.Name, err))
	}
	if !m.current(p.Name, gen) {
		return Token{}, ErrReloaded
	}
	rotated := tokens.RefreshToken != "" && tokens.RefreshToken != cred.Secret
	if rotated {
		// Single-use refresh tokens: the old one is now dead, so the new
		// one must be safe on disk before its access token is used.
		cred.Secret = tokens.RefreshToken
		if !tokens.RefreshExpiry.IsZero() {
			cred.SecretExpiresAt = tokens.RefreshExpiry.UTC()
		}
		if err := m.opts.Store.SaveCredential(p.Name, cred); err != nil {
			m.mu.Lock()
			m.entryLocked(p.Name).pending = &cred
			m.mu.Unlock()
			return Token{}, m.failed(p, fmt.Errorf("save the rotated refresh token of profile %s (kept in memory, retried): %w", p.Name, err))
		}
	}
	return m.publish(p, gen, cred, tokens.AccessToken, config.TokenOAuth, tokens.ExpiresIn, rotated)
}

func (m *Manager) generationLocked(name string) uint64 {
	return m.generation[""] + m.generation[name]
}

func (m *Manager) current(name string, gen uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.generationLocked(name) == gen
}

func patLifetime(cred keychain.Credential, now time.Time) time.Duration {
	if cred.SecretExpiresAt.IsZero() {
		return 24 * time.Hour
	}
	return cred.SecretExpiresAt.Sub(now)
}

// publish stores the new token in memory and schedules the next refresh.
func (m *Manager) publish(p config.Profile, gen uint64, cred keychain.Credential, access, tokenType string, lifetime time.Duration, rotated bool) (Token, error) {
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.generationLocked(p.Name) != gen {
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
		idle := m.opts.Now().Sub(e.lastUsed) > m.opts.IdleAfter
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
	err := fmt.Errorf("profile %s: %w (%s)", p.Name, ErrLoginRequired, why)
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
	e.nextAttempt = m.opts.Now().Add(d)
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
	return Token{Profile: profile, AccessToken: e.access, TokenType: e.tokenType, ExpiresAt: e.expiry, Headers: e.headers}
}

// profile resolves a profile, re-reading the config once if it is unknown
// (a profile added since the daemon started).
func (m *Manager) profile(name, serverURL string) (config.Profile, error) {
	m.mu.Lock()
	p, err := m.cfg.Select(name, serverURL)
	m.mu.Unlock()
	if err == nil {
		return p, nil
	}
	if rerr := m.Reload(""); rerr != nil {
		return config.Profile{}, rerr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Select(name, serverURL)
}

// Reload re-reads the config and forgets the cached state of one profile
// (or all when name is ""), so a new sign-in takes effect at once.
func (m *Manager) Reload(name string) error {
	cfg, err := m.opts.LoadConfig()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = cfg
	m.generation[name]++
	for n, e := range m.entries {
		if name != "" && n != name {
			continue
		}
		if e.timer != nil {
			e.timer.Stop()
		}
		// Only a new sign-in of this very profile makes an unsaved rotated
		// refresh token obsolete; otherwise it survives the reload.
		if e.pending != nil && n != name {
			m.entries[n] = &entry{pending: e.pending}
		} else {
			delete(m.entries, n)
		}
	}
	m.opts.Log.Info("reloaded", "profile", name)
	return nil
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
