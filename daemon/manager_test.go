package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// memStore is an in-memory Store that records the order of events.
type memStore struct {
	mu      sync.Mutex
	creds   map[string]keychain.Credential
	events  []string
	failSet error
}

func (s *memStore) Credential(p string) (keychain.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[p]
	if !ok {
		return c, keychain.ErrNotFound
	}
	return c, nil
}

func (s *memStore) SaveCredential(p string, c keychain.Credential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSet != nil {
		return s.failSet
	}
	s.creds[p] = c
	s.events = append(s.events, "save")
	return nil
}

func (s *memStore) ReplaceCredential(p, old string, c keychain.Credential) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSet != nil {
		return false, s.failSet
	}
	if cur, ok := s.creds[p]; !ok || cur.Secret != old {
		s.events = append(s.events, "save skipped")
		return false, nil
	}
	s.creds[p] = c
	s.events = append(s.events, "save")
	return true, nil
}

func (s *memStore) record(ev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}

// fakeClock is a wall clock and a monotonic one that tests move by hand.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	mono time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

// Advance moves both clocks, as time passes while the machine is awake.
func (c *fakeClock) Advance(d time.Duration) { c.Jump(d, d) }

// Jump moves the wall clock by wall and the monotonic one by mono; a
// machine that sleeps moves the first much more.
func (c *fakeClock) Jump(wall, mono time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(wall)
	c.mono += mono
}

