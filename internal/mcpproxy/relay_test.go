package mcpproxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// fakeMCP answers initialize, tools/list and notifications; each tools/call
// runs until released, or until its request is abandoned.
type fakeMCP struct {
	calls     chan struct{} // one per tools/call received
	abandoned chan struct{} // one per tools/call whose request went away
	release   chan struct{}
	cancelled atomic.Int32 // notifications/cancelled received
}

func (f *fakeMCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	notified := func(method string) {
		if method == "notifications/cancelled" {
			f.cancelled.Add(1)
		}
	}
	serveFakeMCP(w, r, notified, func() any {
		f.calls <- struct{}{}
		select {
		case <-r.Context().Done():
			f.abandoned <- struct{}{}
			return nil
		case <-f.release:
		}
		return map[string]any{"content": []any{map[string]any{"type": "text", "text": "done"}}}
	})
}

// serveFakeMCP answers one request as a minimal MCP server: initialize,
// tools/list and notifications (reported to notified); call runs a
// tools/call and returns its result, or nil when it answered (or dropped)
// the request itself.
func serveFakeMCP(w http.ResponseWriter, r *http.Request, notified func(method string), call func() any) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, &m)
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if len(m.ID) == 0 {
		notified(m.Method)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var result any = map[string]any{}
	switch m.Method {
	case "initialize":
		result = map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{"tools": map[string]any{}}, "serverInfo": map[string]any{"name": "fake", "version": "1"}}
	case "tools/list":
		result = map[string]any{"tools": []any{}}
	case "tools/call":
		if result = call(); result == nil {
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

// When the MCP client gives up on a tools/call (notifications/cancelled),
// the bridge stops waiting for Snowflake: the upstream request is abandoned,
// the notification still reaches the server, and the session goes on.
func TestBridgeStopsWaitingForACancelledCall(t *testing.T) {
	f := &fakeMCP{calls: make(chan struct{}, 4), abandoned: make(chan struct{}, 4), release: make(chan struct{})}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	defer close(f.release) // ends a call the bridge failed to abandon
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	session, done := startBridge(ctx, t, base, srv.URL, 1)

	callCtx, giveUp := context.WithCancel(ctx)
	callErr := make(chan error, 1)
	go func() {
		_, err := session.CallTool(callCtx, &mcp.CallToolParams{Name: "slow"})
		callErr <- err
	}()
	<-f.calls
	giveUp()
	if err := <-callErr; err == nil {
		t.Fatal("a cancelled call returned a result")
	}
	select {
	case <-f.abandoned:
	case <-ctx.Done():
		t.Fatal("the bridge kept waiting for a call its client cancelled")
	}
	// MaxInFlight is 1: the cancelled call must have freed its slot.
	if _, err := session.ListTools(ctx, nil); err != nil {
		t.Fatalf("tools/list after a cancelled call: %v", err)
	}
	if n := f.cancelled.Load(); n != 1 {
		t.Errorf("the server got %d notifications/cancelled; want 1", n)
	}
	session.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(within):
		t.Error("Run did not return after the client hung up")
	}
}

// startBridge runs a bridge to url over base and connects an MCP client
// session to it; done receives what the bridge's Run returns.
func startBridge(ctx context.Context, t *testing.T, base http.RoundTripper, url string, maxInFlight int) (*mcp.ClientSession, chan error) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	b := &Bridge{ServerURL: url, Log: log, MaxInFlight: maxInFlight,
		Transport: &Transport{Base: base, Tokens: &fakeTokens{}, Log: log, Profile: "prod", Origin: Origin(url)}}
	clientSide, bridgeSide := mcp.NewInMemoryTransports()
	down, err := bridgeSide.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, down) }()
	session, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, clientSide, nil)
	if err != nil {
		t.Fatal(err)
	}
	return session, done
}
