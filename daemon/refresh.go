package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/expiry"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// rotation is a refresh token that replaced old and must reach the keychain.
type rotation struct {
	old  string
	cred keychain.Credential
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
	e.endRefresh()
	if e.retryInBackground(err, m.now()) {
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
	m.entryLocked(p.Name).startRefresh()
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
	if errors.Is(err, oauth.ErrLoginRequired) {
		return Token{}, m.loginRequiredBy(p, err)
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
	key := strings.Join([]string{cred.Host, cred.ClientID, cred.Issuer, cred.TokenURL, cred.CAFile, cred.CAFileSHA256, cred.HTTPSProxy, fmt.Sprint(cred.NetworkRecorded)}, "\x00")
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
	// Which issuer a refresh token may go to is the refresher's to check
	// (signin.Servers.Stored).
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

// publish stores the new token in memory and schedules the next refresh,
// unless the profile was reloaded since the refresh began (gen).
func (m *Manager) publish(p config.Profile, gen uint64, cred keychain.Credential, access, tokenType string, lifetime time.Duration, rotated bool) (Token, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.generation[p.Name] != gen {
		return Token{}, ErrReloaded
	}
	e := m.entryLocked(p.Name)
	e.refreshed(now, cred, access, tokenType, lifetime)
	if left := cred.SecretExpiresAt.Sub(now); !cred.SecretExpiresAt.IsZero() && left < expiry.Soon && now.Sub(e.warned) >= 24*time.Hour {
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

func (m *Manager) loginRequired(p config.Profile, why string) error {
	return m.markLoginRequired(p, why, &oauth.LoginRequiredError{Profile: p.Name, Reason: why})
}

// loginRequiredBy is loginRequired for a cause that says why: Snowflake's
// refusal, which stays in the error chain (its code and advice reach the
// client), or a refresher's own LoginRequiredError (the CA file changed).
func (m *Manager) loginRequiredBy(p config.Profile, cause error) error {
	var own *oauth.LoginRequiredError
	if errors.As(cause, &own) && own.Profile == "" {
		return m.loginRequired(p, own.Why())
	}
	return m.markLoginRequired(p, cause.Error(), &oauth.LoginRequiredError{Profile: p.Name, Cause: cause})
}

func (m *Manager) markLoginRequired(p config.Profile, why string, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entryLocked(p.Name).needLogin(err)
	m.opts.Log.Warn("login required", "profile", p.Name, "reason", why)
	return err
}

// failed records a transient failure of p's refresh and schedules the
// next attempt (entry.refreshFailed).
func (m *Manager) failed(p config.Profile, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entryLocked(p.Name)
	d := e.refreshFailed(err, m.now(), m.opts.BackoffBase, m.opts.BackoffMax)
	m.opts.Log.Error("refresh failed", "profile", p.Name, "attempt", e.failures, "retry_in", d.Round(time.Millisecond).String(), "error", err.Error())
	return err
}
