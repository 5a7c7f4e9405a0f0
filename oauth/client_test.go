package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// tokenServer answers every token request with status and body.
func tokenServer(t *testing.T, status int, contentType, body string) *Client {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL, ClientID: "LOCAL_APPLICATION", HTTPClient: srv.Client()}
}

func TestLenientTokenParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		body        string
		expiresIn   time.Duration
		refreshLeft time.Duration
		user, scope string
	}{
		{`{"access_token":"A","expires_in":600,"refresh_token":"R","token_type":"Bearer","username":"user1"}`, 600 * time.Second, 0, "user1", ""},
		{`{"access_token":"A","expires_in":"600","refresh_token":"R","token_type":"Bearer"}`, 600 * time.Second, 0, "", ""},
		{`{"access_token":"A","expires_in":60,"refresh_token":"R","scope":"refresh_token session:role:ANALYST","refresh_token_expires_in":86399,"idpInitiated":false}`, 60 * time.Second, 86399 * time.Second, "", "refresh_token session:role:ANALYST"},
		{`{"access_token":"A","refresh_token_expires_in":"86399"}`, 600 * time.Second, 86399 * time.Second, "", ""},
	} {
		c := tokenServer(t, 200, "application/json", tc.body)
		c.Now = func() time.Time { return now }
		tok, err := c.Refresh(context.Background(), "R")
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if tok.ExpiresIn != tc.expiresIn || !tok.Expiry.Equal(now.Add(tc.expiresIn)) || tok.Username != tc.user || tok.Scope != tc.scope {
			t.Errorf("%s: got %+v", tc.body, tok)
		}
		if tc.refreshLeft != 0 && !tok.RefreshExpiry.Equal(now.Add(tc.refreshLeft)) {
			t.Errorf("%s: refresh expiry %v", tc.body, tok.RefreshExpiry)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		ctype, body string
		kind        error
		mention     string
	}{
		{"snowflake invalid_client", 400, "application/json", `{"data":null,"message":"This is an invalid client.","code":null,"success":false,"error":"invalid_client"}`, ErrClientConfig, "network policy"},
		{"rfc invalid_grant", 400, "application/json", `{"error":"invalid_grant","error_description":"The refresh token is invalid or has expired."}`, ErrLoginRequired, "sign in again"},
		{"redirect mismatch", 400, "application/json", `{"message":"Invalid redirect_uri","code":"390307","success":false,"error":"invalid_request"}`, ErrClientConfig, "OAUTH_REDIRECT_URI"},
		{"bad scope", 400, "application/json", `{"message":"Invalid scope","code":390308,"success":false,"error":"invalid_request"}`, ErrClientConfig, "role"},
		{"html 502", 502, "text/html", `<html><body>Bad gateway</body></html>`, ErrUnavailable, "not JSON"},
		{"html 200", 200, "text/html", `<html>sign in</html>`, ErrUnavailable, "not a token"},
		{"200 with error", 200, "application/json", `{"error":"invalid_grant","message":"nope"}`, ErrLoginRequired, "invalid_grant"},
		{"missing access token", 200, "application/json", `{"token_type":"Bearer"}`, ErrUnavailable, "access_token"},
		{"503", 503, "application/json", `{"message":"down"}`, ErrUnavailable, "503"},
		{"429", 429, "application/json", `{"code":"390505","message":"Too many requests."}`, ErrUnavailable, "429"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tokenServer(t, tc.status, tc.ctype, tc.body)
			_, err := c.Refresh(context.Background(), "the-refresh-token")
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("err = %q, want it to mention %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), "the-refresh-token") {
				t.Error("error shows the refresh token")
			}
		})
	}
}

func TestServerEchoingTheTokenIsRedacted(t *testing.T) {
	c := tokenServer(t, 400, "application/json", `{"error":"invalid_grant","error_description":"token the-refresh-token is unknown"}`)
	_, err := c.Refresh(context.Background(), "the-refresh-token")
	if err == nil || strings.Contains(err.Error(), "the-refresh-token") {
		t.Fatalf("err = %v", err)
	}
}

func TestRefreshAgainstStandIn(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	sf.UpdateIntegration("LOCAL_APPLICATION", func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true })
	l := &Login{Client: localClient(sf), Open: func(u string) error { _, _, err := sf.Visit(u); return err }, Timeout: 10 * time.Second}
	first, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := localClient(sf)
	second, err := c.Refresh(context.Background(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("single-use refresh token did not rotate")
	}
	// Reusing the old one is theft to Snowflake: invalid_grant, family gone.
	if _, err := c.Refresh(context.Background(), first.RefreshToken); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := c.Refresh(context.Background(), second.RefreshToken); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("after reuse the whole family must be revoked: %v", err)
	}
	if sf.Counters().FamiliesRevoked != 1 {
		t.Fatal("stand-in did not count the revoked family")
	}
}

func TestTransportFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault snowflaketest.Fault
	}{
		{"500", snowflaketest.Fault{Status: 500}},
		{"drop mid-response", snowflaketest.Fault{Drop: true}},
		{"hang past timeout", snowflaketest.Fault{Hang: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := snowflaketest.New(snowflaketest.Options{})
			defer sf.Close()
			sf.InjectTokenFaults(tc.fault)
			c := localClient(sf)
			hc := *sf.Client()
			hc.Timeout = 200 * time.Millisecond
			c.HTTPClient = &hc
			_, err := c.Refresh(context.Background(), "rt")
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}
