package daemon

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// probeStandIn signs ALICE in at a stand-in and returns it, her access
// token and the MCP server's URL.
func probeStandIn(t *testing.T) (*snowflaketest.Server, Token, string) {
	t.Helper()
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "ALICE"})
	t.Cleanup(sf.Close)
	c := &oauth.Client{BaseURL: sf.URL, ClientID: config.LocalApplication, Scopes: []string{"refresh_token"}, HTTPClient: sf.Client()}
	tok, err := (&oauth.Login{Client: c, Timeout: 10 * time.Second, Open: func(u string) error { _, _, err := sf.Visit(u); return err }}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sf, Token{AccessToken: tok.AccessToken, TokenType: config.TokenOAuth}, sf.URL + snowflaketest.DefaultMCPServer().MCPPath()
}

// Only a 401 is a refusal: a token the server takes, and a server that
// fails, are not.
func TestProbeRefusedOnlyBy401(t *testing.T) {
	sf, tok, url := probeStandIn(t)
	pr := &Prober{HTTPClient: sf.Client()}
	refused := func(tk Token) bool {
		t.Helper()
		r, err := pr.Refused(context.Background(), config.Profile{Name: "prod"}, keychain.Credential{}, url, tk)
		if err != nil {
			t.Fatalf("the stand-in did not answer: %v", err)
		}
		return r
	}
	if refused(tok) {
		t.Error("a valid token was refused")
	}
	if !refused(Token{AccessToken: "not-a-token", TokenType: config.TokenOAuth}) {
		t.Error("an unknown token was taken")
	}
	sf.FailMCP(http.StatusServiceUnavailable, 1)
	if refused(tok) {
		t.Error("a failing server counted as a refusal")
	}
	if c := sf.Counters(); c.MCPRequests != 3 || c.MCPUnauthorized != 1 {
		t.Errorf("stand-in saw %d MCP requests, %d unauthorized", c.MCPRequests, c.MCPUnauthorized)
	}
}

// The probe sends the token to the server it was given for, never where a
// redirect points.
func TestProbeFollowsNoRedirect(t *testing.T) {
	var reached atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()
	refused, err := (&Prober{HTTPClient: redirector.Client()}).Refused(context.Background(), config.Profile{}, keychain.Credential{}, redirector.URL, Token{AccessToken: "x"})
	if err != nil || refused || reached.Load() != 0 {
		t.Fatalf("refused %v, %v; the redirect target was reached %d times", refused, err, reached.Load())
	}
}

// Without an injected client, probes go over the network recorded with
// the sign-in (its pinned ca_file), one client per network.
func TestProbeUsesTheSignInsNetwork(t *testing.T) {
	sf, tok, url := probeStandIn(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sf.Certificate().Raw})
	if err := os.WriteFile(ca, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	cred := keychain.Credential{NetworkRecorded: true, CAFile: ca, CAFileSHA256: netconf.CADigest(bundle)}
	pr := &Prober{}
	for range 2 {
		if refused, err := pr.Refused(context.Background(), config.Profile{}, cred, url, tok); err != nil || refused {
			t.Fatalf("refused %v, %v", refused, err)
		}
	}
	if len(pr.clients) != 1 {
		t.Errorf("%d clients for one network", len(pr.clients))
	}
	cred.CAFileSHA256 = "the digest of other certificates"
	if _, err := pr.Refused(context.Background(), config.Profile{}, cred, url, tok); !errors.Is(err, netconf.ErrCAChanged) {
		t.Errorf("a changed ca_file: %v", err)
	}
}
