package snowflake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/oauth"
)

// standInCreds signs in at the stand-in and refreshes when told a token was
// refused.
type standInCreds struct {
	mu       sync.Mutex
	client   *oauth.Client
	refresh  string
	access   string
	refusals int
}

func (c *standInCreds) Token(ctx context.Context, refused string) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if refused != "" || c.access == "" {
		if refused != "" {
			c.refusals++
		}
		t, err := c.client.Refresh(ctx, c.refresh)
		if err != nil {
			return "", "", err
		}
		c.access = t.AccessToken
	}
	return c.access, "OAUTH", nil
}

func newAPI(t *testing.T, opts snowflaketest.Options) (*Client, *snowflaketest.Server, *standInCreds) {
	opts.AutoApprove = snowflaketest.DefaultUser
	sf := snowflaketest.New(opts)
	t.Cleanup(sf.Close)
	oc := &oauth.Client{BaseURL: sf.URL, ClientID: "LOCAL_APPLICATION", Scopes: []string{"refresh_token"}, HTTPClient: sf.Client()}
	l := &oauth.Login{Client: oc, Timeout: 10 * time.Second, Open: func(u string) error { _, _, err := sf.Visit(u); return err }}
	tok, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds := &standInCreds{client: oc, refresh: tok.RefreshToken}
	return &Client{BaseURL: sf.URL, HTTPClient: sf.Client(), Creds: creds, UserAgent: "sfmcp-test/1", PollInterval: 5 * time.Millisecond}, sf, creds
}

func TestExecSyncAndAsync(t *testing.T) {
	for _, async := range []bool{false, true} {
		api, _, _ := newAPI(t, snowflaketest.Options{AsyncSQL: async})
		res, err := api.Exec(context.Background(), "SELECT CURRENT_USER()")
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := res.Column(0, "current_user()"); !ok || v != "ALICE" {
			t.Fatalf("async=%v: %+v", async, res)
		}
	}
}

func TestExecRefreshesOnceOn401(t *testing.T) {
	api, sf, creds := newAPI(t, snowflaketest.Options{})
	if _, err := api.Exec(context.Background(), "SELECT CURRENT_USER()"); err != nil {
		t.Fatal(err)
	}
	sf.RevokeAccessTokens()
	if _, err := api.Exec(context.Background(), "SELECT CURRENT_USER()"); err != nil || creds.refusals != 1 {
		t.Fatalf("after revocation: %v, %d refusals", err, creds.refusals)
	}
	sf.RevokeUser("alice")
	_, err := api.Exec(context.Background(), "SELECT CURRENT_USER()")
	if err == nil {
		t.Fatal("a revoked sign-in still ran SQL")
	}
}

func TestExecErrors(t *testing.T) {
	api, sf, _ := newAPI(t, snowflaketest.Options{})
	_, err := api.Exec(context.Background(), "FROBNICATE THE DATABASE")
	if !IsCode(err, "001003") || !strings.Contains(err.Error(), "SQL compilation error") {
		t.Fatalf("422: %v", err)
	}
	// 503 then success: retried with the same requestId and retry=true.
	sf.FailSQL(503, 1)
	if _, err := api.Exec(context.Background(), "SELECT CURRENT_USER()"); err != nil {
		t.Fatalf("503 not retried: %v", err)
	}
}

// TestExecFollowsStatusURLOnlyToItsOrigin: a 202 whose statementStatusUrl
// leads to another host ("@host/x" once made BaseURL@host/x) is refused,
// and no request, so no admin token, leaves for that host.
func TestExecFollowsStatusURLOnlyToItsOrigin(t *testing.T) {
	var evilHits atomic.Int32
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"code":"090001","data":[["stolen"]],"resultSetMetaData":{"rowType":[{"name":"x"}]}}`))
	}))
	defer evil.Close()
	evilHost := strings.TrimPrefix(evil.URL, "https://")
	for _, statusURL := range []string{"@" + evilHost + "/api/v2/statements/h", "//" + evilHost + "/x", evil.URL + "/x", "http://" + evilHost + "/x"} {
		var polls atomic.Int32
		acct := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				polls.Add(1)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"code":"333334","statementHandle":"h","statementStatusUrl":%q}`, statusURL)
		}))
		// The stand-ins share httptest's certificate, so this client would
		// reach the evil host too: only the origin check stops it.
		api := &Client{BaseURL: acct.URL, HTTPClient: acct.Client(), Creds: staticCreds("ADMIN-TOKEN"), UserAgent: "sfmcp-test/1", PollInterval: time.Millisecond}
		_, err := api.Exec(context.Background(), "SELECT 1")
		acct.Close()
		if !errors.Is(err, ErrForeignURL) || !strings.Contains(err.Error(), evilHost) {
			t.Errorf("statementStatusUrl %q: %v, want ErrForeignURL naming %s", statusURL, err, evilHost)
		}
		if n := evilHits.Load(); n != 0 {
			t.Fatalf("statementStatusUrl %q: %d requests went to the other host", statusURL, n)
		}
		if n := polls.Load(); n != 0 {
			t.Errorf("statementStatusUrl %q: %d polls reached the account (nothing should be sent)", statusURL, n)
		}
	}
}

// staticCreds always gives the same token.
type staticCreds string

func (c staticCreds) Token(context.Context, string) (string, string, error) {
	return string(c), "OAUTH", nil
}

type fixedCreds struct{}

func (fixedCreds) Token(context.Context, string) (string, string, error) {
	return "admin-token", "OAUTH", nil
}

// Review 2, L6: the SQL API client follows no redirect, so an answer cannot
// move the admin token (Go keeps Authorization on a same-host redirect,
// even from https to http).
func TestExecFollowsNoRedirect(t *testing.T) {
	var leaked atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
	}))
	defer plain.Close()
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/api/v2/statements", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c := &Client{BaseURL: api.URL, HTTPClient: api.Client(), Creds: fixedCreds{}, Retries: 1}
	_, err := c.Exec(context.Background(), "SELECT 1")
	if n := leaked.Load(); n != 0 {
		t.Fatalf("the redirect target received the token %d times", n)
	}
	if err == nil {
		t.Fatal("a redirect answer was taken as a result")
	}
}
