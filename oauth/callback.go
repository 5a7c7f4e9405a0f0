package oauth

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
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
	host   string // expected Host header, e.g. 127.0.0.1:53682
	path   string
	state  string
	once   sync.Once
	done   chan struct{}
	result chan callbackResult
}

func newCallback(redirect *url.URL, state string) *callback {
	path := redirect.Path
	if path == "" {
		path = "/"
	}
	return &callback{
		host:   redirect.Host,
		path:   path,
		state:  state,
		done:   make(chan struct{}),
		result: make(chan callbackResult, 1),
	}
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
	if r.URL.Path != c.path {
		page(w, http.StatusNotFound, "Not found", "Nothing here. Return to the terminal.")
		return
	}
	if r.Method != http.MethodGet {
		page(w, http.StatusMethodNotAllowed, "Not allowed", "The sign-in callback only accepts GET.")
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
	handled := false
	c.once.Do(func() {
		handled = true
		close(c.done)
		c.result <- res
	})
	if !handled {
		page(w, http.StatusGone, "Already used", "This sign-in link was already used. Run sfmcp-token login again if you need to sign in.")
		return
	}
	page(w, status, title, text)
}

// judge decides what one callback means. The state is checked first: a
// callback that does not carry our state did not come from our request.
func (c *callback) judge(q url.Values) (res callbackResult, status int, title, text string) {
	got := q.Get("state")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.state)) != 1 {
		return callbackResult{err: ErrStateMismatch}, http.StatusBadRequest,
			"Sign-in failed", "The answer did not match this sign-in request (state mismatch). Close this tab and run sfmcp-token login again."
	}
	if e := q.Get("error"); e != "" {
		desc := sanitize(q.Get("error_description"))
		err := fmt.Errorf("%w: Snowflake said %s", ErrAccessDenied, sanitize(e))
		if desc != "" {
			err = fmt.Errorf("%w: Snowflake said %s (%s)", ErrAccessDenied, sanitize(e), desc)
		}
		text := "Snowflake did not grant access (" + sanitize(e) + ")."
		if desc != "" {
			text += " " + desc
		}
		return callbackResult{err: err}, http.StatusForbidden, "Sign-in denied", text + " Return to the terminal."
	}
	code := q.Get("code")
	if code == "" {
		return callbackResult{err: fmt.Errorf("%w: the callback carried no authorization code", ErrAccessDenied)}, http.StatusBadRequest,
			"Sign-in failed", "Snowflake's answer carried no authorization code. Close this tab and run sfmcp-token login again."
	}
	return callbackResult{code: code}, http.StatusOK,
		"Signed in", "You are signed in to Snowflake. You can close this tab and return to the terminal."
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
