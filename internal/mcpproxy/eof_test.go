package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// lockedBuffer is the client's stdout, written by the bridge.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Close() error { return nil }

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A pipe's input ends right after its requests (printf … | mcp-proxy):
// the bridge answers every one of them, a slow tools/call included, before
// Run returns.
func TestBridgeAnswersWhatAPipeAskedBeforeItsInputEnded(t *testing.T) {
	f := &fakeMCP{calls: make(chan struct{}, 4), abandoned: make(chan struct{}, 4), release: make(chan struct{})}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	base := srv.Client().Transport.(*http.Transport).Clone()
	ConfigureTransport(base)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()

	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"pipe","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow"}}`,
	}, "\n") + "\n"
	out := &lockedBuffer{}
	down, err := (&mcp.IOTransport{Reader: io.NopCloser(strings.NewReader(in)), Writer: out}).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	b := &Bridge{ServerURL: srv.URL, Log: log,
		Transport: &Transport{Base: base, Tokens: &fakeTokens{}, Log: log, Profile: "prod", Origin: Origin(srv.URL)}}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, down) }()

	select {
	case <-f.calls:
	case err := <-done:
		t.Fatalf("Run returned (%v) before the tools/call reached the server; output %q", err, out.String())
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while the tools/call was unanswered", err)
	default:
	}
	close(f.release)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	ids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			ID    json.RawMessage `json:"id"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.Error != nil {
			t.Errorf("answer %q: not a successful response (%v)", line, err)
		}
		ids[string(m.ID)] = true
	}
	for _, id := range []string{"1", "2", "3"} {
		if !ids[id] {
			t.Errorf("no answer to request %s; output:\n%s", id, out.String())
		}
	}
}
