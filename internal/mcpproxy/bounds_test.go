package mcpproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

const (
	toolsList = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	toolsCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"gong_search"}}`
)

// mcpMethod reads the JSON-RPC method of a request the test server got.
func mcpMethod(r *http.Request) string {
	var m struct {
		Method string `json:"method"`
	}
	_ = json.NewDecoder(r.Body).Decode(&m)
	return m.Method
}

// answer writes a JSON-RPC result for id.
func answer(w http.ResponseWriter, id int) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": map[string]any{"tools": []any{}}})
	w.Write(b)
}

// silentProxy is an HTTPS proxy whose first silent CONNECTs get no answer,
// ever; later ones are tunnelled to target. net/http waits a hard-coded
// minute for that answer: the 60 s tools/call of issue #11.
type silentProxy struct {
	ln       net.Listener
	target   string
	silent   int32
	connects atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func newSilentProxy(t *testing.T, target string, silent int32) *silentProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentProxy{ln: ln, target: target, silent: silent}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go p.serve()
	return p
}

func (p *silentProxy) URL() *url.URL { return &url.URL{Scheme: "http", Host: p.ln.Addr().String()} }

func (p *silentProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		go func() {
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil || req.Method != http.MethodConnect {
				return
			}
			if p.connects.Add(1) <= p.silent {
				return // read, never answered, left open
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			go io.Copy(up, br)
			io.Copy(c, up)
		}()
	}
}

func mustID(t *testing.T, n float64) jsonrpc.ID {
	id, err := jsonrpc.MakeID(n)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// within is how long a test waits for what should take a fraction of it: a
// regression fails the test instead of hanging it.
const within = 10 * time.Second

// roundTripWithin is roundTrip that gives up after within and fails.
func roundTripWithin(t *testing.T, tr *Transport, url, body string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	start := time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("no answer within %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, string(b)
}

func newTestTransport(base *http.Transport, origin string) *Transport {
	return &Transport{Base: base, Tokens: &fakeTokens{}, Log: slog.New(slog.DiscardHandler), Profile: "prod", Origin: origin, RetryBase: time.Millisecond}
}

// The failure mode of issue #11: a proxy that takes the connection and never
// answers CONNECT held a tools/call for 60 s (net/http's own limit). Now the
// attempt gives up at ConnectTimeout, the call is not replayed, and the next
// request gets through on a new connection.
func TestSilentProxyConnectIsBounded(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		mcpMethod(r)
		answer(w, 1)
	}))
	defer srv.Close()
	proxy := newSilentProxy(t, srv.Listener.Addr().String(), 1)
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	base.Proxy = http.ProxyURL(proxy.URL())
	tr := newTestTransport(base, Origin(srv.URL))
	tr.ConnectTimeout = 300 * time.Millisecond

	resp, body := roundTripWithin(t, tr, srv.URL, toolsCall)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":7`) || !strings.Contains(body, "-32002") || !strings.Contains(body, "no connection within 300ms") || !strings.Contains(body, "CONNECT") {
		t.Fatalf("tools/call: %d %s", resp.StatusCode, body)
	}
	if n := proxy.connects.Load(); n != 1 {
		t.Errorf("tools/call made %d CONNECTs; a tools/call is never replayed", n)
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the server got %d requests; want 0", n)
	}

	// The hung CONNECT still hangs; the next request takes a new connection.
	resp, body = roundTripWithin(t, tr, srv.URL, toolsList)
	if resp.StatusCode != 200 || !strings.Contains(body, `"result"`) {
		t.Fatalf("tools/list after a silent CONNECT: %d %s", resp.StatusCode, body)
	}
}

// Retries of an idempotent message stop after RetryBudget, so a proxy that
// answers no CONNECT costs a bounded time, not Retries × ConnectTimeout.
func TestRetriesStopAtTheBudget(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w, 1) }))
	defer srv.Close()
	proxy := newSilentProxy(t, srv.Listener.Addr().String(), 1<<30)
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	base.Proxy = http.ProxyURL(proxy.URL())
	tr := newTestTransport(base, Origin(srv.URL))
	tr.ConnectTimeout, tr.RetryBudget, tr.Retries = 50*time.Millisecond, time.Second, 100

	resp, body := roundTripWithin(t, tr, srv.URL, toolsList)
	if resp.StatusCode != 200 || !strings.Contains(body, "-32002") || !strings.Contains(body, "no connection within 50ms") {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, body)
	}
	// Each attempt takes at least ConnectTimeout: at most 1 + 1 s / 50 ms.
	if n := proxy.connects.Load(); n < 2 || n > 21 {
		t.Errorf("%d attempts; want a retry or more, and none after the budget", n)
	}
}

