package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/oauth"
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

// Fingerprint identifies a token without revealing it: what a client
// reports as refused (Request.Refused). It lives here, not in the wire
// types, so the hot-path client links no hashing.
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
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
	if errors.Is(err, oauth.ErrLoginRequired) {
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

// token answers r from the cache when it can (kicking a background
// refresh once the token is due), and otherwise refreshes (see state.go).
func (m *Manager) token(p config.Profile, now time.Time, r Request) (Token, error) {
	m.mu.Lock()
	m.noticeResumeLocked(now)
	e := m.entryLocked(p.Name)
	e.use(now)
	if e.loginErr != nil {
		err := e.loginErr
		m.mu.Unlock()
		return Token{}, err
	}
	renew := e.renews(r, now)
	if e.valid(now) && !renew {
		t := e.tokenLocked(p.Name)
		e.noteHandoutLocked(r.Client, now)
		if e.refreshDue(p, now, m.opts.IdleAfter) && e.kick() {
			go m.refreshInBackground(p)
		}
		m.mu.Unlock()
		return t, nil
	}
	if err := e.failFast(now); err != nil && !renew {
		// Snowflake failed moments ago: fail fast instead of hammering it.
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

// tokenLocked is the cached token of e as handed out. Caller holds m.mu.
func (e *entry) tokenLocked(profile string) Token {
	return Token{Profile: profile, AccessToken: e.access, TokenType: e.tokenType, ExpiresAt: e.expiry, Headers: e.headers, extraHosts: e.cred.ExtraHosts,
		CAFile: e.cred.CAFile, CAFileSHA256: e.cred.CAFileSHA256, HTTPSProxy: e.cred.HTTPSProxy, NetworkRecorded: e.cred.NetworkRecorded}
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
