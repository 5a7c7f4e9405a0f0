package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// RoundTrip implements http.RoundTripper: one MCP message, sent until it
// is answered or there is a failure to report (see exchange).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	x := t.newExchange(req, body)
	defer func() {
		if x.release != nil {
			x.release()
		}
	}()
	return x.run()
}

// readBody reads the message, at most maxBody bytes: the bridge sends it
// again on a retry.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("mcp-proxy: request larger than %d bytes", maxBody)
	}
	return b, nil
}

// exchange is one message's way through the bridge: its attempts, the one
// forced refresh a 401 earns, the retries of an idempotent message, and
// the answer or the JSON-RPC error that ends it.
type exchange struct {
	t         *Transport
	req       *http.Request
	body      []byte
	call      callInfo
	retryable bool
	attempts  int
	// ctx lives until the answer has been read, or the MCP client cancels
	// the call (Cancel).
	ctx     context.Context
	release func() // forgets the call and frees ctx; nil once the answer's body owns it
	untrack func() // only forgets the call
	refused string // the token the server refused, once it has
	start   time.Time
}

func (t *Transport) newExchange(req *http.Request, body []byte) *exchange {
	x := &exchange{t: t, req: req, body: body, call: describe(body), attempts: 1}
	x.retryable = req.Method == http.MethodPost && idempotent[x.call.method]
	if x.retryable {
		x.attempts += t.retries()
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	x.ctx = ctx
	x.release, x.untrack = t.track(x.call, cancel)
	x.start = time.Now()
	return x
}

// run makes the attempts.
func (x *exchange) run() (*http.Response, error) {
	t := x.t
	for attempt := 1; ; attempt++ {
		resp, tok, sent, err := t.send(x.ctx, x.req, x.body, x.refused, x.retryable)
		if errors.Is(context.Cause(x.ctx), ErrCancelled) {
			return x.cancelled(resp)
		}
		if err != nil && tok.AccessToken == "" {
			// No token at all: the daemon says why (login required, ...).
			return t.synthesize(x.req, x.call, CodeUnauthorized, t.advice(err))
		}
		if err == nil && resp.StatusCode == http.StatusUnauthorized && x.refused == "" {
			// Expired or revoked early: one forced refresh, then once more.
			drain(resp)
			x.refused = tok.AccessToken
			t.Log.Info("server refused the token; refreshing", "profile", t.Profile, "method", x.call.method)
			attempt--
			continue
		}
		if x.mayRetry(attempt, resp, err) {
			if resp != nil {
				drain(resp)
			}
			if err := x.backoff(attempt, resp, err); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return x.unanswered(err, sent)
		}
		return x.answer(resp, tok)
	}
}

// mayRetry: a transient failure of an idempotent message is sent again
// while attempts and the retry budget last and the client still waits.
func (x *exchange) mayRetry(attempt int, resp *http.Response, err error) bool {
	transient := err != nil || isTransient(resp.StatusCode)
	return transient && attempt < x.attempts && x.req.Context().Err() == nil && time.Since(x.start) < x.t.retryBudget()
}

// backoff waits before the next attempt; an error ends the exchange (the
// client cancelled the call, or stopped waiting).
func (x *exchange) backoff(attempt int, resp *http.Response, err error) error {
	wait := x.t.backoff(attempt)
	x.t.Log.Warn("transient upstream failure; retrying", "method", x.call.method, "attempt", attempt, "retry_in", wait.String(), "error", describeFailure(resp, err))
	timer := time.NewTimer(wait)
	select {
	case <-timer.C:
		return nil
	case <-x.ctx.Done():
		timer.Stop()
		if errors.Is(context.Cause(x.ctx), ErrCancelled) {
			return fmt.Errorf("%s: %w", x.call.method, ErrCancelled)
		}
		return x.req.Context().Err()
	}
}

// cancelled ends a call the MCP client cancelled, dropping what the server
// may have begun to answer.
func (x *exchange) cancelled(resp *http.Response) (*http.Response, error) {
	if resp != nil {
		drain(resp)
	}
	x.t.Log.Info("request cancelled by the MCP client", "method", x.call.method)
	return nil, fmt.Errorf("%s: %w", x.call.method, ErrCancelled)
}

// unanswered reports a message that got no answer, saying whether it may
// have run.
func (x *exchange) unanswered(err error, sent bool) (*http.Response, error) {
	if x.req.Context().Err() != nil {
		return nil, err
	}
	if sent && !x.retryable {
		return x.t.synthesize(x.req, x.call, CodeUpstream, fmt.Sprintf(
			"The connection to Snowflake broke after the %s request was sent (%v). It may have run: check its effect before trying again.", x.call.method, err))
	}
	return x.t.synthesize(x.req, x.call, CodeUpstream, fmt.Sprintf("Snowflake could not be reached (%v); try again", err))
}

// answer passes the server's answer on, or turns a refusal into a
// JSON-RPC error that says what to do. tok is the token it answered.
func (x *exchange) answer(resp *http.Response, tok Token) (*http.Response, error) {
	t := x.t
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		drain(resp)
		if t.Refused != nil {
			if why := t.Refused(x.ctx, resp.Header.Values("WWW-Authenticate"), t.via(tok)); why != "" {
				return t.synthesize(x.req, x.call, CodeUnauthorized, why)
			}
		}
		return t.synthesize(x.req, x.call, CodeUnauthorized, fmt.Sprintf(
			"Snowflake rejected a freshly refreshed token for profile %s. Sign in again: sfmcp-token login --profile %s. If that does not help, the role may lack USAGE on the MCP server or the user a default warehouse.", t.Profile, t.Profile))
	case resp.StatusCode == http.StatusForbidden:
		msg := snowflakeMessage(resp)
		return t.synthesize(x.req, x.call, CodeForbidden, fmt.Sprintf(
			"Snowflake refused access (%s). Ask an administrator to GRANT USAGE ON MCP SERVER ... TO ROLE <the profile's role>, and on the objects its tools use.", msg))
	case resp.StatusCode >= 300:
		msg := snowflakeMessage(resp)
		return t.synthesize(x.req, x.call, CodeUpstream, fmt.Sprintf("Snowflake answered HTTP %d (%s)", resp.StatusCode, msg))
	}
	// The answer has begun: a cancel from now on must not break its
	// body, which the MCP SDK would take for a failed session. The
	// client ignores an answer it cancelled.
	x.untrack()
	if errors.Is(context.Cause(x.ctx), ErrCancelled) {
		// Cancelled just before: the body may already be broken.
		return x.cancelled(resp)
	}
	resp.Body = &releaseOnClose{ReadCloser: resp.Body, release: x.release}
	x.release = nil // the body owns it now
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = newDoneFilter(resp.Body)
	} else if x.call.method == "initialize" {
		t.notePostInitialize(resp)
	}
	return resp, nil
}