// A server that takes an idempotent request and never answers costs one
// FirstByteTimeout, then the request is sent again; a tools/call has no such
// bound (a tool may think for minutes) and is sent once.
func TestAnswerBoundOnlyForIdempotentMessages(t *testing.T) {
	const firstByte = 200 * time.Millisecond
	var lists, calls atomic.Int32
	stop := make(chan struct{}) // ends the handlers if the test fails
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mcpMethod(r) {
		case "tools/list":
			if lists.Add(1) == 1 {
				select { // takes the request, never answers
				case <-r.Context().Done():
				case <-stop:
				}
				// Not even the empty 200 net/http would write on return.
				panic(http.ErrAbortHandler)
			}
			answer(w, 1)
		case "tools/call":
			calls.Add(1)
			// A slow tool: it answers well after the idempotent bound.
			select {
			case <-time.After(5 * firstByte):
			case <-r.Context().Done():
				return
			}
			answer(w, 7)
		}
	}))
	defer srv.Close()
	defer close(stop)
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	tr := newTestTransport(base, Origin(srv.URL))
	tr.FirstByteTimeout = firstByte

	resp, body := roundTripWithin(t, tr, srv.URL, toolsList)
	if resp.StatusCode != 200 || !strings.Contains(body, `"result"`) || lists.Load() != 2 {
		t.Fatalf("tools/list: %d %s after %d requests", resp.StatusCode, body, lists.Load())
	}

	resp, body = roundTripWithin(t, tr, srv.URL, toolsCall)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":7`) || !strings.Contains(body, `"result"`) {
		t.Fatalf("a slow tools/call was cut off: %d %s", resp.StatusCode, body)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the tools/call reached the server %d times; want 1", n)
	}
}

// A tools/call's wait ends when the MCP client cancels it: the upstream
// request is abandoned and the call gets no answer.
func TestCancelEndsTheWaitForACall(t *testing.T) {
	got := make(chan struct{})
	abandoned := make(chan struct{})
	stop := make(chan struct{}) // ends the handler if the test fails
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mcpMethod(r)
		close(got)
		select {
		case <-r.Context().Done():
			close(abandoned)
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	tr := newTestTransport(base, Origin(srv.URL))

	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(toolsCall))
		resp, err := tr.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-got
	if tr.Cancel(mustID(t, 8)) {
		t.Error("Cancel found a call that was never sent")
	}
	if !tr.Cancel(mustID(t, 7)) {
		t.Fatal("Cancel did not find the call in flight")
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrCancelled) {
			t.Fatalf("RoundTrip: %v, want ErrCancelled", err)
		}
	case <-time.After(within):
		t.Fatal("Cancel did not end the wait")
	}
	select {
	case <-abandoned:
	case <-time.After(within):
		t.Fatal("the upstream request was not abandoned")
	}
	if tr.Cancel(mustID(t, 7)) {
		t.Error("a finished call is still tracked")
	}
}

// freezer relays TCP to target until frozen; then it passes nothing either
// way and keeps the connections open, like a peer behind a dead NAT entry.
type freezer struct {
	ln     net.Listener
	target string
	frozen chan struct{}
	once   sync.Once
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, frozen: make(chan struct{})}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go f.pipe(up, c)
			go f.pipe(c, up)
		}
	}()
	return f
}

func (f *freezer) freeze() { f.once.Do(func() { close(f.frozen) }) }

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-f.frozen:
			<-make(chan struct{}) // swallow everything from now on
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A kept-alive HTTP/2 connection that went dead is found by a ping, not
// waited on forever; the tools/call that was on it is reported, not
// replayed, since it may have reached the server.
func TestDeadHTTP2ConnectionIsDetected(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mcpMethod(r) == "tools/call" {
			calls.Add(1)
		}
		answer(w, 1)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	relay := newFreezer(t, srv.Listener.Addr().String())
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	base.HTTP2.SendPingTimeout, base.HTTP2.PingTimeout = 100*time.Millisecond, 200*time.Millisecond
	endpoint := "https://" + relay.ln.Addr().String()
	tr := newTestTransport(base, Origin(endpoint))

	resp, body := roundTripWithin(t, tr, endpoint, toolsList)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !strings.Contains(body, `"result"`) {
		t.Fatalf("tools/list: %s %d %s", resp.Proto, resp.StatusCode, body)
	}
	relay.freeze()
	resp, body = roundTripWithin(t, tr, endpoint, toolsCall)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":7`) || !strings.Contains(body, "-32002") || !strings.Contains(body, "may have run") {
		t.Fatalf("tools/call: %d %s", resp.StatusCode, body)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the frozen relay let %d tools/call through", n)
	}
}

// Everything that dials Snowflake has a bound; the response header has none.
func TestConfigureTransportBounds(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Second
	ConfigureTransport(tr)
	if tr.TLSHandshakeTimeout <= 0 || tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout >= 60*time.Second || tr.ResponseHeaderTimeout != 0 {
		t.Errorf("TLS %s, idle %s, response header %s", tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.ResponseHeaderTimeout)
	}
	if tr.HTTP2 == nil || tr.HTTP2.SendPingTimeout <= 0 || tr.HTTP2.PingTimeout <= 0 || tr.HTTP2.WriteByteTimeout <= 0 {
		t.Errorf("HTTP/2 health checks: %+v", tr.HTTP2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := tr.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkUserTimeout(t, c)
}
