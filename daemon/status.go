package daemon

import (
	"errors"
	"sort"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Status reports every configured profile. Profiles not used since the
// daemon started show their keychain metadata.
func (m *Manager) Status() []apitype.ProfileStatus {
	m.mu.Lock()
	cfg := m.cfg
	m.mu.Unlock()
	now := m.opts.Now()
	return statuses(cfg, m.opts.Store, func(name string, ps *apitype.ProfileStatus) (keychain.Credential, bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		e, ok := m.entries[name]
		if !ok {
			return keychain.Credential{}, false
		}
		ps.Refreshes = e.refreshes
		if state, lastErr := e.status(now); state != "" {
			ps.State, ps.LastError = state, lastErr
		}
		if e.access != "" {
			ps.AccessExpiresAt = e.expiry.UTC()
			if claims, ok := oauth.AccessClaims(e.access); ok && ps.Issuer != "" {
				ps.TokenScopes, ps.TokenAudience = claims.Scopes, claims.Audience
			}
		}
		return e.cred, e.credKnown
	})
}

// StatusWithoutDaemon is what Status would report of cfg's profiles with
// none used yet: their keychain metadata. status shows it when no daemon
// runs.
func StatusWithoutDaemon(cfg *config.File, store Store) []apitype.ProfileStatus {
	return statuses(cfg, store, func(string, *apitype.ProfileStatus) (keychain.Credential, bool) {
		return keychain.Credential{}, false
	})
}

// statuses reports cfg's profiles in name order: what used (a daemon's
// entry) fills in and the sign-in it knows, else the store's metadata.
func statuses(cfg *config.File, store Store, used func(name string, ps *apitype.ProfileStatus) (keychain.Credential, bool)) []apitype.ProfileStatus {
	names := cfg.Names()
	sort.Strings(names)
	out := make([]apitype.ProfileStatus, 0, len(names))
	for _, name := range names {
		p := cfg.Profiles[name]
		ep, _ := p.Endpoint()
		ps := apitype.ProfileStatus{Name: name, Host: ep.Host, Auth: config.AuthOAuth, State: "idle", Issuer: p.Issuer}
		if p.IsPAT() {
			ps.Auth = config.AuthPAT
		}
		cred, known := used(name, &ps)
		if !known {
			c, err := store.Credential(name)
			switch {
			case errors.Is(err, keychain.ErrNotFound):
				ps.State = apitype.CodeLoginRequired
			case err != nil:
				ps.State, ps.LastError = "error", err.Error()
			default:
				cred = c
			}
		}
		ps.User, ps.Role, ps.SecretExpiresAt = cred.User, cred.Role, cred.SecretExpiresAt
		out = append(out, ps)
	}
	return out
}
