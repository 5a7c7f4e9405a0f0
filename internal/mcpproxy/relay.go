package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Bridge relays one MCP session between a client connection (stdio) and
// the Snowflake MCP server.
type Bridge struct {
	// ServerURL is the MCP server endpoint.
	ServerURL string
	// Transport carries requests to Snowflake with tokens.
	Transport *Transport
	Log       *slog.Logger
	// MaxInFlight bounds requests forwarded at once (default 16).
	MaxInFlight int
}

// Run relays between down (the MCP client) and the server until the client
// closes its side or ctx ends. When the client's input ends (a pipe), the
// calls already sent are answered first.
func (b *Bridge) Run(ctx context.Context, down mcp.Connection) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	upstream := &mcp.StreamableClientTransport{
		Endpoint:             b.ServerURL,
		HTTPClient:           &http.Client{Transport: b.Transport},
		DisableStandaloneSSE: true, // Snowflake sends no server-initiated messages
		MaxRetries:           -1,   // the Transport does the retrying it is allowed to
	}
	up, err := upstream.Connect(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", b.ServerURL, err)
	}
	defer up.Close()

	s := &session{Bridge: b, up: up, down: down, upGone: make(chan struct{})}
	upErr := make(chan error, 1)
	go func() {
		upErr <- s.relayAnswers(ctx)
		close(s.upGone)
	}()
	downErr := make(chan error, 1)
	go func() {
		if err := s.relayRequests(ctx); err != nil {
			downErr <- err
		}
	}()

	select {
	case err := <-downErr:
		if errors.Is(err, io.EOF) {
			return s.finish(ctx, upErr) // the input ended: answer what was asked
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, mcp.ErrConnectionClosed) ||
			errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed) {
			return nil // the client hung up: the normal end of a session
		}
		return fmt.Errorf("read from the MCP client: %w", err)
	case err := <-upErr:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("the connection to Snowflake failed: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// session is one run of the bridge: its two connections and the client's
// calls still waiting for an answer.
type session struct {
	*Bridge
	up, down mcp.Connection
	forwards sync.WaitGroup // messages being handed to the server
	pending  pending
	upGone   chan struct{} // closed when relayAnswers has returned
}

// finish waits, after the client's input ended, until every message read
// has been sent and every call answered. Each wait is bounded as during the
// session (the Transport's limits, the connection's keepalives); ctx ending
// (a signal) stops it early.
func (s *session) finish(ctx context.Context, upErr <-chan error) error {
	s.forwards.Wait()
	s.pending.wait(ctx, s.upGone)
	if s.pending.any() == nil || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("the connection to Snowflake failed before every request was answered: %w", <-upErr)
}

// relayAnswers passes the server's messages to the client until either
// side fails.
func (s *session) relayAnswers(ctx context.Context) error {
	for {
		msg, err := s.up.Read(ctx)
		if err != nil {
			return err
		}
		if err := s.down.Write(ctx, msg); err != nil {
			return err
		}
		if resp, ok := msg.(*jsonrpc.Response); ok {
			s.pending.settle(resp.ID)
		}
	}
}

// relayRequests passes the client's messages to the server, each in its
// own goroutine so a slow tool call does not hold up a ping or a
// cancellation. Only the handshake keeps its order: nothing follows
// initialize before its answer, nor notifications/initialized before it
// was sent, as a client writing all its requests at once (a pipe) expects.
// It returns the client's read error, or nil when ctx ends.
func (s *session) relayRequests(ctx context.Context) error {
	limit := s.MaxInFlight
	if limit <= 0 {
		limit = 16
	}
	slots := make(chan struct{}, limit)
	for {
		msg, err := s.down.Read(ctx)
		if err != nil {
			return err
		}
		// Stop waiting for a call the client gave up on before queueing
		// for a slot: the slots may all be held by such calls.
		if id, ok := cancelledCall(msg); ok {
			if s.Transport.Cancel(id) {
				s.Log.Info("the MCP client cancelled a request; no longer waiting for Snowflake's answer")
			}
			s.pending.settle(id)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		answered, sent := s.track(msg), make(chan struct{})
		s.forwards.Add(1)
		go func() {
			defer func() { <-slots; close(sent); s.forwards.Done() }()
			s.forward(ctx, msg)
		}()
		if wait := handshakeWait(msg, answered, sent); wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// handshakeWait returns what must happen before the next message is read:
// initialize's answer, or notifications/initialized being sent; nil for
// any other message.
func handshakeWait(msg jsonrpc.Message, answered, sent <-chan struct{}) <-chan struct{} {
	req, ok := msg.(*jsonrpc.Request)
	switch {
	case !ok:
		return nil
	case req.Method == "initialize" && answered != nil:
		return answered
	case req.Method == "notifications/initialized":
		return sent
	}
	return nil
}

// track records msg if it is a call, returning the channel that closes
// once it is answered (nil for anything else).
func (s *session) track(msg jsonrpc.Message) <-chan struct{} {
	if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
		return s.pending.add(req.ID)
	}
	return nil
}

// forward sends one client message upstream. If that fails for a call, the
// client gets a JSON-RPC error for it rather than silence.
func (s *session) forward(ctx context.Context, msg jsonrpc.Message) {
	err := s.up.Write(ctx, msg)
	if err == nil {
		return // the answer comes through relayAnswers
	}
	req, isReq := msg.(*jsonrpc.Request)
	if isReq && req.IsCall() {
		defer s.pending.settle(req.ID)
	}
	if ctx.Err() != nil || errors.Is(err, ErrCancelled) {
		return // a cancelled call gets no answer
	}
	if !isReq || !req.IsCall() {
		s.Log.Warn("could not forward a message", "error", err.Error())
		return
	}
	s.Log.Error("request failed", "method", req.Method, "error", err.Error())
	resp := &jsonrpc.Response{ID: req.ID, Error: &jsonrpc.Error{Code: CodeUpstream, Message: "sfmcp mcp-proxy: " + err.Error()}}
	if werr := s.down.Write(ctx, resp); werr != nil {
		s.Log.Warn("could not answer the client", "error", werr.Error())
	}
}

// cancelledCall returns the id of the call a notifications/cancelled names.
func cancelledCall(msg jsonrpc.Message) (jsonrpc.ID, bool) {
	req, ok := msg.(*jsonrpc.Request)
	if !ok || req.IsCall() || req.Method != "notifications/cancelled" {
		return jsonrpc.ID{}, false
	}
	var p struct {
		RequestID any `json:"requestId"`
	}
	if json.Unmarshal(req.Params, &p) != nil || p.RequestID == nil {
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(p.RequestID)
	return id, err == nil
}
