package daemon

import (
	"errors"
	"sort"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// Status reports every configured profile. Profiles not used since the
// daemon started show their keychain metadata.
func (m *Manager) Status() []apitype.ProfileStatus {
	m.mu.Lock()
	cfg := m.cfg
	names := cfg.Names()
	m.mu.Unlock()
	sort.Strings(names)
	out := make([]apitype.ProfileStatus, 0, len(names))
	now := m.opts.Now()
	for _, name := range names {
		p := cfg.Profiles[name]
		ep, _ := p.Endpoint()
		ps := apitype.ProfileStatus{Name: name, Host: ep.Host, Auth: config.AuthOAuth, State: "idle"}
		if p.IsPAT() {
			ps.Auth = config.AuthPAT
		}
		m.mu.Lock()
		e, ok := m.entries[name]
		var cred keychain.Credential
		known := false
		if ok {
			ps.Refreshes = e.refreshes
			cred, known = e.cred, e.credKnown
			if state, lastErr := e.status(now); state != "" {
				ps.State, ps.LastError = state, lastErr
			}
			if e.access != "" {
				ps.AccessExpiresAt = e.expiry.UTC()
			}
		}
		m.mu.Unlock()
		if !known {
			c, err := m.opts.Store.Credential(name)
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
