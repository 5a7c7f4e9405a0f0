package mcpproxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestDoneFilter(t *testing.T) {
	in := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n" +
		"data: [DONE]\n\n" +
		"data: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\r\n\r\n" +
		"data:[DONE]\n\n"
	out, err := io.ReadAll(newDoneFilter(io.NopCloser(strings.NewReader(in))))
	if err != nil {
		t.Fatal(err)
	}
	want := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n" + "data: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\r\n\r\n"
	if string(out) != want {
		t.Fatalf("filtered stream:\n%q\nwant\n%q", out, want)
	}
}

// fakeTokens hands out tok-1, tok-2, ... and records what was refused.
type fakeTokens struct {
	mu      sync.Mutex
	n       int
	refused []string
	err     error
}

func (f *fakeTokens) Token(_ context.Context, refused string) (Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Token{}, f.err
	}
	if refused != "" {
		f.refused = append(f.refused, refused)
		f.n++
	}
	if f.n == 0 {
		f.n = 1
	}
	return Token{AccessToken: "tok-" + string(rune('0'+f.n)), Type: "OAUTH"}, nil
}

func roundTrip(t *testing.T, tr *Transport, url, body string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestUnauthorizedRefreshesOnceThenAdvises(t *testing.T) {
	accept := "tok-2"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+accept || r.Header.Get("X-Snowflake-Authorization-Token-Type") != "OAUTH" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer srv.Close()
	tokens := &fakeTokens{}
	tr := &Transport{Base: http.DefaultTransport, Tokens: tokens, Log: slog.New(slog.DiscardHandler), Profile: "prod", Origin: Origin(srv.URL)}
	resp, body := roundTrip(t, tr, srv.URL, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"result"`) || len(tokens.refused) != 1 || tokens.refused[0] != "tok-1" {
		t.Fatalf("%d %s refused=%v", resp.StatusCode, body, tokens.refused)
	}
	accept = "never"
	resp, body = roundTrip(t, tr, srv.URL, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":7`) || !strings.Contains(body, "sfmcp-token login --profile prod") || !strings.Contains(body, "USAGE") {
		t.Fatalf("second 401: %d %s", resp.StatusCode, body)
	}
	// A notification that cannot be delivered is acknowledged, not answered.
	resp, body = roundTrip(t, tr, srv.URL, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp.StatusCode != 202 || body != "" {
		t.Fatalf("notification: %d %q", resp.StatusCode, body)
	}
}

func TestNoTokenBecomesJSONRPCError(t *testing.T) {
	tr := &Transport{Base: http.DefaultTransport, Tokens: &fakeTokens{err: errors.New("login required")}, Log: slog.New(slog.DiscardHandler), Origin: "http://127.0.0.1:1",
		Advice: func(err error) string { return "run: sfmcp-token login --profile prod" }}
	resp, body := roundTrip(t, tr, "http://127.0.0.1:1/unused", `{"jsonrpc":"2.0","id":"a","method":"ping"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":"a"`) || !strings.Contains(body, "-32001") || !strings.Contains(body, "sfmcp-token login") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestForbiddenNamesTheGrant(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		io.WriteString(w, `{"code":"003001","message":"Insufficient privileges to operate on MCP server 'GONG_MCP'."}`)
	}))
	defer srv.Close()
	tr := &Transport{Base: http.DefaultTransport, Tokens: &fakeTokens{}, Log: slog.New(slog.DiscardHandler), Origin: Origin(srv.URL)}
	_, body := roundTrip(t, tr, srv.URL, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if !strings.Contains(body, "GRANT USAGE ON MCP SERVER") || !strings.Contains(body, "003001") {
		t.Fatalf("%s", body)
	}
}

// A redirect (or any request) to another origin gets no token: the SDK's
// http.Client follows redirects through this transport.
func TestNoTokenForAnotherOrigin(t *testing.T) {
	var leaked sync.Map
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			leaked.Store(a, true)
		}
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer evil.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/mcp", http.StatusTemporaryRedirect)
	}))
	defer home.Close()
	tr := &Transport{Base: http.DefaultTransport, Tokens: &fakeTokens{}, Log: slog.New(slog.DiscardHandler), Profile: "prod", Origin: Origin(home.URL),
		Advice: func(err error) string { return err.Error() }}
	c := &http.Client{Transport: tr}
	resp, err := c.Post(home.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	leaked.Range(func(k, _ any) bool { t.Errorf("the other origin received %q", k); return true })
	if !strings.Contains(string(body), `"error"`) {
		t.Errorf("a redirect was followed: %s", body)
	}
	_, body2 := roundTrip(t, tr, evil.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if !strings.Contains(body2, "-32001") || !strings.Contains(body2, "only "+Origin(home.URL)) {
		t.Errorf("a request to another origin: %s", body2)
	}
	if _, body := roundTrip(t, &Transport{Base: http.DefaultTransport, Tokens: &fakeTokens{}, Log: slog.New(slog.DiscardHandler), Advice: func(err error) string { return err.Error() }}, evil.URL, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); !strings.Contains(body, "-32001") {
		t.Errorf("a transport without an origin sent a token: %s", body)
	}
	leaked.Range(func(k, _ any) bool { t.Errorf("the other origin received %q", k); return true })
}

// A renewed token the server refuses too is explained by Refused, from the
// 401's challenge, only after the one renewal; "" keeps the usual advice.
func TestRefusedExplainsARenewedTokenRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+"https://h/.well-known/oauth-protected-resource/mcp"+`"`)
		w.WriteHeader(401)
	}))
	defer srv.Close()
	for _, why := range []string{"this MCP server now takes tokens from https://idp.example", ""} {
		tokens := &fakeTokens{}
		var calls []string
		tr := &Transport{Base: http.DefaultTransport, Tokens: tokens, Log: slog.New(slog.DiscardHandler), Profile: "prod", Origin: Origin(srv.URL),
			Refused: func(_ context.Context, challenge []string, via http.RoundTripper) string {
				calls = append(calls, strings.Join(challenge, "|"))
				if via != http.DefaultTransport {
					t.Error("Refused was not given the request's transport")
				}
				return why
			}}
		_, body := roundTrip(t, tr, srv.URL, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
		if len(calls) != 1 || !strings.Contains(calls[0], "resource_metadata=") || len(tokens.refused) != 1 {
			t.Fatalf("Refused called with %q after %d renewals", calls, len(tokens.refused))
		}
		want := why
		if want == "" {
			want = "sfmcp-token login --profile prod"
		}
		if !strings.Contains(body, `"id":3`) || !strings.Contains(body, "-32001") || !strings.Contains(body, want) {
			t.Errorf("answer %s; want %q", body, want)
		}
	}
}
