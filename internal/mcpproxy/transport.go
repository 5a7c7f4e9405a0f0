// Package mcpproxy bridges a stdio MCP client to a Snowflake-managed MCP
// server over streamable HTTP, with a fresh access token on every request.
// It relays MCP messages as they are; it only turns HTTP-level failures
// (401, 403, 5xx, no token) into JSON-RPC errors that say what to do, so a
// broken request never breaks the session. It never logs a token.
package mcpproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// Token is an access token and its X-Snowflake-Authorization-Token-Type.
type Token struct {
	AccessToken string
	Type        string
	// Via, if set, is how requests carrying this token travel (the network
	// its sign-in was made with); else Transport.Base.
	Via http.RoundTripper
}

// TokenSource gives the token for each request. refused, when not empty,
// is a token the server just rejected: the source must return a newer one.
type TokenSource interface {
	Token(ctx context.Context, refused string) (Token, error)
}

// Advice turns a token-source error into the sentence shown to the MCP
// client's user (the CLI knows the commands to suggest).
type Advice func(error) string

// JSON-RPC error codes the bridge uses for failures it reports itself
// (the implementation-defined server-error range).
const (
	CodeUnauthorized = -32001 // no valid token, or the server keeps refusing it
	CodeForbidden    = -32003 // authenticated, but not allowed (USAGE grant)
	CodeUpstream     = -32002 // Snowflake unreachable or failing
)

// Transport is the http.RoundTripper under the SDK's streamable client
// transport: it adds the token, answers a 401 with one forced refresh and a
// retry, retries idempotent messages on transient failures, and turns what
// remains into JSON-RPC errors.
type Transport struct {
	Base    http.RoundTripper
	Tokens  TokenSource
	Advice  Advice
	Log     *slog.Logger
	Profile string // named in messages
	// Origin is the scheme://host[:port] of the MCP server; a request
	// anywhere else (a redirect, say) gets no token. Empty allows none.
	Origin string
	// Refused, if set, says why the server refused a freshly renewed
	// token, from its 401's WWW-Authenticate values, asked over via (the
	// transport that request went over); its sentence ("" when it cannot
	// tell) replaces the usual advice to sign in again.
	Refused func(ctx context.Context, wwwAuthenticate []string, via http.RoundTripper) string
	// Retries for idempotent messages on transient failures (default 3),
	// starting at RetryBase (default 250 ms), doubling, jittered; none
	// starts after RetryBudget (default 20 s) from the first attempt, so
	// the client hears why before its own timeout (often 60 s).
	Retries     int
	RetryBase   time.Duration
	RetryBudget time.Duration
	// Per-attempt bounds (see bounds.go); zero means the default.
	ConnectTimeout   time.Duration
	SendTimeout      time.Duration
	FirstByteTimeout time.Duration // idempotent messages only

	mu              sync.Mutex
	protocolVersion string
	inFlight        map[jsonrpc.ID]*tracked
}

// Idempotent methods may be sent again after a transient failure; a
// tools/call is never replayed automatically.
var idempotent = map[string]bool{"initialize": true, "tools/list": true, "ping": true}

const maxBody = 4 << 20

// Cancel ends the wait for the call with this id, if it is in flight: the
// MCP client sent notifications/cancelled for it.
func (t *Transport) Cancel(id jsonrpc.ID) bool {
	t.mu.Lock()
	c, ok := t.inFlight[id]
	if ok {
		c.cancel(ErrCancelled) // under the lock: not after untrack
	}
	t.mu.Unlock()
	return ok
}

