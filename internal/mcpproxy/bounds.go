package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// The bridge's waits for Snowflake, and what bounds each. A tools/call may
// think for minutes, so no timer covers its answer; what is bounded instead:
//   - getting a connection (TCP connect, proxy CONNECT, TLS handshake):
//     ConnectTimeout per attempt. net/http alone waits up to a minute for a
//     proxy's answer to CONNECT, 30 s for a dial and 10 s for TLS;
//   - handing the request to the connection: SendTimeout without progress;
//   - the answer to an idempotent message (initialize, tools/list, ping):
//     FirstByteTimeout per attempt, then a retry while RetryBudget lasts;
//   - a connection whose peer has gone silent, idle or mid-answer: TCP
//     keepalive (and TCP_USER_TIMEOUT on Linux) and HTTP/2 pings, which a
//     live server answers however long its tool runs;
//   - the MCP client's patience: notifications/cancelled ends the wait.
const (
	DefaultConnectTimeout   = 15 * time.Second
	DefaultSendTimeout      = 30 * time.Second
	DefaultFirstByteTimeout = 20 * time.Second

	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	// Shorter than the idle timeouts of servers and load balancers (often
	// 60 s), so an idle connection is never reused just as the other end
	// drops it.
	idleConnTimeout = 30 * time.Second
	// A peer that stops answering is noticed after about 30 s.
	keepAliveIdle     = 15 * time.Second
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
	userTimeout       = 30 * time.Second // unacknowledged data (Linux)
	h2PingAfter       = 15 * time.Second // no frame for this long: ping
	h2PingTimeout     = 10 * time.Second
	h2WriteTimeout    = 30 * time.Second
)

// ConfigureTransport sets on t, a transport to Snowflake, the connection
// bounds listed above. It replaces t's dialer and keeps its proxy and TLS
// settings; it sets no response-header timeout.
func ConfigureTransport(t *http.Transport) {
	d := &net.Dialer{
		Timeout:         dialTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepAliveIdle, Interval: keepAliveInterval, Count: keepAliveCount},
		Control:         setUserTimeout(userTimeout),
	}
	t.DialContext = d.DialContext
	t.TLSHandshakeTimeout = tlsHandshakeTimeout
	t.IdleConnTimeout = idleConnTimeout
	t.ResponseHeaderTimeout = 0 // an agent's tool call may think for minutes
	h2 := &http.HTTP2Config{}
	if t.HTTP2 != nil {
		*h2 = *t.HTTP2
	}
	h2.SendPingTimeout, h2.PingTimeout, h2.WriteByteTimeout = h2PingAfter, h2PingTimeout, h2WriteTimeout
	t.HTTP2 = h2
}

// Stages of one attempt that a watchdog bounds.
const (
	stageConnect = "connect"
	stageSend    = "send"
	stageAnswer  = "answer"
)

// StallError is an attempt that made no progress in time.
type StallError struct {
	Stage string // "connect", "send" or "answer"
	After time.Duration
}

func (e *StallError) Error() string {
	switch e.Stage {
	case stageConnect:
		return fmt.Sprintf("no connection within %s: the TCP connect, the proxy's answer to CONNECT or the TLS handshake did not finish", e.After)
	case stageSend:
		return fmt.Sprintf("the request could not be sent: the connection took no data for %s", e.After)
	default:
		return fmt.Sprintf("no answer within %s", e.After)
	}
}

// ErrCancelled is a request the MCP client cancelled.
var ErrCancelled = errors.New("cancelled by the MCP client")

// watchdog cancels one attempt when its current stage makes no progress in
// time: connect until GotConn, send until WroteRequest (each chunk of body
// read restarts the clock), then answer until the first response byte (only
// if answer > 0).
type watchdog struct {
	cancel  context.CancelCauseFunc
	connect time.Duration
	send    time.Duration
	answer  time.Duration

	mu    sync.Mutex
	gen   int // which timer is current
	timer *time.Timer
	stage string
	wrote bool // the whole request was handed to the connection
	fired bool
}

func newWatchdog(cancel context.CancelCauseFunc, connect, send, answer time.Duration) *watchdog {
	w := &watchdog{cancel: cancel, connect: connect, send: send, answer: answer}
	w.mu.Lock()
	w.enterLocked(stageConnect, connect)
	w.mu.Unlock()
	return w
}

// enterLocked moves to stage and restarts the clock (d <= 0: no bound).
func (w *watchdog) enterLocked(stage string, d time.Duration) {
	if w.fired {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.gen++
	w.stage = stage
	if d <= 0 {
		return
	}
	gen := w.gen
	w.timer = time.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if gen != w.gen || w.fired {
			return
		}
		w.fired = true
		w.cancel(&StallError{Stage: stage, After: d})
	})
}

func (w *watchdog) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.wrote = false
			w.enterLocked(stageSend, w.send)
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if info.Err != nil {
				return
			}
			w.wrote = true
			w.enterLocked(stageAnswer, w.answer)
		},
		GotFirstResponseByte: w.stop,
	}
}

// progress restarts the send clock: the connection took another chunk.
func (w *watchdog) progress() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stage == stageSend {
		w.enterLocked(stageSend, w.send)
	}
}

// stop ends the watch: the server has started answering.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.enterLocked("", 0)
}

// sent reports whether the whole request reached the connection, so the
// server may have acted on it.
func (w *watchdog) sent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wrote
}

// progressReader tells the watchdog each time the transport takes a chunk
// of the request body.
type progressReader struct {
	r io.Reader
	w *watchdog
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.progress()
	}
	return n, err
}

// releaseOnClose runs release once the body is closed: the request's
// context lives as long as its answer is being read.
type releaseOnClose struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (r *releaseOnClose) Close() error {
	err := r.ReadCloser.Close()
	r.once.Do(r.release)
	return err
}
