package oauth

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func newTestCallback() *callback {
	u, _ := url.Parse("http://127.0.0.1:4321/cb")
	return newCallback(u, "the-state", "https://sf.example/oauth/authorize?state=the-state")
}

func get(c *callback, host, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Host = host
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

func pending(c *callback) bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func TestCallbackIgnoresStrangers(t *testing.T) {
	c := newTestCallback()
	if w := get(c, "evil.example:4321", "/cb?code=x&state=the-state"); w.Code != 400 {
		t.Errorf("non-loopback Host: %d", w.Code)
	}
	if w := get(c, "127.0.0.1:4321", "/other?code=x&state=the-state"); w.Code != 404 {
		t.Errorf("other path: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "/cb?code=x&state=the-state", nil)
	r.Host = "127.0.0.1:4321"
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
	if !pending(c) {
		t.Fatal("a request that was not the callback ended the sign-in")
	}
}

func TestCallbackOutcomes(t *testing.T) {
	for _, tc := range []struct {
		query   string
		status  int
		wantErr error
	}{
		{"code=abc&state=the-state", 200, nil},
		{"code=abc&state=wrong", 400, ErrStateMismatch},
		{"code=abc", 400, ErrStateMismatch},
		{"state=the-state", 400, ErrAccessDenied},
		{"error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=the-state", 403, ErrAccessDenied},
	} {
		c := newTestCallback()
		w := get(c, "127.0.0.1:4321", "/cb?"+tc.query)
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.query, w.Code, tc.status)
		}
		res := <-c.result
		if !errors.Is(res.err, tc.wantErr) || (tc.wantErr == nil && res.code != "abc") {
			t.Errorf("%s: result %+v, want err %v", tc.query, res, tc.wantErr)
		}
		body := w.Body.String()
		if strings.Contains(body, "<script>") {
			t.Errorf("%s: page not escaped: %s", tc.query, body)
		}
		if strings.Contains(body, "abc") {
			t.Errorf("%s: page shows the authorization code", tc.query)
		}
		// A second visit to the same callback is refused.
		if w2 := get(c, "127.0.0.1:4321", "/cb?"+tc.query); w2.Code != http.StatusGone {
			t.Errorf("%s: second visit %d, want 410", tc.query, w2.Code)
		}
	}
}

func TestCallbackRefusesHugeQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://" + ln.Addr().String() + "/")
	c := newCallback(u, "s", "https://sf.example/oauth/authorize")
	srv := c.serve(ln)
	defer srv.Close()
	resp, err := http.Get(u.String() + "?state=s&code=" + strings.Repeat("A", 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("huge query: status %d", resp.StatusCode)
	}
	if !pending(c) {
		t.Fatal("a huge request ended the sign-in")
	}
}
