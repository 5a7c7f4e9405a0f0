package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Login errors callers branch on.
var (
	ErrAccessDenied  = errors.New("sign-in was denied in the browser")
	ErrStateMismatch = errors.New("the browser returned a different state than was sent (a stale or forged callback)")
	// ErrIssuerMismatch: the authorization response names another issuer
	// than the one the browser was sent to (RFC 9207).
	ErrIssuerMismatch = errors.New("the sign-in answer came from another authorization server than the one asked")
	ErrTimeout        = errors.New("sign-in did not complete in time")
	// ErrNotCallback: a pasted line is not the address the browser was
	// sent back to.
	ErrNotCallback = errors.New("that is not the address the browser was sent back to after signing in (it starts with http://127.0.0.1: and holds code= and state=)")
	// ErrStartReused: the sign-in start page was opened twice. Only one
	// browser should ever open it, so a second visit may be another program
	// that wants this sign-in's state; the sign-in is abandoned.
	ErrStartReused = errors.New("the sign-in link was opened a second time, possibly by another program on this machine; this sign-in was abandoned for safety")
)

// StartPath is the loopback page the browser is sent to. It redirects to
// Snowflake, so the authorization URL (state, PKCE challenge) never appears
// on a command line, where every local user can read it (/proc/PID/cmdline).
const StartPath = "/sfmcp/start"

// PortInUseError means the redirect URI's port is taken on 127.0.0.1.
type PortInUseError struct {
	Port        string
	RedirectURI string
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %s on 127.0.0.1 is in use, so the sign-in callback cannot be received; stop what listens there, or register another loopback redirect URI on the integration (OAUTH_REDIRECT_URI, now expected to be %s) and set it with --redirect-uri", e.Port, e.RedirectURI)
}

// Authorizer is the authorization server a Login sends the browser to
// and exchanges the code at: a Client (Snowflake's own OAuth) is one.
type Authorizer interface {
	AuthCodeURL(redirectURI, state, verifier string) string
	Exchange(ctx context.Context, code, verifier, redirectURI string) (Tokens, error)
}

// Login runs one authorization-code + PKCE sign-in.
type Login struct {
	Client Authorizer
	// RedirectURI is the integration's registered loopback URI. Empty means
	// http://127.0.0.1:<free port> (SNOWFLAKE$LOCAL_APPLICATION accepts any port).
	RedirectURI string
	// Announce is called with the sign-in URL (the loopback start page)
	// before the browser opens, and with Snowflake's authorization URL,
	// which a browser on another machine can open (see Paste).
	Announce func(startURL, authURL string)
	// Paste, when set, gives lines the user pasted: the address the
	// browser was sent back to (http://127.0.0.1:PORT/…?code=…&state=…),
	// from a browser on another machine that cannot reach this listener.
	// Its state is checked exactly as the listener checks it; whichever
	// of the two answers first ends the sign-in. Paste must return when
	// its context ends (the sign-in is over), leaving any line not yet
	// read to whoever reads the terminal next.
	Paste func(context.Context) (string, error)
	// PasteRefused is told about a pasted line that is not such an
	// address; the sign-in goes on waiting.
	PasteRefused func(error)
	// Open opens the URL in a browser; nil means do not open one.
	Open    func(startURL string) error
	Timeout time.Duration // default 5 minutes
}

