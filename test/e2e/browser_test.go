package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// chromium finds the browser for the real-browser tests: $SFMCP_TEST_BROWSER
// (a path, or "require" to fail when none is found), else chromium on PATH.
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
	t.Skip("no chromium: install Debian's chromium (CI does) to run the real-browser tests")
	return ""
}

// browser starts a headless chromium for one test.
func browser(t *testing.T) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		// The stand-in's certificate is httptest's; the browser's trust of
		// real Snowflake is not what is tested here.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	return ctx
}

func TestRealBrowserLogin(t *testing.T) {
	ctx := browser(t)
	p := newProc(t)
	formStandIn := newStandIn(snowflaketest.Options{}) // a sign-in form, no auto-approval
	t.Cleanup(formStandIn.Close)
	p.useFileStore()
	p.run(nil, "profile", "add", "prod", "--account", "myorg-acct", "--host", formStandIn.Host(), "--role", "MCP_USERS")

	authURL, wait := startLogin(t, p, "prod")
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	message := signInInBrowser(t, tctx, authURL)
	callbackURL, _ := chromedp.Run(tctx, chromedp.Location())
	if !strings.Contains(message, "You are signed in to Snowflake") {
		t.Fatalf("success page says %q", message)
	}
	code, out, errOut := wait()
	if code != 0 || !strings.Contains(out, "Logged in to "+formStandIn.Host()+" as ALICE (profile prod)") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	// A second visit to the same callback URL is refused: the listener is gone.
	second := ""
	sctx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	err := chromedp.Do(sctx, chromedp.Navigate(callbackURL))
	if err == nil {
		second, err = chromedp.Run(sctx, chromedp.Text("body"))
	}
	if err == nil && strings.Contains(second, "You are signed in") {
		t.Fatalf("the callback answered a second time: %q", second)
	}
	leaks.Record(t.Name()+": login output and page", out+errOut+message)
}

func TestRealBrowserDeny(t *testing.T) {
	ctx := browser(t)
	p := newProc(t)
	formStandIn := newStandIn(snowflaketest.Options{})
	t.Cleanup(formStandIn.Close)
	p.useFileStore()
	p.run(nil, "profile", "add", "prod", "--account", "myorg-acct", "--host", formStandIn.Host())
	authURL, wait := startLogin(t, p, "prod")
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(tctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible("#deny"),
		chromedp.Click("#deny"),
		chromedp.WaitVisible("#message"),
	)
	if err != nil {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Text("body"))
		t.Fatalf("browser: %v (at %s: %q)", err, loc, body)
	}
	title, _ := chromedp.Run(tctx, chromedp.Text("h1"))
	message, _ := chromedp.Run(tctx, chromedp.Text("#message"))
	if title != "Sign-in denied" || !strings.Contains(message, "access_denied") {
		t.Fatalf("failure page: %q %q", title, message)
	}
	code, _, errOut := wait()
	if code != 3 || !strings.Contains(errOut, "run: sfmcp-token login --profile prod") {
		t.Fatalf("denied login: exit %d\n%s", code, errOut)
	}
}

// signInInBrowser completes the stand-in's sign-in in headless chromium,
// starting at a loopback sign-in page, and returns what the page said.
// ctx bounds it; the tab stays open for the caller (cancelling a chromedp
// context closes its tab).
func signInInBrowser(t *testing.T, ctx context.Context, startURL string) string {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(startURL),
		chromedp.WaitVisible("#user"),
		chromedp.SendKeys("#user", "alice"),
		chromedp.SendKeys("#password", snowflaketest.DefaultPassword),
		chromedp.Click("#allow"),
		chromedp.WaitVisible("#message"),
	)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser: %v (at %s)", err, loc)
	}
	message, err := chromedp.Run(ctx, chromedp.Text("#message"))
	leaks.Record("sign-in page", message)
	if err != nil || !strings.Contains(message, "You are signed in to Snowflake") {
		t.Fatalf("the sign-in page says %q (%v)", message, err)
	}
	return message
}
