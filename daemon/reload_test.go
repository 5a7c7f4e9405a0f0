package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// swappableConfig is a LoadConfig whose answer a test changes.
type swappableConfig struct {
	mu  sync.Mutex
	cfg *config.File
}

func (s *swappableConfig) load() (*config.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg, nil
}

func (s *swappableConfig) set(profiles ...config.Profile) {
	cfg := &config.File{Profiles: map[string]config.Profile{}}
	for _, p := range profiles {
		if err := cfg.Put(p); err != nil {
			panic(err)
		}
	}
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
}

// Item 5 of the security issue: a config that moves a profile to another
// host (a hostile SFMCP_CONFIG a client entry pointed the daemon at) gets
// nothing: the stored sign-in is bound to the host that issued it, so the
// refresh token never reaches the other host's token endpoint, and a PAT is
// never handed out for it.
func TestCredentialBoundToItsHost(t *testing.T) {
	evil := snowflaketest.New(snowflaketest.Options{AutoApprove: "mallory"})
	t.Cleanup(evil.Close)
	cfgs := &swappableConfig{}
	f := newFixture(t, nil, func(o *Options) {
		o.LoadConfig = cfgs.load
		o.NewRefresher = func(p config.Profile, _ keychain.Credential) (Refresher, error) {
			ep, _ := p.Endpoint()
			return &oauth.Client{BaseURL: ep.URL(), ClientID: config.LocalApplication, HTTPClient: evil.Client()}, nil
		}
	})
	cfgs.set(config.Profile{Name: "prod", Account: "myorg-acct", Host: evil.Host()},
		config.Profile{Name: "ci", Account: "myorg-acct", Host: evil.Host(), Auth: config.AuthPAT})
	f.m.Reload("")
	f.store.creds["ci"] = keychain.Credential{Secret: "pat-secret", Kind: keychain.CredentialPAT, Host: "myorg-acct.snowflakecomputing.com"}
	for _, name := range []string{"prod", "ci"} {
		tok, err := f.m.Token(context.Background(), Request{Profile: name, Force: true})
		if !errors.Is(err, oauth.ErrLoginRequired) || tok.AccessToken != "" {
			t.Fatalf("profile %s moved to %s: %q, %v; want login required", name, evil.Host(), tok.AccessToken, err)
		}
		if !strings.Contains(err.Error(), evil.Host()) || !strings.Contains(err.Error(), "issued by") {
			t.Errorf("error %q does not name both hosts", err)
		}
	}
	if n := evil.Counters().Refreshes; n != 0 {
		t.Fatalf("the other host received %d token requests", n)
	}
	// An entry without a host (never written by sfmcp) is not trusted either.
	f.store.creds["ci"] = keychain.Credential{Secret: "pat-secret", Kind: keychain.CredentialPAT}
	cfgs.set(config.Profile{Name: "ci", Account: "myorg-acct", Auth: config.AuthPAT})
	f.m.Reload("ci")
	if _, err := f.m.Token(context.Background(), Request{Profile: "ci"}); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("a credential without a host was served: %v", err)
	}
}

// Item 8: requests for unknown profiles re-read the config but flush no
// cached token: 1,000 of them cause no token request.
func TestUnknownProfilesFlushNothing(t *testing.T) {
	f := newFixture(t, func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true }, nil)
	first := f.token()
	before := f.refreshes()
	for i := range 1000 {
		if _, err := f.m.Token(context.Background(), Request{Profile: fmt.Sprintf("nope%d", i)}); !errors.Is(err, config.ErrNoProfile) {
			t.Fatalf("unknown profile: %v", err)
		}
		if _, err := f.m.Token(context.Background(), Request{ServerURL: "https://evil.example/x"}); !errors.Is(err, config.ErrHostMismatch) {
			t.Fatalf("foreign server URL: %v", err)
		}
	}
	if err := f.m.Reload(""); err != nil {
		t.Fatal(err)
	}
	if got := f.token(); got.AccessToken != first.AccessToken {
		t.Error("the cached token was dropped")
	}
	if n := f.refreshes() - before; n != 0 {
		t.Fatalf("%d token requests after unknown-profile requests and a reload; want 0", n)
	}
}

