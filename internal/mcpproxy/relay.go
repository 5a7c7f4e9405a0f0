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
// closes its side or ctx ends.
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

	upErr := make(chan error, 1)
	go func() { upErr <- relayAnswers(ctx, up, down) }()
	downErr := make(chan error, 1)
	go func() {
		if err := b.relayRequests(ctx, up, down); err != nil {
			downErr <- err
		}
	}()

	select {
	case err := <-downErr:
		if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || errors.Is(err, mcp.ErrConnectionClosed) ||
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

// relayAnswers passes the server's messages to the client until either
// side fails.
func relayAnswers(ctx context.Context, up, down mcp.Connection) error {
	for {
		msg, err := up.Read(ctx)
		if err != nil {
			return err
		}
		if err := down.Write(ctx, msg); err != nil {
			return err
		}
	}
}

// relayRequests passes the client's messages to the server, each in its
// own goroutine so a slow tool call does not hold up a ping or a
// cancellation. It returns the client's read error, or nil when ctx ends.
func (b *Bridge) relayRequests(ctx context.Context, up, down mcp.Connection) error {
	limit := b.MaxInFlight
	if limit <= 0 {
		limit = 16
	}
	slots := make(chan struct{}, limit)
	for {
		msg, err := down.Read(ctx)
		if err != nil {
			return err
		}
		// Stop waiting for a call the client gave up on before queueing
		// for a slot: the slots may all be held by such calls.
		if id, ok := cancelledCall(msg); ok && b.Transport.Cancel(id) {
			b.Log.Info("the MCP client cancelled a request; no longer waiting for Snowflake's answer")
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		go func() {
			defer func() { <-slots }()
			b.forward(ctx, up, down, msg)
		}()
	}
}

// forward sends one client message upstream. If that fails for a call, the
// client gets a JSON-RPC error for it rather than silence.
func (b *Bridge) forward(ctx context.Context, up, down mcp.Connection, msg jsonrpc.Message) {
	err := up.Write(ctx, msg)
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrCancelled) {
		return // a cancelled call gets no answer
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok || !req.IsCall() {
		b.Log.Warn("could not forward a message", "error", err.Error())
		return
	}
	b.Log.Error("request failed", "method", req.Method, "error", err.Error())
	resp := &jsonrpc.Response{ID: req.ID, Error: &jsonrpc.Error{Code: CodeUpstream, Message: "sfmcp mcp-proxy: " + err.Error()}}
	if werr := down.Write(ctx, resp); werr != nil {
		b.Log.Warn("could not answer the client", "error", werr.Error())
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
