package daemon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// Issue #11 §2: after a night's sleep (wall clock +8 h, monotonic +1 s)
// the first request gets a token valid by the wall clock, never the one
// that expired while the machine slept.
func TestTokenAfterSleepIsValidByTheWallClock(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.BackoffBase, o.BackoffMax = time.Hour, time.Hour })
	stale := f.token()
	f.waitRefresh()
	f.clock.Jump(8*time.Hour, time.Second)
	fresh := f.token()
	if fresh.AccessToken == stale.AccessToken {
		t.Fatal("the token that expired during the sleep was handed out")
	}
	if !fresh.ExpiresAt.After(f.clock.Now()) {
		t.Fatalf("handed out a token that expired at %s (now %s)", fresh.ExpiresAt, f.clock.Now())
	}
	if !strings.Contains(f.logs.String(), "the machine slept") {
		t.Errorf("the resume was not noticed:\n%s", f.logs.String())
	}
	// Expiry is kept without Go's monotonic reading, so comparisons with
	// it are wall-clock comparisons whatever clock Now is.
	if f.m.now() != f.m.now().Round(0) || strings.Contains(f.m.entries["prod"].expiry.String(), "m=") {
		t.Error("the manager keeps a monotonic reading")
	}
}

// Without any request, the watch notices the resume and refreshes the
// profiles in use at once.
func TestResumeRefreshesProfilesInUse(t *testing.T) {
	f := newFixture(t, nil, nil)
	stale := f.token()
	f.waitRefresh()
	f.clock.Jump(9*time.Minute, time.Second) // asleep across the refresh margin
	f.m.checkDue()
	if err := f.waitRefresh(); err != nil {
		t.Fatal(err)
	}
	if f.refreshes() != 2 {
		t.Fatalf("refreshes %d, want 2", f.refreshes())
	}
	f.m.mu.Lock()
	access := f.m.entries["prod"].access
	f.m.mu.Unlock()
	if access == stale.AccessToken {
		t.Fatal("the cached token was not renewed after the resume")
	}
	// Awake and well inside the token's life: nothing more happens.
	f.clock.Advance(10 * time.Second)
	f.m.checkDue()
	if f.refreshes() != 2 {
		t.Fatalf("a refresh without cause: %d", f.refreshes())
	}
}

// Issue #11 §5: once Snowflake recovers, a caller's request tries again a
// few seconds after the last failure instead of failing for the rest of a
// long backoff; right after a failure it fails fast.
func TestCallersRetrySoonAfterAnOutage(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.BackoffBase, o.BackoffMax = time.Hour, time.Hour })
	f.token()
	f.waitRefresh()
	f.clock.Advance(11 * time.Minute) // the access token expired
	f.sf.InjectTokenFaults(snowflaketest.Fault{Status: 503})
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); err == nil {
		t.Fatal("the outage did not fail the request")
	}
	f.waitRefresh()
	before := f.sf.Counters().TokenRequests
	f.clock.Advance(time.Second)
	for range 10 {
		if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); err == nil {
			t.Fatal("a token without a successful refresh")
		}
	}
	if got := f.sf.Counters().TokenRequests; got != before {
		t.Fatalf("%d token requests within a second of the failure; want none", got-before)
	}
	f.clock.Advance(callerRetryAfter)
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); err != nil {
		t.Fatalf("Snowflake is back, yet the caller failed (the backoff is an hour): %v", err)
	}
	if got := f.sf.Counters().TokenRequests; got != before+1 {
		t.Fatalf("%d token requests for the recovery; want 1", got-before)
	}
}

// Issue #11 §3: a headersHelper client that asks again for the token it
// was given gets a new one only if the server refuses it; a re-run after a
// reconnect (which Claude Code does after every Snowflake tool call) costs
// a check, not a refresh.
func TestHelperRerunRenewsOnlyARefusedToken(t *testing.T) {
	var probes atomic.Int32
	var f *fixture
	f = newFixture(t, nil, func(o *Options) {
		o.Probe = func(ctx context.Context, p config.Profile, _ keychain.Credential, serverURL string, tok Token) (bool, error) {
			probes.Add(1)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, serverURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := f.sf.Client().Do(req)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusUnauthorized, nil
		}
	})
	url := f.sf.URL + snowflaketest.DefaultMCPServer().MCPPath()
	ask := func(client string) Token {
		t.Helper()
		tok, err := f.m.Token(context.Background(), Request{Profile: "prod", ServerURL: url, Client: client})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	first := ask("claude-1")
	if probes.Load() != 0 {
		t.Fatal("a first run was checked with the server")
	}
	if again := ask("claude-1"); again.AccessToken != first.AccessToken || probes.Load() != 1 || f.refreshes() != 1 {
		t.Fatalf("a reconnect's re-run: probes %d, refreshes %d", probes.Load(), f.refreshes())
	}
	if other := ask("claude-2"); other.AccessToken != first.AccessToken || probes.Load() != 1 {
		t.Fatal("another client's first run was checked or renewed")
	}
	f.sf.RevokeAccessTokens() // Snowflake invalidates the token early
	renewed := ask("claude-1")
	if renewed.AccessToken == first.AccessToken || f.refreshes() != 2 {
		t.Fatalf("the refused token was handed out again (refreshes %d)", f.refreshes())
	}
	// The other client's re-run now gets the renewed token without
	// another refresh: its token is no longer the cached one.
	if other := ask("claude-2"); other.AccessToken != renewed.AccessToken || f.refreshes() != 2 {
		t.Fatalf("claude-2 after the renewal: refreshes %d", f.refreshes())
	}
	// A URL on another host is never probed with the token.
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod", ServerURL: "https://evil.example/x", Client: "claude-1"}); !errors.Is(err, config.ErrHostMismatch) {
		t.Fatalf("evil URL: %v", err)
	}
}

