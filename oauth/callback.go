package oauth

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

type callbackResult struct {
	code string
	err  error
}

// callback receives the browser's return from Snowflake. It answers exactly
// one callback on the redirect path; later visits are refused.
type callback struct {
	host    string // expected Host header, e.g. 127.0.0.1:53682
	path    string
	start   string // the start page, which redirects to authURL once
	authURL string
	state   string
	// issuer is the iss the authorization response must name (RFC 9207)
	// when it carries one, and always when issRequired; "" checks none.
	issuer      string
	issRequired bool
	server      string // how the pages name the authorization server
	// peerUID tells which uid owns the other end of a loopback connection
	// (ok is false where the OS does not say).
	peerUID func(remote, local string) (uid int, ok bool)
	ownUID  int

	mu      sync.Mutex
	started bool
	once    sync.Once
	done    chan struct{}
	result  chan callbackResult
}

func newCallback(redirect *url.URL, state, authURL string) *callback {
	path := redirect.Path
	if path == "" {
		path = "/"
	}
	start := StartPath
	if path == start {
		start += "/"
	}
	return &callback{
		host:    redirect.Host,
		path:    path,
		start:   start,
		authURL: authURL,
		state:   state,
		server:  "Snowflake",
		peerUID: loopbackPeerUID,
		ownUID:  os.Getuid(),
		done:    make(chan struct{}),
		result:  make(chan callbackResult, 1),
	}
}

// finish ends the sign-in with res, once.
func (c *callback) finish(res callbackResult) bool {
	handled := false
	c.once.Do(func() {
		handled = true
		close(c.done)
		c.result <- res
	})
	return handled
}

func (c *callback) serve(ln net.Listener) *http.Server {
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		MaxHeaderBytes:    16 << 10, // a longer query is refused with 431
		ErrorLog:          nil,
	}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A Host other than the loopback address we bound is a DNS-rebinding
	// attempt from some web page, not Snowflake's redirect.
	if r.Host != c.host {
		page(w, http.StatusBadRequest, "Wrong address", "This sign-in listener only answers on "+c.host+".")
		return
	}
	if r.URL.Path != c.path && r.URL.Path != c.start {
		page(w, http.StatusNotFound, "Not found", "Nothing here. Return to the terminal.")
		return
	}
	if r.Method != http.MethodGet {
		page(w, http.StatusMethodNotAllowed, "Not allowed", "The sign-in callback only accepts GET.")
		return
	}
	// Another local user can reach 127.0.0.1 too. Where the OS names the
	// owner of the connecting socket, only our own user's browser is served.
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if uid, known := c.peerUID(r.RemoteAddr, local.String()); known && uid != c.ownUID {
			page(w, http.StatusForbidden, "Not yours", "This sign-in belongs to another user of this machine.")
			return
		}
	}
	if r.URL.Path == c.start {
		c.serveStart(w, r)
		return
	}
	select {
	case <-c.done:
		page(w, http.StatusGone, "Already used", "This sign-in link was already used. Run sfmcp-token login again if you need to sign in.")
		return
	default:
	}
	q := r.URL.Query()
	res, status, title, text := c.judge(q)
	if !c.finish(res) {
		page(w, http.StatusGone, "Already used", "This sign-in link was already used. Run sfmcp-token login again if you need to sign in.")
		return
	}
	page(w, status, title, text)
}

// serveStart sends the first visitor on to Snowflake. A second visit means
// two parties have seen this sign-in's state, so the sign-in ends: a
// callback that might carry another user's code is never exchanged.
func (c *callback) serveStart(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	again := c.started
	c.started = true
	c.mu.Unlock()
	if again {
		c.finish(callbackResult{err: ErrStartReused})
		page(w, http.StatusConflict, "Sign-in abandoned", "This sign-in link was opened twice, so the sign-in was stopped for safety. Run sfmcp-token login again.")
		return
	}
	select {
	case <-c.done:
		page(w, http.StatusGone, "Already used", "This sign-in has ended. Run sfmcp-token login again if you need to sign in.")
		return
	default:
	}
	http.Redirect(w, r, c.authURL, http.StatusFound)
}

// judge decides what one callback means. The state is checked first: a
// callback that does not carry our state did not come from our request.
func (c *callback) judge(q url.Values) (res callbackResult, status int, title, text string) {
	got := q.Get("state")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.state)) != 1 {
		return callbackResult{err: ErrStateMismatch}, http.StatusBadRequest,
			"Sign-in failed", "The answer did not match this sign-in request (state mismatch). Close this tab and run sfmcp-token login again."
	}
	// A response from another authorization server than the one asked
	// (a mix-up: RFC 9207) is not ours to exchange.
	if c.issuer != "" && (q.Has("iss") || c.issRequired) && q.Get("iss") != c.issuer {
		return callbackResult{err: fmt.Errorf("%w (it names %q, not %q)", ErrIssuerMismatch, sanitize(q.Get("iss")), c.issuer)}, http.StatusBadRequest,
			"Sign-in failed", "The answer came from another sign-in server than the one sfmcp sent you to. Close this tab and run sfmcp-token login again."
	}
	if e := q.Get("error"); e != "" {
		desc := sanitize(q.Get("error_description"))
		err := fmt.Errorf("%w: %s said %s", ErrAccessDenied, c.server, sanitize(e))
		if desc != "" {
			err = fmt.Errorf("%w: %s said %s (%s)", ErrAccessDenied, c.server, sanitize(e), desc)
		}
		text := c.server + " did not grant access (" + sanitize(e) + ")."
		if desc != "" {
			text += " " + desc
		}
		return callbackResult{err: err}, http.StatusForbidden, "Sign-in denied", text + " Return to the terminal."
	}
	code := q.Get("code")
	if code == "" {
		return callbackResult{err: fmt.Errorf("%w: the callback carried no authorization code", ErrAccessDenied)}, http.StatusBadRequest,
			"Sign-in failed", c.server + "'s answer carried no authorization code. Close this tab and run sfmcp-token login again."
	}
	return callbackResult{code: code}, http.StatusOK,
		"Signed in", "You are signed in to " + c.server + ". You can close this tab and return to the terminal."
}

// pageTemplate is parsed on first use, not at init: every sfmcp-token run
// (the hot headers path included) would otherwise pay for it.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(pageHTML))
})

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sfmcp: {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#1b2733}h1{font-size:1.4em}</style>
</head><body><h1>{{.Title}}</h1><p id="message">{{.Text}}</p></body></html>
`

// page writes a small HTML page; html/template escapes all text.
func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTemplate().Execute(w, struct{ Title, Text string }{title, text})
}