type fixture struct {
	t        *testing.T
	sf       *snowflaketest.Server
	store    *memStore
	m        *Manager
	clock    *fakeClock
	logs     *syncBuffer
	refreshd chan error // one value per finished refresh attempt
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// newFixture signs ALICE in at a stand-in (profile "prod") and returns a
// Manager over an in-memory store.
func newFixture(t *testing.T, in func(*snowflaketest.Integration), opts func(*Options)) *fixture {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice", ExtraTokenFields: true})
	t.Cleanup(sf.Close)
	if in != nil {
		sf.UpdateIntegration("LOCAL_APPLICATION", in)
	}
	return newFixtureOn(t, sf, opts)
}

// newFixtureOn is newFixture on a given stand-in.
func newFixtureOn(t *testing.T, sf *snowflaketest.Server, opts func(*Options)) *fixture {
	client := func() *oauth.Client {
		return &oauth.Client{BaseURL: sf.URL, ClientID: config.LocalApplication, Scopes: []string{"refresh_token", "session:role:MCP_USERS"}, HTTPClient: sf.Client()}
	}
	login := &oauth.Login{Client: client(), Timeout: 10 * time.Second, Open: func(u string) error { _, _, err := sf.Visit(u); return err }}
	tok, err := login.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, sf: sf, clock: &fakeClock{t: time.Now()}, logs: &syncBuffer{}, refreshd: make(chan error, 100)}
	f.store = &memStore{creds: map[string]keychain.Credential{"prod": {Secret: tok.RefreshToken, Kind: keychain.CredentialOAuth, Host: sf.Host(), User: "ALICE", Role: "MCP_USERS"}}}
	cfg := &config.File{Profiles: map[string]config.Profile{}}
	cfg.Put(config.Profile{Name: "prod", Account: "myorg-acct", Host: sf.Host()})
	o := Options{
		Store:        f.store,
		LoadConfig:   func() (*config.File, error) { return cfg, nil },
		NewRefresher: func(config.Profile, keychain.Credential) (Refresher, error) { return client(), nil },
		Log:          slog.New(slog.NewTextHandler(f.logs, nil)),
		Now:          f.clock.Now,
		Elapsed:      f.clock.Elapsed,
		OnRefreshed:  func(_ string, err error) { f.refreshd <- err },
	}
	if opts != nil {
		opts(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m, err := NewManager(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	t.Cleanup(func() {
		cancel()
		m.Close()
		var leaks snowflaketest.Leaks
		leaks.Watch(sf)
		leaks.Record("the daemon log", f.logs.String())
		leaks.Assert(t)
	})
	return f
}

func (f *fixture) token() Token {
	f.t.Helper()
	tok, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// waitRefresh waits for the next refresh attempt to finish.
func (f *fixture) waitRefresh() error {
	f.t.Helper()
	select {
	case err := <-f.refreshd:
		return err
	case <-time.After(10 * time.Second):
		f.t.Fatal("no refresh happened")
		return nil
	}
}

func (f *fixture) refreshes() int { return f.sf.Counters().Refreshes }

func TestRefreshMargin(t *testing.T) {
	for life, want := range map[time.Duration]time.Duration{
		600 * time.Second:  120 * time.Second,
		60 * time.Second:   12 * time.Second,
		3600 * time.Second: 120 * time.Second,
		300 * time.Second:  60 * time.Second,
	} {
		if got := refreshMargin(life); got != want {
			t.Errorf("refreshMargin(%s) = %s, want %s", life, got, want)
		}
	}
}

func TestRefreshAheadOfExpiry(t *testing.T) {
	for _, tc := range []struct {
		validity, before, after time.Duration
	}{
		{600 * time.Second, 479 * time.Second, 481 * time.Second},
		{60 * time.Second, 47 * time.Second, 49 * time.Second},
	} {
		t.Run(tc.validity.String(), func(t *testing.T) {
			f := newFixture(t, func(in *snowflaketest.Integration) { in.AccessTokenValidity = tc.validity }, nil)
			first := f.token()
			if err := f.waitRefresh(); err != nil {
				t.Fatal(err)
			}
			if f.refreshes() != 1 || first.TokenType != "OAUTH" || !first.ExpiresAt.Equal(f.clock.Now().Add(tc.validity)) {
				t.Fatalf("first token: %+v, refreshes %d", first, f.refreshes())
			}
			f.clock.Advance(tc.before)
			if tok := f.token(); tok.AccessToken != first.AccessToken || f.refreshes() != 1 {
				t.Fatalf("refreshed too early (at %s of %s)", tc.before, tc.validity)
			}
			f.clock.Advance(tc.after - tc.before)
			// Inside the margin: the cached token is still served at once,
			// and a refresh starts in the background.
			if tok := f.token(); tok.AccessToken != first.AccessToken {
				t.Fatal("a still-valid token was not served from the cache")
			}
			if err := f.waitRefresh(); err != nil {
				t.Fatal(err)
			}
			if f.refreshes() != 2 {
				t.Fatalf("refreshes = %d, want 2", f.refreshes())
			}
			if tok := f.token(); tok.AccessToken == first.AccessToken {
				t.Fatal("the refreshed token is not served")
			}
		})
	}
}

func TestBackgroundRefreshWithoutRequests(t *testing.T) {
	// Real time here: a 1 s token is renewed 0.2 s before expiry by the
	// daemon's own timer, with no request asking for it.
	f := newFixture(t, func(in *snowflaketest.Integration) { in.AccessTokenValidity = time.Second }, func(o *Options) { o.Now = time.Now })
	first := f.token()
	f.waitRefresh()
	if err := f.waitRefresh(); err != nil {
		t.Fatal(err)
	}
	if tok := f.token(); tok.AccessToken == first.AccessToken || f.refreshes() < 2 {
		t.Fatal("the background timer did not renew the token")
	}
}

func TestRotatedRefreshTokenSavedBeforeHandOut(t *testing.T) {
	f := newFixture(t, func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true }, nil)
	original, _ := f.store.Credential("prod")
	f.token()
	f.store.record("handout")
	saved, _ := f.store.Credential("prod")
	if saved.Secret == original.Secret {
		t.Fatal("the rotated refresh token was not saved")
	}
	if got := strings.Join(f.store.events, ","); got != "save,handout" {
		t.Fatalf("events = %s, want save before handout", got)
	}
	if saved.User != "ALICE" || saved.Role != "MCP_USERS" || saved.SecretExpiresAt.IsZero() {
		t.Fatalf("metadata lost on rotation: %v", saved)
	}
	// The saved token is the live one: a forced refresh with it works and
	// the family is intact.
	f.clock.Advance(time.Minute)
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod", Force: true}); err != nil {
		t.Fatal(err)
	}
	if c := f.sf.Counters(); c.FamiliesRevoked != 0 || c.RefreshRotations != 2 {
		t.Fatalf("counters %+v", c)
	}
}

func TestRotatedTokenKeptWhenKeychainFails(t *testing.T) {
	f := newFixture(t, func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true }, nil)
	f.store.failSet = keychain.ErrUnavailable
	_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	if !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("err = %v, want the keychain failure", err)
	}
	f.store.mu.Lock()
	f.store.failSet = nil
	f.store.mu.Unlock()
	f.clock.Advance(2 * time.Minute) // past the backoff
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); err != nil {
		t.Fatalf("after the keychain came back: %v", err)
	}
	if f.sf.Counters().FamiliesRevoked != 0 {
		t.Fatal("the unsaved rotated token was lost and the old one reused")
	}
}