// Review of issue #11: while a refresh after a failure hangs (Snowflake
// times out rather than fails), other callers fail fast instead of waiting
// out the refresh timeout past their client's own limit.
func TestCallersFailFastWhileARetryHangs(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.BackoffBase, o.BackoffMax = time.Hour, time.Hour })
	f.token()
	f.waitRefresh()
	f.clock.Advance(11 * time.Minute)
	f.sf.InjectTokenFaults(snowflaketest.Fault{Status: 503}, snowflaketest.Fault{Hang: true})
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); err == nil {
		t.Fatal("the outage did not fail the request")
	}
	f.waitRefresh()
	f.clock.Advance(callerRetryAfter)
	arrived := make(chan struct{}, 1)
	f.sf.OnTokenRequest(func(string) { arrived <- struct{}{} })
	hung := make(chan error, 1)
	go func() {
		_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
		hung <- err
	}()
	// Wait until that caller's retry is under way at Snowflake.
	select {
	case <-arrived:
	case err := <-hung:
		t.Fatalf("the retry ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the retry never reached Snowflake")
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a token without a successful refresh")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a caller waited for the hanging retry")
	}
	f.m.Close()
}

// A login of the profile ends a browser sign-in the daemon opened, which
// would otherwise hold the loopback port.
func TestLoginEndsTheDaemonsOpenSignIn(t *testing.T) {
	started := make(chan struct{})
	f := newFixture(t, nil, func(o *Options) {
		o.SignIn = &SignIn{Run: func(ctx context.Context, p config.Profile, show func(func() error) error) error {
			show(func() error { return nil })
			close(started)
			<-ctx.Done() // a user who never finishes
			return ctx.Err()
		}}
	})
	f.token()
	f.sf.RevokeUser("ALICE")
	f.clock.Advance(11 * time.Minute)
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("err %v", err)
	}
	<-started
	f.m.mu.Lock()
	s := f.m.signIns["prod"]
	f.m.mu.Unlock()
	if err := f.m.Reload("prod"); err != nil { // what login does first
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon's sign-in outlived the login's reload")
	}
}

// Issue #12: a profile keeps one token-endpoint client across refreshes
// (warm connections, the client secret read once), and a reload drops it.
func TestOneRefresherPerProfile(t *testing.T) {
	var built atomic.Int32
	f := newFixture(t, nil, nil)
	inner := f.m.opts.NewRefresher
	f.m.opts.NewRefresher = func(p config.Profile, c keychain.Credential) (Refresher, error) {
		built.Add(1)
		return inner(p, c)
	}
	for range 3 {
		if _, err := f.m.Token(context.Background(), Request{Profile: "prod", Force: true}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
	}
	if f.refreshes() != 3 || built.Load() != 1 {
		t.Fatalf("%d refreshes built %d clients; want 3 and 1", f.refreshes(), built.Load())
	}
	if err := f.m.Reload("prod"); err != nil {
		t.Fatal(err)
	}
	f.token()
	if built.Load() != 2 {
		t.Fatalf("after a reload: %d clients built, want 2", built.Load())
	}
	// What the client was built from changed (the CA file's certificates):
	// the next refresh builds it again.
	var caDigest atomic.Value
	caDigest.Store("a")
	f.m.opts.RefresherKey = func(config.Profile, keychain.Credential) string { return caDigest.Load().(string) }
	force := func() {
		t.Helper()
		f.clock.Advance(time.Minute)
		if _, err := f.m.Token(context.Background(), Request{Profile: "prod", Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	force()
	force()
	caDigest.Store("b")
	force()
	if built.Load() != 4 {
		t.Fatalf("after the CA file changed: %d clients built, want 4", built.Load())
	}
	// A failed refresh drops the client (a rotated client secret, a dead
	// connection): the next attempt builds a new one.
	f.sf.InjectTokenFaults(snowflaketest.Fault{Status: 503})
	f.clock.Advance(time.Minute)
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod", Force: true}); err == nil {
		t.Fatal("the injected fault did not fail the refresh")
	}
	force()
	if built.Load() != 5 {
		t.Fatalf("after a failed refresh: %d clients built, want 5", built.Load())
	}
}