// Run listens on the loopback redirect, sends the user to Snowflake, waits
// for exactly one callback and exchanges the code.
func (l *Login) Run(ctx context.Context) (Tokens, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ln, redirect, err := listenLoopback(l.RedirectURI)
	if err != nil {
		return Tokens{}, err
	}
	state, err := randomString(32)
	if err != nil {
		ln.Close()
		return Tokens{}, err
	}
	verifier := oauth2.GenerateVerifier()
	authURL := l.Client.AuthCodeURL(redirect.String(), state, verifier)
	cb := newCallback(redirect, state, authURL)
	if ic, ok := l.Client.(interface{ ResponseIssuer() (string, bool) }); ok {
		cb.issuer, cb.issRequired = ic.ResponseIssuer()
	}
	if n, ok := l.Client.(interface{ ServerName() string }); ok {
		cb.server = n.ServerName()
	}
	srv := cb.serve(ln)
	defer func() {
		// Let the page being written reach the browser before the listener
		// goes: a denied or failed sign-in returns at once, and closing
		// abruptly left the user looking at a connection error.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	startURL := (&url.URL{Scheme: "http", Host: redirect.Host, Path: cb.start}).String()
	if l.Announce != nil {
		l.Announce(startURL, authURL)
	}
	if l.Paste != nil {
		pasting, stopPasting := context.WithCancel(ctx)
		defer stopPasting()
		go cb.readPasted(pasting, l.Paste, l.PasteRefused)
	}
	opened := make(chan struct{})
	if l.Open != nil {
		// In the background: some xdg-open setups block until the browser
		// exits. A browser that fails to open is not fatal; the URL was
		// announced.
		go func() { defer close(opened); _ = l.Open(startURL) }()
		// Give the opener a moment to finish before returning, so it does
		// not outlive the sign-in in the common case.
		defer func() {
			select {
			case <-opened:
			case <-time.After(2 * time.Second):
			}
		}()
	} else {
		close(opened)
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res callbackResult
	select {
	case res = <-cb.result:
	case <-timer.C:
		return Tokens{}, fmt.Errorf("%w: no answer from the browser within %s (use --timeout to wait longer)", ErrTimeout, timeout)
	case <-ctx.Done():
		return Tokens{}, ctx.Err()
	}
	if res.err != nil {
		return Tokens{}, res.err
	}
	return l.Client.Exchange(ctx, res.code, verifier, redirect.String())
}

// readPasted takes pasted callback addresses, one per line, until one ends
// the sign-in or the sign-in ends otherwise. A line that is not a callback
// address is refused without ending the sign-in: a stray paste must not
// cost the user the sign-in, while a callback with the wrong state ends
// it, as on the listener.
func (c *callback) readPasted(ctx context.Context, next func(context.Context) (string, error), refused func(error)) {
	for {
		line, err := next(ctx)
		if err != nil {
			return
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		u, err := url.Parse(line)
		q := url.Values{}
		if err == nil {
			q = u.Query()
		}
		if err != nil || q.Get("state") == "" || q.Get("code") == "" && q.Get("error") == "" {
			if refused != nil {
				refused(ErrNotCallback)
			}
			continue
		}
		res, _, _, _ := c.judge(q)
		c.finish(res)
		return
	}
}

// listenLoopback binds 127.0.0.1 on the redirect URI's port (or a free one)
// and returns the exact redirect URI to send.
func listenLoopback(redirectURI string) (net.Listener, *url.URL, error) {
	if redirectURI == "" {
		redirectURI = "http://127.0.0.1"
	}
	u, err := url.Parse(redirectURI)
	if err != nil {
		return nil, nil, fmt.Errorf("redirect URI %q: %w", redirectURI, err)
	}
	if u.Scheme != "http" || u.Hostname() == "" || !net.ParseIP(u.Hostname()).IsLoopback() {
		return nil, nil, fmt.Errorf("redirect URI %q must be http://127.0.0.1:<port>[/path]", redirectURI)
	}
	port := u.Port()
	if port == "" {
		port = "0"
	}
	// Bind the IP literal from the URI (127.0.0.1 or [::1]), never all
	// interfaces: the callback must not be reachable from the network.
	ln, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		if addrInUse(err) {
			return nil, nil, &PortInUseError{Port: port, RedirectURI: redirectURI}
		}
		return nil, nil, fmt.Errorf("listen for the sign-in callback on %s: %w", redirectURI, err)
	}
	if port == "0" {
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		u.Host = net.JoinHostPort(u.Hostname(), p)
	}
	return ln, u, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
