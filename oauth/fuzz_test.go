package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzCallbackQuery: whatever arrives at the loopback callback, the handler
// neither panics nor reflects unescaped markup, and succeeds only with our
// state and a code.
func FuzzCallbackQuery(f *testing.F) {
	for _, q := range []string{"code=abc&state=the-state", "error=access_denied&error_description=%3Cscript%3E&state=the-state", "state=x", "code=&state=the-state", "%zz", ""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		c := newTestCallback()
		r := httptest.NewRequest(http.MethodGet, "/cb", nil)
		r.URL.RawQuery = rawQuery
		r.Host = "127.0.0.1:4321"
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		body := w.Body.String()
		if strings.Contains(body, "<script") {
			t.Fatalf("unescaped markup in the page for %q", rawQuery)
		}
		q, _ := url.ParseQuery(rawQuery)
		res := <-c.result
		if w.Code == http.StatusOK {
			if res.err != nil || res.code == "" || q.Get("state") != "the-state" || res.code != q.Get("code") {
				t.Fatalf("accepted %q: %+v", rawQuery, res)
			}
		} else if res.err == nil {
			t.Fatalf("refused %q with %d but reported success", rawQuery, w.Code)
		}
	})
}
