package snowflaketest

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const verifier = "a-verifier-of-sufficient-length-0123456789-abcdefghijkl"

func challenge() string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeQuery(mod func(url.Values)) string {
	q := url.Values{"response_type": {"code"}, "client_id": {"LOCAL_APPLICATION"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"scope": {"refresh_token session:role:MCP_USERS"}, "state": {"st"}, "code_challenge": {challenge()}, "code_challenge_method": {"S256"}}
	if mod != nil {
		mod(q)
	}
	return q.Encode()
}

func noRedirect(s *Server) *http.Client {
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestAuthorizeValidation(t *testing.T) {
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	s.AddIntegration(Integration{ClientID: "CUSTOM", ClientSecret: "x", RedirectURIs: []string{"https://app.example/cb"}})
	for _, tc := range []struct {
		mod  func(url.Values)
		code string
	}{
		{func(q url.Values) { q.Set("response_type", "token") }, "390304"},
		{func(q url.Values) { q.Set("client_id", "NOPE") }, "390306"},
		{func(q url.Values) { q.Set("redirect_uri", "http://localhost:9/cb") }, "390307"},
		{func(q url.Values) { q.Set("redirect_uri", "https://127.0.0.1:9/cb") }, "390307"},
		{func(q url.Values) { q.Set("client_id", "CUSTOM"); q.Set("redirect_uri", "https://app.example/other") }, "390307"},
		{func(q url.Values) { q.Set("state", strings.Repeat("s", 2049)) }, "390305"},
		{func(q url.Values) { q.Set("scope", "refresh_token offline_access") }, "390308"},
		{func(q url.Values) { q.Set("scope", "session:role:A session:role:B") }, "390308"},
		{func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "390311"}, // LOCAL_APPLICATION enforces PKCE
		{func(q url.Values) { q.Set("code_challenge_method", "plain") }, "390311"},
	} {
		resp, err := noRedirect(s).Get(s.URL + "/oauth/authorize?" + authorizeQuery(tc.mod))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), tc.code) {
			t.Errorf("want %s, got %d %s", tc.code, resp.StatusCode, body)
		}
	}
	// Registered redirect with a query on the request still matches.
	resp, _ := noRedirect(s).Get(s.URL + "/oauth/authorize?" + authorizeQuery(func(q url.Values) {
		q.Set("client_id", "CUSTOM")
		q.Set("redirect_uri", "https://app.example/cb?authType=snowflake")
	}))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "authType=snowflake") {
		t.Errorf("query on redirect_uri: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func codeFor(t *testing.T, s *Server) string {
	resp, err := noRedirect(s).Get(s.URL + "/oauth/authorize?" + authorizeQuery(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect = %s", loc)
	}
	return loc.Query().Get("code")
}

func postToken(t *testing.T, s *Server, form url.Values) (int, string) {
	resp, err := s.Client().PostForm(s.URL+"/oauth/token-request", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTokenEndpointRules(t *testing.T) {
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	base := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:9/cb"},
			"code_verifier": {verifier}, "client_id": {"LOCAL_APPLICATION"}}
	}
	// wrong verifier
	f := base(codeFor(t, s))
	f.Set("code_verifier", strings.Repeat("x", 50))
	if st, body := postToken(t, s, f); st != 400 || !strings.Contains(body, `"error":"invalid_grant"`) || !strings.Contains(body, `"success":false`) {
		t.Errorf("bad verifier: %d %s", st, body)
	}
	// redirect mismatch at the token endpoint
	f = base(codeFor(t, s))
	f.Set("redirect_uri", "http://127.0.0.1:10/cb")
	if st, body := postToken(t, s, f); st != 400 || !strings.Contains(body, "invalid_grant") {
		t.Errorf("redirect mismatch: %d %s", st, body)
	}
	// a secret with LOCAL_APPLICATION in the body is not the public-client form
	f = base(codeFor(t, s))
	f.Set("client_secret", "LOCAL_APPLICATION")
	if st, body := postToken(t, s, f); st != 400 || !strings.Contains(body, "invalid_client") {
		t.Errorf("secret in body: %d %s", st, body)
	}
	// unsupported grant
	if st, body := postToken(t, s, url.Values{"grant_type": {"password"}, "client_id": {"LOCAL_APPLICATION"}}); st != 400 || !strings.Contains(body, "unsupported_grant_type") {
		t.Errorf("password grant: %d %s", st, body)
	}
	// success, then the code replayed
	code := codeFor(t, s)
	st, body := postToken(t, s, base(code))
	if st != 200 || !strings.Contains(body, `"refresh_token"`) || !strings.Contains(body, `"username":"ALICE"`) || !strings.Contains(body, `"expires_in":600`) {
		t.Fatalf("exchange: %d %s", st, body)
	}
	if st, _ := postToken(t, s, base(code)); st != 400 {
		t.Errorf("replayed code accepted: %d", st)
	}
	// Basic LOCAL_APPLICATION:LOCAL_APPLICATION is also accepted.
	f = base(codeFor(t, s))
	f.Del("client_id")
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token-request", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("LOCAL_APPLICATION", "LOCAL_APPLICATION")
	resp, err := s.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("Basic LOCAL_APPLICATION: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
}

func TestMCPEndpoint(t *testing.T) {
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	st, body := postToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t, s)}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"code_verifier": {verifier}, "client_id": {"LOCAL_APPLICATION"}})
	if st != 200 {
		t.Fatal(body)
	}
	access := body[strings.Index(body, `"access_token":"`)+16:]
	access = access[:strings.Index(access, `"`)]
	call := func(token, accept, msg string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v2/databases/db/schemas/public/mcp-servers/gong_mcp", strings.NewReader(msg))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", accept)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	both := "application/json, text/event-stream"
	resp, b := call("", both, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") || !strings.Contains(b, "390303") {
		t.Errorf("no token: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	resp, b = call(access, both, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if resp.StatusCode != 200 || !strings.Contains(b, "gong_search") {
		t.Errorf("tools/list: %d %s", resp.StatusCode, b)
	}
	resp, b = call(access, both, `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"gong_search","arguments":{"query":"q"}}}`)
	if resp.Header.Get("Content-Type") != "text/event-stream" || !strings.HasPrefix(b, "data: {") || !strings.HasSuffix(b, "data: [DONE]\n\n") || !strings.Contains(b, "ran as ALICE with role MCP_USERS") {
		t.Errorf("tools/call: %s %q", resp.Header.Get("Content-Type"), b)
	}
	resp, _ = call(access, "application/json", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"gong_search"}}`)
	if resp.StatusCode != 406 {
		t.Errorf("tools/call without event-stream: %d", resp.StatusCode)
	}
	resp, _ = call(access, both, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp.StatusCode != 202 {
		t.Errorf("notification: %d", resp.StatusCode)
	}
	_, b = call(access, both, `{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}`)
	if !strings.Contains(b, `"protocolVersion":"2025-06-18"`) {
		t.Errorf("initialize: %s", b)
	}
	_, b = call(access, both, `{"jsonrpc":"2.0","id":4,"method":"resources/list"}`)
	if !strings.Contains(b, "-32601") {
		t.Errorf("unsupported method: %s", b)
	}
	s.RevokeUser("alice")
	if resp, _ := call(access, both, `{"jsonrpc":"2.0","id":5,"method":"tools/list"}`); resp.StatusCode != 401 {
		t.Errorf("revoked token accepted: %d", resp.StatusCode)
	}
}