// track registers a call so Cancel can reach it; the returned release
// forgets it and frees its context, and untrack only forgets it.
func (t *Transport) track(call callInfo, cancel context.CancelCauseFunc) (release, untrack func()) {
	if !call.isCall {
		return func() { cancel(nil) }, func() {}
	}
	me := &tracked{cancel: cancel}
	t.mu.Lock()
	if t.inFlight == nil {
		t.inFlight = map[jsonrpc.ID]*tracked{}
	}
	if _, dup := t.inFlight[call.id]; !dup {
		t.inFlight[call.id] = me
	}
	t.mu.Unlock()
	// Only this call's own entry is forgotten, however often: a later
	// call may reuse the id.
	untrack = func() {
		t.mu.Lock()
		if t.inFlight[call.id] == me {
			delete(t.inFlight, call.id)
		}
		t.mu.Unlock()
	}
	return func() { untrack(); cancel(nil) }, untrack
}

// tracked is a call in flight that Cancel can end.
type tracked struct{ cancel context.CancelCauseFunc }

// send makes one attempt with a token (newer than refused, if given),
// watched by a watchdog (see bounds.go). sent reports whether the whole
// request reached the connection, so the server may have acted on it.
func (t *Transport) send(ctx context.Context, orig *http.Request, body []byte, refused string, retryable bool) (resp *http.Response, tok Token, sent bool, err error) {
	if got := Origin(orig.URL.String()); got == "" || got != t.Origin {
		return nil, Token{}, false, fmt.Errorf("refusing to send profile %s's token to %s: only %s gets it", t.Profile, got, t.Origin)
	}
	tok, err = t.Tokens.Token(ctx, refused)
	if err != nil {
		return nil, Token{}, false, err
	}
	answer := time.Duration(0)
	if retryable {
		answer = orDefault(t.FirstByteTimeout, DefaultFirstByteTimeout)
	}
	actx, cancel := context.WithCancelCause(ctx)
	w := newWatchdog(cancel, orDefault(t.ConnectTimeout, DefaultConnectTimeout), orDefault(t.SendTimeout, DefaultSendTimeout), answer)
	req := orig.Clone(httptrace.WithClientTrace(actx, w.trace()))
	if body != nil {
		req.Body = io.NopCloser(&progressReader{r: bytes.NewReader(body), w: w})
		if retryable {
			// Only messages that may be sent twice: with GetBody, net/http
			// itself resends a request on some HTTP/2 stream resets, after
			// the server may have acted on it.
			req.GetBody = func() (io.ReadCloser, error) {
				return io.NopCloser(&progressReader{r: bytes.NewReader(body), w: w}), nil
			}
		}
		req.ContentLength = int64(len(body))
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if tok.Type != "" {
		req.Header.Set("X-Snowflake-Authorization-Token-Type", tok.Type)
	}
	t.mu.Lock()
	if pv := t.protocolVersion; pv != "" && req.Header.Get("Mcp-Protocol-Version") == "" {
		req.Header.Set("Mcp-Protocol-Version", pv)
	}
	t.mu.Unlock()
	resp, err = t.via(tok).RoundTrip(req)
	if err != nil {
		var stall *StallError
		if errors.As(context.Cause(actx), &stall) {
			err = stall
		}
		sent = w.sent()
		w.stop()
		cancel(nil)
		return nil, tok, sent, err
	}
	resp.Body = &releaseOnClose{ReadCloser: resp.Body, release: func() { w.stop(); cancel(nil) }}
	return resp, tok, true, nil
}

// via is the transport requests with tok go over.
func (t *Transport) via(tok Token) http.RoundTripper {
	if tok.Via != nil {
		return tok.Via
	}
	return t.Base
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Origin returns the lower-cased scheme://host[:port] of raw, or "" if raw
// is not an absolute URL.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// notePostInitialize remembers the negotiated protocol version so later
// requests carry the MCP-Protocol-Version header, as the SDK's own client
// would after initializing.
func (t *Transport) notePostInitialize(resp *http.Response) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	var m struct {
		Result struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
	}
	if err == nil && json.Unmarshal(data, &m) == nil && m.Result.ProtocolVersion != "" {
		t.mu.Lock()
		t.protocolVersion = m.Result.ProtocolVersion
		t.mu.Unlock()
	}
}

type callInfo struct {
	method string
	id     jsonrpc.ID
	isCall bool
}

func describe(body []byte) callInfo {
	if len(body) == 0 {
		return callInfo{}
	}
	msg, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		return callInfo{}
	}
	if r, ok := msg.(*jsonrpc.Request); ok {
		return callInfo{method: r.Method, id: r.ID, isCall: r.IsCall()}
	}
	return callInfo{}
}

