package mcpbridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/internal/config"
)

// daemonAt listens where a client with the returned options looks for the
// daemon, and hands each connection to serve.
func daemonAt(t *testing.T, serve func(net.Conn)) client.Options {
	if runtime.GOOS == "windows" {
		t.Skip("the daemon's socket is Unix-only")
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sfmcp.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(c)
		}
	}()
	vars := map[string]string{"HOME": filepath.Dir(dir), "SFMCP_SOCKET": sock, "SFMCP_NO_AUTOSTART": "1"}
	return client.Options{Getenv: func(k string) string { return vars[k] }}
}

// The bridge's wait for a token is bounded: a daemon that takes the request
// and never answers costs the bridge its timeout, and an error that says
// so; a cancelled request stops waiting at once.
func TestWaitForTheDaemonIsBounded(t *testing.T) {
	const within = 10 * time.Second
	requests := make(chan struct{}, 8)
	o := daemonAt(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			requests <- struct{}{}
		}
	})
	d := &Tokens{Daemon: o, Profile: "prod", ServerURL: "https://example.invalid/mcp", Timeout: 300 * time.Millisecond}

	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	_, err := d.Token(ctx, "")
	if took := time.Since(start); err == nil || took > within/2 {
		t.Fatalf("Token from a silent daemon: %v after %s", err, took)
	}
	if !strings.Contains(err.Error(), "did not answer within 300ms") || !strings.Contains(err.Error(), "restart") {
		t.Errorf("error: %v", err)
	}
	<-requests

	// A cancelled call (the MCP client gave up) ends the wait, whatever the timeout.
	d.Timeout = 0 // the default, minutes
	callCtx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	errc := make(chan error, 1)
	go func() {
		_, err := d.Token(callCtx, "")
		errc <- err
	}()
	<-requests
	giveUp()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Token after cancel: %v", err)
		}
	case <-time.After(within):
		t.Fatal("a cancelled request kept waiting for the daemon")
	}
}

// answering is a daemon that answers every token request with the next of
// answers (the last one repeated), and records each request's query.
func answering(t *testing.T, answers ...apitype.TokenBody) (client.Options, <-chan url.Values) {
	queries := make(chan url.Values, 16)
	var mu sync.Mutex
	o := daemonAt(t, func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			queries <- req.URL.Query()
			mu.Lock()
			body, _ := json.Marshal(answers[0])
			if len(answers) > 1 {
				answers = answers[1:]
			}
			mu.Unlock()
			resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Content-Type": {"application/json"}},
				ContentLength: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body))}
			if resp.Write(c) != nil {
				return
			}
		}
	})
	return o, queries
}

// The request says what the bridge may wait for and which token was
// refused, by its fingerprint only; the answer is passed on as it came.
func TestTokenAsksForTheProfilesToken(t *testing.T) {
	o, queries := answering(t, apitype.TokenBody{Profile: "prod", AccessToken: "at-1", TokenType: "OAUTH"})
	d := &Tokens{Daemon: o, Profile: "prod", ServerURL: "https://acct.snowflakecomputing.com/mcp", NoSignIn: true}
	for _, refused := range []string{"", "at-0"} {
		tok, err := d.Token(context.Background(), refused)
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != "at-1" || tok.Type != "OAUTH" || tok.Via != nil {
			t.Errorf("token: %+v", tok)
		}
		q := <-queries
		want := url.Values{"profile": {"prod"}, "server_url": {d.ServerURL}, "wait_signin": {"120"}, "signin": {"off"}}
		if refused != "" {
			want.Set("refused", daemon.Fingerprint(refused))
		}
		if q.Encode() != want.Encode() {
			t.Errorf("refused %q: query %v, want %v", refused, q, want)
		}
		if strings.Contains(q.Encode(), "at-0") {
			t.Error("the refused token itself went to the daemon")
		}
	}
}

// Each token travels over its sign-in's network: one transport per
// network, reused while the network stays the same; a sign-in made before
// networks were recorded gets a transport that says how to record one.
func TestTokenTravelsOverItsSignInsNetwork(t *testing.T) {
	direct := apitype.TokenBody{AccessToken: "a", TokenType: "OAUTH", NetworkRecorded: true}
	proxied := direct
	proxied.HTTPSProxy = "http://proxy.example:3128"
	legacy := apitype.TokenBody{AccessToken: "b", TokenType: "OAUTH"}
	o, _ := answering(t, direct, direct, proxied, legacy)
	d := &Tokens{Daemon: o, Profile: "prod", ServerURL: "https://acct.snowflakecomputing.com/mcp", ViaSignIn: true}
	var vias []http.RoundTripper
	for range 4 {
		tok, err := d.Token(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		vias = append(vias, tok.Via)
	}
	if vias[0] == nil || vias[1] != vias[0] {
		t.Error("a second token of one network got another transport")
	}
	tr, ok := vias[2].(*http.Transport)
	if !ok || tr == vias[0] {
		t.Fatalf("a token of another network kept the old transport: %T", vias[2])
	}
	if u, err := tr.Proxy(&http.Request{URL: &url.URL{Scheme: "https", Host: "acct.snowflakecomputing.com"}}); err != nil || u == nil || u.Host != "proxy.example:3128" {
		t.Errorf("proxied sign-in's transport goes via %v (%v)", u, err)
	}
	if tr.ResponseHeaderTimeout != 0 {
		t.Error("the transport gives up on a tool call that thinks for long")
	}
	if _, ok := vias[3].(*http.Transport); ok {
		t.Error("a sign-in without a recorded network got a plain transport, which cannot say how to record one")
	}
	if got := signInAgain("prod", "OAUTH"); !strings.Contains(got, "login --profile prod") {
		t.Errorf("advice for an OAuth sign-in: %q", got)
	}
	if got := signInAgain("svc", config.TokenPAT); !strings.Contains(got, "pat rotate") {
		t.Errorf("advice for a PAT: %q", got)
	}
}

// A sign-in whose network cannot be used now (its CA bundle is gone)
// gives no token: it is never sent over another network instead.
func TestTokenRefusesAnUnusableNetwork(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "ca.pem")
	o, _ := answering(t, apitype.TokenBody{AccessToken: "a", TokenType: "OAUTH", NetworkRecorded: true, CAFile: gone, CAFileSHA256: "00"})
	d := &Tokens{Daemon: o, Profile: "prod", ServerURL: "https://acct.snowflakecomputing.com/mcp", ViaSignIn: true}
	tok, err := d.Token(context.Background(), "")
	if err == nil || tok.AccessToken != "" || tok.Via != nil {
		t.Fatalf("Token over a missing CA bundle: %+v, %v", tok, err)
	}
	if !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("error does not name the bundle: %v", err)
	}
}
