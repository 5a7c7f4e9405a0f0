package signin

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// standIn is a Snowflake stand-in over real TLS, trusted only through a
// ca_file, with a file store and a leak check over what the test saw.
type standIn struct {
	sf    *snowflaketest.Server
	store *keychain.Store
	leaks *snowflaketest.Leaks
	ca    string // the stand-in's CA bundle
	p     config.Profile
}

func newStandIn(t *testing.T, opts snowflaketest.Options) *standIn {
	t.Helper()
	sf := snowflaketest.New(opts)
	t.Cleanup(sf.Close)
	dir := t.TempDir()
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{sf: sf, store: store, leaks: &snowflaketest.Leaks{}, ca: filepath.Join(dir, "ca.pem"),
		p: config.Profile{Name: "prod", Host: sf.Host(), Role: "mcp_users"}}
	if err := os.WriteFile(s.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sf.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s.leaks.Watch(sf)
	t.Cleanup(func() { s.leaks.Assert(t) })
	return s
}

// flow is a Flow over the network that trusts the stand-in (ca_file),
// whose browser is open.
func (s *standIn) flow(t *testing.T, open func(string) error) *Flow {
	t.Helper()
	network, err := netconf.FromConfig(&config.File{CAFile: s.ca})
	if err != nil {
		t.Fatal(err)
	}
	return &Flow{Store: s.store, Network: network, Timeout: 10 * time.Second, Open: open,
		Announce: func(startURL, _ string) { s.leaks.Record("announce", startURL) }}
}

// browser is a browser on this machine with a Snowflake session: it opens
// the start page and follows the redirects to the callback.
func (s *standIn) browser(startURL string) error {
	_, _, err := s.sf.Visit(startURL)
	return err
}

// run runs f and records its error for the leak check.
func (s *standIn) run(ctx context.Context, f *Flow, p config.Profile) (string, error) {
	user, err := f.Run(ctx, p)
	if err != nil {
		s.leaks.Record("error", err.Error())
	}
	return user, err
}

// A sign-in stores the refresh token with what it was made for: host,
// client, scopes, the granted role, the user, the network and the time.
func TestFlowStoresTheSignIn(t *testing.T) {
	s := newStandIn(t, snowflaketest.Options{AutoApprove: "ALICE", ExtraTokenFields: true})
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	f := s.flow(t, s.browser)
	f.Now = func() time.Time { return at }
	var starts []string
	f.Announce = func(startURL, _ string) { starts = append(starts, startURL) }
	user, err := s.run(context.Background(), f, s.p)
	if err != nil || user != snowflaketest.DefaultUser {
		t.Fatalf("Run: user %q, %v", user, err)
	}
	cred, err := s.store.Credential("prod")
	if err != nil {
		t.Fatal(err)
	}
	if cred.Secret == "" || cred.Kind != keychain.CredentialOAuth || cred.Host != s.sf.Host() || cred.ClientID != config.LocalApplication ||
		!slices.Equal(cred.Scopes, s.p.OAuthScopes()) || cred.User != "ALICE" || cred.Role != "MCP_USERS" {
		t.Errorf("stored %v: client %s, scopes %v, role %s", cred, cred.ClientID, cred.Scopes, cred.Role)
	}
	if !cred.ObtainedAt.Equal(at) || cred.ObtainedAt.Location() != time.UTC || cred.SecretExpiresAt.IsZero() {
		t.Errorf("obtained %v, expires %v", cred.ObtainedAt, cred.SecretExpiresAt)
	}
	if !cred.NetworkRecorded || netconf.Of(cred) != f.Network {
		t.Errorf("network recorded %v: %+v, want %+v", cred.NetworkRecorded, netconf.Of(cred), f.Network)
	}
	if len(starts) != 1 || s.sf.Counters().CodeExchanges != 1 {
		t.Errorf("announced %d start pages, %d code exchanges", len(starts), s.sf.Counters().CodeExchanges)
	}
}

// Over SSH the user opens Snowflake's URL on another machine and pastes
// back the address its browser was sent to; a stray line is refused
// without ending the sign-in.
func TestFlowTakesThePastedAddress(t *testing.T) {
	s := newStandIn(t, snowflaketest.Options{AutoApprove: "ALICE"})
	opened := false
	f := s.flow(t, func(string) error { opened = true; return nil })
	f.Remote = true
	authURLs := make(chan string, 1)
	f.Announce = func(_, authURL string) { authURLs <- authURL }
	var refused atomic.Int32
	f.PasteRefused = func(error) { refused.Add(1) }
	lines := 0
	f.Paste = func(ctx context.Context) (string, error) {
		lines++
		if lines == 1 {
			return "https://example.com/not-the-callback", nil
		}
		select {
		case u := <-authURLs:
			return s.sf.RemoteBrowser(u)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if user, err := s.run(context.Background(), f, s.p); err != nil || user != "ALICE" {
		t.Fatalf("Run: %q, %v", user, err)
	}
	if refused.Load() != 1 {
		t.Errorf("%d pasted lines refused, want 1", refused.Load())
	}
	if opened {
		t.Error("a browser was opened on this machine for a user at another")
	}
	if _, err := s.store.Credential("prod"); err != nil {
		t.Errorf("nothing stored: %v", err)
	}
}

// A sign-in sfmcp must not or cannot keep stores nothing, and says why
// with a type the caller words.
func TestFlowRefusals(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    snowflaketest.Options
		setup   func(*standIn, *Flow, *config.Profile, context.CancelFunc)
		check   func(error) bool
		browser bool // whether the browser was sent to Snowflake
	}{
		{"another user", snowflaketest.Options{AutoApprove: "ALICE"}, func(_ *standIn, _ *Flow, p *config.Profile, _ context.CancelFunc) { p.User = "bob" },
			func(err error) bool {
				var wrong *WrongUserError
				return errors.As(err, &wrong) && wrong.Got == "ALICE" && wrong.Want == "bob" && wrong.Profile == "prod"
			}, true},
		{"no refresh token", snowflaketest.Options{AutoApprove: "ALICE"}, func(s *standIn, _ *Flow, _ *config.Profile, _ context.CancelFunc) {
			s.sf.UpdateIntegration(config.LocalApplication, func(in *snowflaketest.Integration) { in.DoNotIssueRefresh = true })
		}, func(err error) bool { return errors.Is(err, ErrNoRefreshToken) }, true},
		{"denied", snowflaketest.Options{}, func(s *standIn, f *Flow, _ *config.Profile, _ context.CancelFunc) {
			f.Open = func(startURL string) error {
				authURL, err := s.sf.AuthorizeURL(startURL)
				if err == nil {
					_, _, err = s.sf.SignIn(authURL, snowflaketest.DefaultUser, snowflaketest.DefaultPassword, false)
				}
				return err
			}
		}, func(err error) bool {
			var authz *AuthorizeError
			return errors.As(err, &authz) && errors.Is(err, oauth.ErrAccessDenied)
		}, true},
		{"interrupted", snowflaketest.Options{}, func(_ *standIn, f *Flow, _ *config.Profile, cancel context.CancelFunc) {
			f.Open = func(string) error { cancel(); return nil }
		}, func(err error) bool {
			var authz *AuthorizeError
			return errors.As(err, &authz) && errors.Is(err, context.Canceled)
		}, false},
		{"confidential client without its secret", snowflaketest.Options{AutoApprove: "ALICE"}, func(_ *standIn, _ *Flow, p *config.Profile, _ context.CancelFunc) {
			p.ClientID, p.ClientType = "SFMCP_CONFIDENTIAL", config.ClientConfidential
		}, func(err error) bool {
			var none *NoClientSecretError
			return errors.As(err, &none) && none.Profile == "prod"
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStandIn(t, c.opts)
			f, p := s.flow(t, s.browser), s.p
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c.setup(s, f, &p, cancel)
			_, err := s.run(ctx, f, p)
			if !c.check(err) {
				t.Fatalf("err %v (%T)", err, err)
			}
			if _, err := s.store.Credential("prod"); !errors.Is(err, keychain.ErrNotFound) {
				t.Errorf("something was stored (%v)", err)
			}
			if got := s.sf.Counters().Authorize > 0; got != c.browser {
				t.Errorf("browser sent to Snowflake: %v, want %v", got, c.browser)
			}
		})
	}
}

// The renewal the daemon opens signs in as the last sign-in was made,
// over its recorded network, whatever the flow was given; a config that
// asks for another network gets no browser opened.
func TestRenewSignsInAsMade(t *testing.T) {
	home := accountHome(t)
	s := newStandIn(t, snowflaketest.Options{AutoApprove: "ALICE"})
	if _, err := s.run(context.Background(), s.flow(t, s.browser), s.p); err != nil {
		t.Fatal(err)
	}
	first, _ := s.store.Credential("prod")
	cfgPath := filepath.Join(t.TempDir(), "config.toml")
	writeConfig := func(extra string) {
		t.Helper()
		body := "ca_file = " + strconv.Quote(s.ca) + "\n" + extra + "[profiles.prod]\nhost = " + strconv.Quote(s.sf.Host()) + "\n"
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("")
	r := &Renewal{Store: s.store, Home: home, Config: func() (*config.File, error) { return config.Load(cfgPath) }}
	var opened atomic.Int32
	// A flow that by itself could not reach the stand-in: Renew gives it
	// the recorded network.
	f := Flow{Store: s.store, HTTPClient: http.DefaultClient, Timeout: 10 * time.Second,
		Open: func(u string) error { opened.Add(1); return s.browser(u) }}
	if err := r.Renew(context.Background(), f, s.p); err != nil {
		s.leaks.Record("error", err.Error())
		t.Fatalf("Renew: %v", err)
	}
	renewed, _ := s.store.Credential("prod")
	if opened.Load() != 1 || renewed.Secret == first.Secret || renewed.User != "ALICE" || netconf.Of(renewed) != netconf.Of(first) || !renewed.NetworkRecorded {
		t.Errorf("opened %d; renewed %v over %+v, first over %+v", opened.Load(), renewed, netconf.Of(renewed), netconf.Of(first))
	}
	writeConfig("https_proxy = \"http://127.0.0.1:9\"\n")
	err := r.Renew(context.Background(), f, s.p)
	if err == nil || err.Error() != r.Why(s.p) || opened.Load() != 1 {
		t.Errorf("a config with another network: %v (opened %d)", err, opened.Load())
	}
}

// The daemon refreshes a sign-in over the network recorded with it: the
// pinned ca_file while it holds the same certificates; a sign-in from
// before sfmcp recorded networks is told that a new sign-in is the cure.
func TestRefresherUsesTheRecordedNetwork(t *testing.T) {
	s := newStandIn(t, snowflaketest.Options{AutoApprove: "ALICE"})
	if _, err := s.run(context.Background(), s.flow(t, s.browser), s.p); err != nil {
		t.Fatal(err)
	}
	cred, _ := s.store.Credential("prod")
	servers := Servers{Secrets: s.store}
	const advice = "run: sfmcp-token login --profile prod"
	refresh := func(c keychain.Credential) error {
		r, err := servers.Refresher(s.p, c, advice)
		if err == nil {
			_, err = r.Refresh(context.Background(), c.Secret)
		}
		if err != nil {
			s.leaks.Record("refresh error", err.Error())
		}
		return err
	}
	if err := refresh(cred); err != nil || s.sf.Counters().Refreshes != 1 {
		t.Fatalf("refresh over the recorded network: %v", err)
	}
	changed := cred
	changed.CAFileSHA256 = "the digest of other certificates"
	if err := refresh(changed); !errors.Is(err, netconf.ErrCAChanged) {
		t.Errorf("a changed ca_file: %v", err)
	}
	legacy := cred
	legacy.NetworkRecorded, legacy.CAFile, legacy.CAFileSHA256 = false, "", ""
	if err := refresh(legacy); err == nil || !strings.Contains(err.Error(), "before sfmcp recorded ca_file") || !strings.Contains(err.Error(), advice) {
		t.Errorf("a sign-in from before recorded networks: %v", err)
	}
	if s.sf.Counters().Refreshes != 1 {
		t.Errorf("%d refreshes reached the stand-in, want 1", s.sf.Counters().Refreshes)
	}
}