func TestBackoffKeepsServingCachedToken(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) {
		// Hours, so the real-time retry timer never fires in this test;
		// the fake clock decides when attempts are due.
		o.BackoffBase, o.BackoffMax = time.Hour, 4*time.Hour
	})
	first := f.token()
	f.waitRefresh()
	f.sf.InjectTokenFaults(snowflaketest.Fault{Status: 503}, snowflaketest.Fault{Status: 500}, snowflaketest.Fault{Drop: true})
	f.clock.Advance(481 * time.Second)
	for attempt := 1; attempt <= 3; attempt++ {
		if tok := f.token(); tok.AccessToken != first.AccessToken {
			t.Fatalf("attempt %d: cached token not served", attempt)
		}
		if err := f.waitRefresh(); err == nil {
			t.Fatalf("attempt %d: the injected fault did not fail the refresh", attempt)
		}
		before := f.sf.Counters().TokenRequests
		// Within the backoff no new attempt is made, whatever the load.
		for range 20 {
			if tok := f.token(); tok.AccessToken != first.AccessToken {
				t.Fatal("cached token not served during backoff")
			}
		}
		if f.sf.Counters().TokenRequests != before {
			t.Fatalf("attempt %d: requests during the backoff hit Snowflake", attempt)
		}
		f.clock.Advance(30 * time.Second) // well inside the access token's life
		f.m.mu.Lock()
		f.m.entries["prod"].nextAttempt = f.clock.Now() // the backoff elapsed
		f.m.mu.Unlock()
	}
	f.token() // due and allowed: kicks the refresh that now succeeds
	if err := f.waitRefresh(); err != nil {
		t.Fatalf("recovery: %v", err)
	}
	if tok := f.token(); tok.AccessToken == first.AccessToken {
		t.Fatal("no new token after recovery")
	}
}

func TestBackoffGrows(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.BackoffBase, o.BackoffMax = time.Second, 8*time.Second })
	p := config.Profile{Name: "prod"}
	var last time.Duration
	for i := 1; i <= 6; i++ {
		f.m.failed(p, errors.New("boom"))
		f.m.mu.Lock()
		d := f.m.entries["prod"].nextAttempt.Sub(f.clock.Now())
		f.m.mu.Unlock()
		ceiling := min(time.Second<<(i-1), 8*time.Second)
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("failure %d: wait %s outside [%s, %s]", i, d, ceiling/2, ceiling)
		}
		last = d
	}
	if last < 4*time.Second {
		t.Fatalf("backoff did not grow to the cap: %s", last)
	}
}

func TestExpiredAndUnavailable(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.RefreshTimeout = 300 * time.Millisecond })
	f.sf.InjectTokenFaults(snowflaketest.Fault{Hang: true})
	_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	if !errors.Is(err, oauth.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	// Fail fast inside the backoff window.
	before := f.sf.Counters().TokenRequests
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); !errors.Is(err, oauth.ErrUnavailable) {
		t.Fatalf("second call: %v", err)
	}
	if f.sf.Counters().TokenRequests != before {
		t.Fatal("a call inside the backoff reached Snowflake")
	}
}

func TestInvalidGrantIsStickyUntilReload(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.sf.RevokeUser("alice")
	_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
	if !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("err = %v, want oauth.ErrLoginRequired", err)
	}
	before := f.sf.Counters().TokenRequests
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatal(err)
	}
	if f.sf.Counters().TokenRequests != before {
		t.Fatal("a profile needing login kept asking Snowflake")
	}
	f.m.Reload("prod")
	f.m.Token(context.Background(), Request{Profile: "prod"})
	if f.sf.Counters().TokenRequests != before+1 {
		t.Fatal("reload did not let the profile try again")
	}
}

func TestNoSignIn(t *testing.T) {
	f := newFixture(t, nil, nil)
	delete(f.store.creds, "prod")
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.m.Token(context.Background(), Request{Profile: "nope"}); !errors.Is(err, config.ErrNoProfile) {
		t.Fatalf("unknown profile: %v", err)
	}
}

