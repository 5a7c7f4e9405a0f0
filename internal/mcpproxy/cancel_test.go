package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// thinkingMCP starts the answer of a tools/call (headers flushed) and then
// thinks until released; it reports a forwarded notifications/cancelled.
type thinkingMCP struct {
	ctype     string
	eventID   bool
	release   chan struct{}
	cancelled chan struct{}
}

func (f *thinkingMCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	notified := func(method string) {
		if method == "notifications/cancelled" {
			f.cancelled <- struct{}{}
		}
	}
	serveFakeMCP(w, r, notified, func() any {
		w.Header().Set("Content-Type", f.ctype)
		w.WriteHeader(http.StatusOK)
		if f.eventID {
			fmt.Fprintf(w, "id: 1\nevent: message\ndata:\n\n")
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return nil
	})
}

// headersSeen tells when an answer's headers reached the bridge.
type headersSeen struct {
	rt   http.RoundTripper
	seen chan string
}

func (h *headersSeen) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.rt.RoundTrip(r)
	if err == nil {
		h.seen <- resp.Header.Get("Content-Type")
	}
	return resp, err
}

// Second review of issue #11: a client that cancels a call whose answer
// has begun must not end the bridge's session with Snowflake (the MCP SDK
// takes a broken body for a failed connection).
func TestCancelAfterTheAnswerBeganKeepsTheSession(t *testing.T) {
	for name, f := range map[string]*thinkingMCP{
		"json":           {ctype: "application/json"},
		"sse":            {ctype: "text/event-stream"},
		"sse with an id": {ctype: "text/event-stream", eventID: true},
	} {
		t.Run(name, func(t *testing.T) {
			f.release, f.cancelled = make(chan struct{}), make(chan struct{}, 1)
			srv := httptest.NewTLSServer(f)
			defer srv.Close()
			defer close(f.release)
			base := srv.Client().Transport.(*http.Transport).Clone()
			ConfigureTransport(base)
			seen := &headersSeen{rt: base, seen: make(chan string, 16)}
			ctx, cancel := context.WithTimeout(context.Background(), within)
			defer cancel()
			session, done := startBridge(ctx, t, seen, srv.URL, 4)
			for len(seen.seen) > 0 {
				<-seen.seen // initialize and its notification
			}
			callCtx, giveUp := context.WithCancel(ctx)
			callErr := make(chan error, 1)
			go func() {
				_, err := session.CallTool(callCtx, &mcp.CallToolParams{Name: "slow"})
				callErr <- err
			}()
			for ct := ""; ct != f.ctype; {
				select {
				case ct = <-seen.seen: // the tools/call answer has begun
				case <-ctx.Done():
					t.Fatal("the tools/call answer never began")
				}
			}
			giveUp()
			<-callErr
			select {
			case <-f.cancelled: // forwarded, after the bridge stopped waiting
			case <-ctx.Done():
				t.Fatal("the cancellation was not forwarded")
			}
			if _, err := session.ListTools(ctx, nil); err != nil {
				t.Errorf("tools/list after a cancelled call: %v", err)
			}
			session.Close()
			if err := <-done; err != nil {
				t.Errorf("the bridge's session ended with: %v", err)
			}
		})
	}
}

// A call whose answer has begun forgets its id once and only its own
// entry: a later call with the same id can still be cancelled.
func TestForgettingACallLeavesALaterOneWithItsId(t *testing.T) {
	tr := &Transport{}
	id, _ := jsonrpc.MakeID(float64(7))
	call := callInfo{method: "tools/call", id: id, isCall: true}
	_, cancelA := context.WithCancelCause(context.Background())
	releaseA, untrackA := tr.track(call, cancelA)
	untrackA() // A's answer began
	ctxB, cancelB := context.WithCancelCause(context.Background())
	releaseB, _ := tr.track(call, cancelB)
	defer releaseB()
	releaseA() // A's body closes
	if !tr.Cancel(id) || !errors.Is(context.Cause(ctxB), ErrCancelled) {
		t.Fatal("the later call with the same id could not be cancelled")
	}
}
