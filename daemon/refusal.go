package daemon

import (
	"context"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// A headersHelper client cannot say that the server refused its token:
// clients re-run the helper after a 401 and after every reconnect alike.
// The daemon tells the two apart by asking the server (Options.Probe) when
// the same client asks again for the token it was given.

// refusalSpacing bounds how often one headersHelper client's re-runs may
// cost a refresh, should a server refuse every token.
const refusalSpacing = 5 * time.Second

// probeTimeout bounds a Probe: the helper that waits has 10 s in all.
const probeTimeout = 3 * time.Second

// handout is a token given to one headersHelper client.
type handout struct {
	fingerprint string
	at          time.Time
	refusedAt   time.Time // when its last re-run was taken as a refusal
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
	if e != nil && e.loginErr == nil && e.valid(m.now()) {
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

// noteHandoutLocked records that client was given the current token. Caller
// holds m.mu.
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
