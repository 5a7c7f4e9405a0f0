package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// lineRecorder keeps every line the bridge writes to stdout while passing
// the bytes on to the SDK client.
type lineRecorder struct {
	mu    sync.Mutex
	lines []string
	part  bytes.Buffer
}

func (l *lineRecorder) record(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part.Write(p)
	for {
		i := bytes.IndexByte(l.part.Bytes(), '\n')
		if i < 0 {
			return
		}
		l.lines = append(l.lines, string(l.part.Next(i+1)))
	}
}

type teeReadCloser struct {
	r   io.ReadCloser
	rec *lineRecorder
}

func (t teeReadCloser) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.rec.record(p[:n])
	return n, err
}
func (t teeReadCloser) Close() error { return t.r.Close() }

func TestMCPProxyEndToEnd(t *testing.T) {
	p := signedIn(t)
	cmd := p.cmd(nil, "mcp-proxy", "--profile", "prod", "--server", "db.public.gong_mcp")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rec := &lineRecorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "sfmcp-test", Version: "1"}, nil)
	session, err := c.Connect(ctx, &mcp.IOTransport{Reader: teeReadCloser{stdout, rec}, Writer: stdin}, nil)
	if err != nil {
		t.Fatalf("initialize through the bridge: %v\n%s", err, stderr.String())
	}
	tools, err := session.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 2 || tools.Tools[0].Name != "gong_search" {
		t.Fatalf("tools/list: %v %+v", err, tools)
	}
	call := func() (*mcp.CallToolResult, error) {
		return session.CallTool(ctx, &mcp.CallToolParams{Name: "gong_search", Arguments: map[string]any{"query": "renewals"}})
	}
	text := func(r *mcp.CallToolResult) string {
		if r == nil || len(r.Content) == 0 {
			return ""
		}
		tc, _ := r.Content[0].(*mcp.TextContent)
		if tc == nil {
			return ""
		}
		return tc.Text
	}
	// tools/call answered as an event stream ending with data: [DONE].
	res, err := call()
	if err != nil || !strings.Contains(text(res), `gong_search ran as ALICE with role MCP_USERS: {"query":"renewals"}`) {
		t.Fatalf("tools/call (SSE): %v %q\n%s", err, text(res), stderr.String())
	}
	// ... and as one JSON body.
	srv := snowflaketest.DefaultMCPServer()
	srv.JSONToolCalls = true
	p.sf.AddMCPServer(srv)
	if res, err := call(); err != nil || !strings.Contains(text(res), "ran as ALICE") {
		t.Fatalf("tools/call (JSON): %v %q", err, text(res))
	}

	// The access token dies early, server-side: the next call still works,
	// through exactly one forced refresh.
	before := p.sf.Counters()
	p.sf.RevokeAccessTokens()
	if res, err := call(); err != nil || !strings.Contains(text(res), "ran as ALICE") {
		t.Fatalf("tools/call after the token was revoked: %v %q\n%s", err, text(res), stderr.String())
	}
	after := p.sf.Counters()
	if after.Refreshes-before.Refreshes != 1 || after.MCPUnauthorized-before.MCPUnauthorized != 1 {
		t.Fatalf("refreshes +%d, 401s +%d; want +1 and +1", after.Refreshes-before.Refreshes, after.MCPUnauthorized-before.MCPUnauthorized)
	}

	// The sign-in itself is revoked: the client gets a JSON-RPC error that
	// names the fix, and the session stays usable.
	p.sf.RevokeUser("alice")
	_, err = call()
	if err == nil || !strings.Contains(err.Error(), "sfmcp-token login --profile prod") {
		t.Fatalf("after revoking the sign-in: %v", err)
	}
	if _, err := session.ListTools(ctx, nil); err == nil || !strings.Contains(err.Error(), "sfmcp-token login") {
		t.Fatalf("the session must keep answering with advice: %v", err)
	}

	session.Close()
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bridge exit: %v\n%s", err, stderr.String())
	}
	// stdout carried nothing but JSON-RPC messages, one per line.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.lines) < 6 || rec.part.Len() != 0 {
		t.Fatalf("%d lines, %d stray bytes", len(rec.lines), rec.part.Len())
	}
	for _, line := range rec.lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", line)
		}
	}
	leaks.Record(t.Name()+": the bridge's output", stderr.String()+strings.Join(rec.lines, ""))
}

func TestMCPProxyRetriesIdempotentOnly(t *testing.T) {
	p := signedIn(t)
	upstream := snowflaketest.DefaultMCPServer()
	cmd := p.cmd(nil, "mcp-proxy", "--profile", "prod", "--server", "https://"+p.sf.Host()+upstream.MCPPath())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Start()
	defer func() { stdin.Close(); cmd.Wait() }()
	answers := bufio.NewReader(stdout)
	send := func(msg string) map[string]any {
		io.WriteString(stdin, msg+"\n")
		line, err := answers.ReadString('\n')
		if err != nil {
			t.Fatalf("no answer: %v\n%s", err, stderr.String())
		}
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		return m
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	p.sf.FailMCP(503, 2)
	if m := send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); m["result"] == nil {
		t.Fatalf("tools/list after two 503s should succeed by retrying: %v\n%s", m, stderr.String())
	}
	p.sf.FailMCP(503, 1)
	before := p.sf.Counters().MCPRequests
	m := send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"gong_search","arguments":{}}}`)
	if m["error"] == nil || p.sf.Counters().MCPRequests-before != 1 {
		t.Fatalf("tools/call must not be replayed: %v, %d requests", m, p.sf.Counters().MCPRequests-before)
	}
}
