package idptest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// SignIn is the user at the provider's own pages, with plain HTTP and a
// fresh cookie jar: it opens authorizeURL, signs in as user on the login
// page (any password), presses Continue on the consent page, and returns
// the redirect back to the client (code, state and iss, or error) without
// following it. It fails the test when no such redirect comes.
func (p *IdP) SignIn(t testing.TB, authorizeURL, user string) *url.URL {
	t.Helper()
	redirect, page, err := p.walk(authorizeURL, map[string]string{"login": user, "password": "any"})
	if err != nil {
		t.Fatalf("sign-in as %s: %v", user, err)
	}
	if redirect == nil {
		t.Fatalf("sign-in as %s ended on a page, not at the client: %q", user, page)
	}
	return redirect
}

// DeviceApprove is the user approving a device sign-in (RFC 8628): it
// opens verificationURI, enters userCode, confirms, signs in as user and
// consents, and fails the test unless the provider says it succeeded.
func (p *IdP) DeviceApprove(t testing.TB, verificationURI, userCode, user string) {
	t.Helper()
	fill := map[string]string{"user_code": userCode, "login": user, "password": "any"}
	redirect, page, err := p.walk(verificationURI, fill)
	if err != nil {
		t.Fatalf("device approval as %s: %v", user, err)
	}
	if redirect != nil || !strings.Contains(page, "Sign-in Success") {
		t.Fatalf("device approval as %s: ended at %v, page %q", user, redirect, page)
	}
}

// walk follows the provider's redirects and submits each form it shows,
// filled from fill, until a redirect leaves the provider (returned) or a
// page has no form (its text returned).
func (p *IdP) walk(start string, fill map[string]string) (*url.URL, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodGet, start, nil)
	if err != nil {
		return nil, "", err
	}
	for range 20 {
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, "", err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			next, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return nil, "", err
			}
			if next.Scheme+"://"+next.Host != p.origin {
				return next, "", nil
			}
			req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
			continue
		}
		doc, err := html.Parse(strings.NewReader(string(body)))
		if err != nil {
			return nil, "", err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("%s %s: status %d: %q", req.Method, req.URL.Path, resp.StatusCode, text(doc))
		}
		form := findForm(doc)
		if form == nil {
			return nil, text(doc), nil
		}
		if req, err = submit(form, resp.Request.URL, fill); err != nil {
			return nil, "", err
		}
	}
	return nil, "", errors.New("more than 20 pages")
}

// submit is the request a browser makes when the form is sent: its inputs'
// values, or fill's for the names fill has.
func submit(form *html.Node, page *url.URL, fill map[string]string) (*http.Request, error) {
	action, err := page.Parse(attr(form, "action"))
	if err != nil {
		return nil, err
	}
	values := url.Values{}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			name := attr(n, "name")
			if v, ok := fill[name]; ok {
				values.Set(name, v)
			} else {
				values.Set(name, attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(form)
	if !strings.EqualFold(attr(form, "method"), http.MethodPost) {
		action.RawQuery = values.Encode()
		return http.NewRequest(http.MethodGet, action.String(), nil)
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(values.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req, err
}

func findForm(n *html.Node) *html.Node {
	if n.Type == html.ElementNode && n.Data == "form" {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findForm(c); f != nil {
			return f
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is a page's visible words, for a message.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}