func TestPATProfileServedAsIs(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) {
		cfg := &config.File{Profiles: map[string]config.Profile{}}
		cfg.Put(config.Profile{Name: "runner", Account: "myorg-acct", Auth: config.AuthPAT})
		o.LoadConfig = func() (*config.File, error) { return cfg, nil }
	})
	f.store.creds["runner"] = keychain.Credential{Secret: "pat-secret", Kind: keychain.CredentialPAT, Host: "myorg-acct.snowflakecomputing.com", SecretExpiresAt: time.Now().Add(48 * time.Hour)}
	tok, err := f.m.Token(context.Background(), Request{Profile: "runner"})
	if err != nil || tok.AccessToken != "pat-secret" || tok.TokenType != config.TokenPAT {
		t.Fatalf("PAT token %+v, %v", tok, err)
	}
	if f.sf.Counters().Refreshes != 0 {
		t.Fatal("a PAT profile called the token endpoint")
	}
}

func TestRefusedTokenRenewedOnce(t *testing.T) {
	f := newFixture(t, nil, nil)
	first := f.token()
	f.waitRefresh()
	refused := Fingerprint(first.AccessToken)
	var wg sync.WaitGroup
	got := make([]Token, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = f.m.Token(context.Background(), Request{Profile: "prod", Refused: refused})
		}()
	}
	wg.Wait()
	if f.refreshes() != 2 {
		t.Fatalf("refreshes = %d, want 2 (login's first plus one for the refused token)", f.refreshes())
	}
	for _, tok := range got {
		if tok.AccessToken == first.AccessToken || tok.AccessToken != got[0].AccessToken {
			t.Fatal("callers did not all get the one new token")
		}
	}
	// Refusing a token that is no longer cached changes nothing.
	if tok, _ := f.m.Token(context.Background(), Request{Profile: "prod", Refused: refused}); tok.AccessToken != got[0].AccessToken || f.refreshes() != 2 {
		t.Fatal("a stale refusal caused another refresh")
	}
}

func TestExpiryWarningOncePerDay(t *testing.T) {
	warned := make(chan time.Duration, 10)
	f := newFixture(t, nil, func(o *Options) { o.ExpiryWarning = func(_ string, left time.Duration) { warned <- left } })
	c := f.store.creds["prod"]
	c.SecretExpiresAt = f.clock.Now().Add(3*24*time.Hour + time.Hour)
	f.store.creds["prod"] = c
	f.token()
	f.waitRefresh()
	select {
	case left := <-warned:
		if int(left.Hours()/24) != 3 {
			t.Fatalf("warned with %s left", left)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no expiry warning")
	}
	if !strings.Contains(f.logs.String(), "sign-in expires soon") || !strings.Contains(f.logs.String(), "days_left=3") {
		t.Fatalf("no log line:\n%s", f.logs.String())
	}
	f.clock.Advance(10 * time.Minute)
	f.m.Token(context.Background(), Request{Profile: "prod", Force: true})
	f.waitRefresh()
	f.clock.Advance(25 * time.Hour)
	f.m.Token(context.Background(), Request{Profile: "prod", Force: true})
	f.waitRefresh()
	// One more warning (the next day), not two: the log line is written
	// synchronously with the refresh, so it can be counted now.
	if n := strings.Count(f.logs.String(), "sign-in expires soon"); n != 2 {
		t.Fatalf("%d warnings in the log, want 2 (first refresh, then a day later)", n)
	}
}

// Options.SignIn: nil, or one with nothing to run, never opens a sign-in;
// the grace defaults to 2 s without changing the caller's struct.
func TestSignInOptions(t *testing.T) {
	run := func(context.Context, config.Profile, func(func() error) error) error { return nil }
	for name, c := range map[string]struct {
		in    *SignIn
		grace time.Duration // 0: no SignIn
	}{
		"none":           {},
		"without Run":    {in: &SignIn{May: func(config.Profile) string { return "" }}},
		"the grace left": {in: &SignIn{Run: run}, grace: 2 * time.Second},
		"a grace given":  {in: &SignIn{Run: run, OpenGrace: time.Millisecond}, grace: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			var given SignIn
			if c.in != nil {
				given = *c.in
			}
			m, err := NewManager(context.Background(), Options{SignIn: c.in, LoadConfig: func() (*config.File, error) { return &config.File{}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.opts.SignIn; c.grace == 0 && got != nil || c.grace != 0 && (got == nil || got.OpenGrace != c.grace) {
				t.Fatalf("SignIn %+v, want grace %s", got, c.grace)
			}
			if c.in != nil && c.in.OpenGrace != given.OpenGrace {
				t.Fatal("the caller's SignIn was changed")
			}
		})
	}
}
