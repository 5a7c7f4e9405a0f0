package snowflaketest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Visit acts as the user's browser: it opens authURL (an /oauth/authorize
// URL of this stand-in), follows the redirect back to the loopback callback
// and returns the status and body of the last page. With AutoApprove set the
// stand-in approves at once; otherwise the last page is the sign-in form.
func (s *Server) Visit(authURL string) (int, string, error) {
	return s.fetch(http.MethodGet, authURL, nil)
}

// SignIn fills the stand-in's sign-in form for authURL as user and presses
// Allow (or Deny), then follows the redirect to the callback.
func (s *Server) SignIn(authURL, user, password string, allow bool) (int, string, error) {
	status, body, err := s.Visit(authURL)
	if err != nil {
		return status, body, err
	}
	m := requestIDRE.FindStringSubmatch(body)
	if m == nil {
		return status, body, fmt.Errorf("no sign-in form at %s (status %d)", authURL, status)
	}
	action := "deny"
	if allow {
		action = "allow"
	}
	form := url.Values{"request_id": {m[1]}, "user": {user}, "password": {password}, "action": {action}}
	return s.fetch(http.MethodPost, s.URL+"/oauth/authorize", form)
}

// AuthorizeURL is a browser's first hop: it opens sfmcp's loopback sign-in
// start page and returns the authorization URL it redirects to (the start
// page answers once, so continue with Visit or SignIn on the result).
func (s *Server) AuthorizeURL(startURL string) (string, error) {
	return s.redirect(startURL)
}

// RemoteBrowser is a browser on another machine (the user's laptop, with
// sfmcp on a server over SSH): it approves authURL (AutoApprove) and stops
// where Snowflake sends it back to the loopback callback, which it cannot
// reach. It returns that address, as the user would copy it from the
// address bar.
func (s *Server) RemoteBrowser(authURL string) (string, error) {
	return s.redirect(authURL)
}

// redirect GETs target, as a browser trusting the stand-in does, and
// returns where its 302 points without following it.
func (s *Server) redirect(target string) (string, error) {
	client := *s.Client()
	client.Timeout = 10 * time.Second
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(target)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc == "" {
		return "", fmt.Errorf("%s answered %d, not a redirect (for authorize: is AutoApprove set?)", target, resp.StatusCode)
	}
	return loc, nil
}

var requestIDRE = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

func (s *Server) fetch(method, target string, form url.Values) (int, string, error) {
	client := *s.Client() // trusts the stand-in's certificate
	client.Timeout = 10 * time.Second
	var resp *http.Response
	var err error
	if form != nil {
		resp, err = client.PostForm(target, form)
	} else {
		resp, err = client.Get(target)
	}
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}