// Item 8: a reload (an unknown profile, POST /v1/reload, or a change of the
// profile itself) while a refresh is at Snowflake must not lose the rotated
// single-use refresh token: the next refresh still works.
func TestReloadDuringRefreshKeepsRotatedToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reload func(f *fixture, cfgs *swappableConfig)
	}{
		{"unknown profile", func(f *fixture, _ *swappableConfig) {
			f.m.Token(context.Background(), Request{Profile: "nope"})
		}},
		{"reload all", func(f *fixture, _ *swappableConfig) { f.m.Reload("") }},
		{"profile changed", func(f *fixture, cfgs *swappableConfig) {
			cfgs.set(config.Profile{Name: "prod", Account: "myorg-acct", Host: f.sf.Host(), Role: "OTHER"})
			f.m.Reload("")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := &swappableConfig{}
			f := newFixture(t, func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true }, func(o *Options) { o.LoadConfig = cfgs.load })
			cfgs.set(config.Profile{Name: "prod", Account: "myorg-acct", Host: f.sf.Host()})
			f.m.Reload("")
			arrived, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			f.sf.OnTokenRequest(func(string) { once.Do(func() { close(arrived); <-release }) })
			result := make(chan error, 1)
			go func() {
				_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
				result <- err
			}()
			<-arrived
			tc.reload(f, cfgs)
			close(release)
			<-result // served, or ErrReloaded if the profile changed; either way nothing is lost
			rotated, err := f.store.Credential("prod")
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(3 * time.Second) // a forced refresh right after one is skipped
			if _, err := f.m.Token(context.Background(), Request{Profile: "prod", Force: true}); err != nil {
				t.Fatalf("the next refresh failed (was the rotated refresh token lost?): %v", err)
			}
			if after, _ := f.store.Credential("prod"); after.Secret == rotated.Secret {
				t.Error("the forced refresh did not rotate the token again")
			}
		})
	}
}

// Item 8: a reload invalidates only profiles whose definition changed.
func TestReloadInvalidatesOnlyChangedProfiles(t *testing.T) {
	cfgs := &swappableConfig{}
	f := newFixture(t, nil, func(o *Options) { o.LoadConfig = cfgs.load })
	prod := config.Profile{Name: "prod", Account: "myorg-acct", Host: f.sf.Host()}
	dev := config.Profile{Name: "dev", Account: "myorg-acct", Host: f.sf.Host(), Role: "DEV"}
	cfgs.set(prod, dev)
	f.m.Reload("")
	f.store.creds["dev"] = f.store.creds["prod"]
	cached := f.token()
	if _, err := f.m.Token(context.Background(), Request{Profile: "dev"}); err != nil {
		t.Fatal(err)
	}
	before := f.refreshes()
	dev.Role = "DEV2"
	cfgs.set(prod, dev)
	if err := f.m.Reload(""); err != nil {
		t.Fatal(err)
	}
	if got := f.token(); got.AccessToken != cached.AccessToken {
		t.Error("an unchanged profile lost its token")
	}
	if n := f.refreshes() - before; n != 0 {
		t.Fatalf("unchanged profile refreshed %d times", n)
	}
	if _, err := f.m.Token(context.Background(), Request{Profile: "dev"}); err != nil {
		t.Fatal(err)
	}
	if n := f.refreshes() - before; n != 1 {
		t.Fatalf("changed profile: %d token requests, want 1", n)
	}
}

// Review H2: extra_hosts in a config (one a project pointed the client at,
// through HOME or SFMCP_CONFIG) do not widen where a token goes; only the
// extra hosts recorded with the sign-in do.
func TestExtraHostsComeFromTheSignIn(t *testing.T) {
	cfgs := &swappableConfig{}
	f := newFixture(t, nil, func(o *Options) { o.LoadConfig = cfgs.load })
	cfgs.set(config.Profile{Name: "prod", Account: "myorg-acct", Host: f.sf.Host(), ExtraHosts: []string{"evil.example"}})
	f.m.Reload("")
	evilURL := "https://evil.example/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/M"
	for _, r := range []Request{{ServerURL: evilURL}, {Profile: "prod", ServerURL: evilURL}} {
		if tok, err := f.m.Token(context.Background(), r); !errors.Is(err, config.ErrHostMismatch) || tok.AccessToken != "" || !strings.Contains(err.Error(), "next sign-in") {
			t.Fatalf("%+v: %q, %v; want a refusal that says to sign in again (the sign-in never allowed evil.example)", r, tok.AccessToken, err)
		}
	}
	// A sign-in made with that extra host (recorded at login) allows it.
	f.store.mu.Lock()
	c := f.store.creds["prod"]
	c.ExtraHosts = []string{"evil.example"}
	f.store.creds["prod"] = c
	f.store.mu.Unlock()
	f.m.Reload("prod")
	if tok, err := f.m.Token(context.Background(), Request{ServerURL: evilURL}); err != nil || tok.AccessToken == "" {
		t.Fatalf("an extra host recorded with the sign-in: %v", err)
	}
}
