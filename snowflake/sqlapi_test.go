package snowflake

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/oauth"
	"github.com/sfmcp/sfmcp/snowflaketest"
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
