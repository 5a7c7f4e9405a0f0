package idptest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sfmcp/sfmcp/test/idptest"
)

// chromium finds the browser as test/e2e does: $SFMCP_TEST_BROWSER (a
// path, or "require" to fail when none is found), else chromium on PATH.
func chromium(t *testing.T) string {
	want := os.Getenv("SFMCP_TEST_BROWSER")
	if want != "" && want != "require" {
		return want
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if want == "require" {
		t.Fatal("SFMCP_TEST_BROWSER=require but no chromium on PATH")
	}
	t.Skip("no chromium: install Debian's chromium (CI does) to run the real-browser test")
	return ""
}

// The provider's own login and consent pages work in a real browser, which
// lands on a real loopback listener with the code.
func TestBrowserSignIn(t *testing.T) {
	browser := chromium(t)
	p := idptest.Start(t, idptest.Options{})
	got := make(chan url.Values, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/callback" {
			select {
			case got <- r.URL.Query():
			default:
			}
		}
		_, _ = w.Write([]byte("<p id=done>signed in</p>"))
	}))
	t.Cleanup(callback.Close)

	cfg := &oauth2.Config{ClientID: p.ClientID, Endpoint: p.Endpoint(), RedirectURL: callback.URL + "/callback",
		Scopes: []string{role, "offline_access"}}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier))

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()))...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	err := chromedp.Do(ctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(`input[name="login"]`),
		chromedp.SendKeys(`input[name="login"]`, "carol"),
		chromedp.SendKeys(`input[name="password"]`, "any"),
		chromedp.Submit(`input[name="login"]`),
		chromedp.WaitReady(`input[name="prompt"][value="consent"]`),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#done`),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	var q url.Values
	select {
	case q = <-got:
	case <-ctx.Done():
		t.Fatal("the browser never reached the callback")
	}
	if q.Get("state") != "state-1" || q.Get("iss") != p.Issuer {
		t.Fatalf("callback with state %q, iss %q", q.Get("state"), q.Get("iss"))
	}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, claims := verify(t, p, tok.AccessToken); claims["sub"] != "carol" {
		t.Errorf("sub %v", claims["sub"])
	}
}