// synthesize answers the request with a JSON-RPC error (calls) or a plain
// 202 (notifications and responses), so the SDK's client connection stays
// healthy and the user reads what to do.
func (t *Transport) synthesize(req *http.Request, call callInfo, code int, msg string) (*http.Response, error) {
	t.Log.Error("request failed", "method", call.method, "profile", t.Profile, "error", msg)
	resp := &http.Response{Status: "202 Accepted", StatusCode: http.StatusAccepted, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req}
	if !call.isCall {
		return resp, nil
	}
	data, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: call.id, Error: &jsonrpc.Error{Code: int64(code), Message: msg}})
	if err != nil {
		return nil, err
	}
	resp.Status, resp.StatusCode = "200 OK", http.StatusOK
	resp.Header.Set("Content-Type", "application/json")
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil
}

func (t *Transport) advice(err error) string {
	if t.Advice != nil {
		return t.Advice(err)
	}
	return err.Error()
}

func (t *Transport) retries() int {
	if t.Retries > 0 {
		return t.Retries
	}
	return 3
}

func (t *Transport) retryBudget() time.Duration {
	return orDefault(t.RetryBudget, 20*time.Second)
}

func (t *Transport) backoff(attempt int) time.Duration {
	base := t.RetryBase
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	d := base << min(attempt-1, 6)
	return d/2 + rand.N(d/2+1)
}

func isTransient(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func describeFailure(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return "HTTP " + strconv.Itoa(resp.StatusCode)
}

// snowflakeMessage reads Snowflake's {"code","message"} error body.
func snowflakeMessage(resp *http.Response) string {
	defer drain(resp)
	var b struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &b) != nil || b.Message == "" {
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	if b.Code != nil {
		return fmt.Sprintf("%v: %s", b.Code, b.Message)
	}
	return b.Message
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// doneFilter removes `data: [DONE]` events, which Snowflake sends to end a
// tools/call stream and which are not JSON-RPC messages.
type doneFilter struct {
	src  io.ReadCloser
	r    *bufio.Reader
	buf  bytes.Buffer // filtered output not yet read
	evt  bytes.Buffer // the event being assembled
	done bool
}

func newDoneFilter(rc io.ReadCloser) io.ReadCloser {
	return &doneFilter{src: rc, r: bufio.NewReader(rc)}
}

func (f *doneFilter) Read(p []byte) (int, error) {
	for f.buf.Len() == 0 && !f.done {
		line, err := f.r.ReadBytes('\n')
		f.evt.Write(line)
		if len(bytes.TrimRight(line, "\r\n")) == 0 && len(line) > 0 {
			// End of an event: pass it on unless it is [DONE].
			if !isDone(f.evt.Bytes()) {
				f.buf.Write(f.evt.Bytes())
			}
			f.evt.Reset()
		}
		if err != nil {
			if !isDone(f.evt.Bytes()) {
				f.buf.Write(f.evt.Bytes())
			}
			f.evt.Reset()
			f.done = true
			if !errors.Is(err, io.EOF) {
				return 0, err
			}
		}
	}
	if f.buf.Len() == 0 {
		return 0, io.EOF
	}
	return f.buf.Read(p)
}

func isDone(evt []byte) bool {
	for _, line := range bytes.Split(evt, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok && string(bytes.TrimSpace(v)) == "[DONE]" {
			return true
		}
	}
	return false
}

func (f *doneFilter) Close() error { return f.src.Close() }
