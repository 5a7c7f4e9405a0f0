package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClaudeCodeToolCall is issue #11, section 3, with a real Claude Code and
// a real tool call: one `claude -p` stream-json session, driven offline by a
// fake of the Anthropic Messages API that answers every user turn with a
// tool_use of the Snowflake tool. The server entry is in headersHelper mode.
// In turn 2 the stand-in invalidates every access token early (the refresh
// token stays valid) just as the tool call arrives. Claude Code then gets a
// 401, re-runs the helper and reconnects to retry once; the call must succeed
// with no user action, so the helper's re-run has to bring a token the
// server accepts.
//
// Issue #20, item 8: the same with the helper inside the user's own shell
// scripts, two levels deep (#!/bin/sh running #!/bin/bash running
// sfmcp-token): the daemon must still find Claude Code above them.
func TestClaudeCodeToolCall(t *testing.T) {
	t.Run("helper as mcp add writes it", func(t *testing.T) { claudeCodeToolCall(t, false) })
	t.Run("helper inside two scripts", func(t *testing.T) { claudeCodeToolCall(t, true) })
}

func claudeCodeToolCall(t *testing.T, wrapped bool) {
	claude := claudeBinary(t)
	p := signedIn(t)
	project := filepath.Join(p.dir, "project")
	os.Mkdir(project, 0o755)
	mcpFile := filepath.Join(project, ".mcp.json")
	if code, _, errOut := p.run(nil, "mcp", "add", "snowflake", "--file", mcpFile, "--profile", "prod",
		"--server", "DB.PUBLIC.GONG_MCP", "--mode", "headers", "--command", binary); code != 0 {
		t.Fatalf("mcp add: %s", errOut)
	}
	if wrapped {
		wrapHelper(t, p.dir, mcpFile)
	}
	ca := trustClaudeProject(t, p, project, p.sf)

	// Snowflake invalidates the access token early, at the first tools/call
	// once armed: revoking at an exact point of Claude Code's MCP traffic
	// rather than between turns, because Claude Code may still be
	// reconnecting after turn 1 (it does after every event-stream answer,
	// which ends with "data: [DONE]"). after lists the MCP methods the
	// stand-in saw from then on.
	var (
		armed  atomic.Bool
		revoke sync.Once
		mu     sync.Mutex
		after  []string
	)
	p.sf.OnMCPRequest(func(method string) {
		if !armed.Load() {
			return
		}
		if method == "tools/call" {
			revoke.Do(p.sf.RevokeAccessTokens)
		}
		mu.Lock()
		after = append(after, cmp.Or(method, "(none)"))
		mu.Unlock()
	})

	const tool = "mcp__snowflake__gong_search" // Claude Code's name for the entry's tool
	api := newFakeAnthropic(t, tool)
	debugLog := filepath.Join(p.dir, "claude-debug.log")
	// --allowedTools lets the tool run without a permission prompt (and
	// works as root, where --dangerously-skip-permissions is refused).
	cmd := exec.Command(claude, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
		"--allowedTools", tool, "--debug-file", debugLog)
	cmd.Dir = project
	cmd.Env = append(append([]string{}, p.env...), "NODE_EXTRA_CA_CERTS="+ca,
		"ANTHROPIC_BASE_URL="+api.URL, "ANTHROPIC_API_KEY=x", "ENABLE_TOOL_SEARCH=false",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1")
	s := startClaudeSession(t, cmd)

	// Turn 1: the token the daemon holds is valid.
	s.turn(1)
	r1 := api.waitResult(t, 1, 120*time.Second, s)
	s.waitTurnEnd(1)
	c1 := p.sf.Counters()
	if r1.isError || !strings.Contains(r1.text, "gong_search ran as ALICE") || c1.MCPToolCalls != 1 {
		t.Fatalf("turn 1 (valid token): tool_result is_error=%v %q; stand-in answered %d tools/call\nAPI requests:\n%s",
			r1.isError, r1.text, c1.MCPToolCalls, api.requests())
	}

	// Turn 2: the token is revoked as its tool call arrives; no user action.
	armed.Store(true)
	s.turn(2)
	r2 := api.waitResult(t, 2, 60*time.Second, s)
	s.waitTurnEnd(2)
	c2 := p.sf.Counters()
	refused, refreshes := c2.MCPUnauthorized-c1.MCPUnauthorized, c2.Refreshes-c1.Refreshes
	mu.Lock()
	t.Logf("turn 2: MCP requests from the revocation on: %s; %d refused; %d refreshes; %d successful tools/call in all",
		strings.Join(after, ", "), refused, refreshes, c2.MCPToolCalls)
	mu.Unlock()
	if refused == 0 {
		t.Errorf("turn 2: the stand-in refused no MCP request, so the revoked token was never sent and the retry was not exercised")
	}
	if r2.isError || !strings.Contains(r2.text, "gong_search ran as ALICE") || c2.MCPToolCalls != 2 {
		why := ""
		if refreshes == 0 && refused >= 2 {
			why = "\nThe daemon did not refresh: Claude Code re-ran the headersHelper after the 401, got the same " +
				"cached (revoked) token again, and the reconnect for its one retry was refused too (issue #11 " +
				"section 3: the daemon must take the helper's re-run as a refusal of the token it handed out)."
		}
		t.Errorf("turn 2 (access token invalidated early): the tool call failed, is_error=%v: %q\n"+
			"stand-in: %d MCP requests refused, %d refreshes since turn 1, %d successful tools/call in all (want 2)%s",
			r2.isError, r2.text, refused, refreshes, c2.MCPToolCalls, why)
	}

	if ran, _ := os.ReadFile(filepath.Join(p.dir, "wrap.log")); wrapped && strings.Count(string(ran), "helper ran") < 2 {
		t.Errorf("Claude Code ran the wrapped helper %d times, want at least 2 (a connection, and the re-run after the 401)", strings.Count(string(ran), "helper ran"))
	}
	stdout, stderr := s.close()
	debug, _ := os.ReadFile(debugLog)
	t.Logf("Messages API requests:\n%s", api.requests())
	if t.Failed() {
		t.Logf("Claude Code's debug log on the server:\n%s", grepLines(string(debug), mcpDebug))
	}
	for where, text := range map[string]string{
		"claude stdout": stdout, "claude stderr": stderr, "claude debug log": string(debug),
		"Messages API requests": api.bodies(), "test log": api.requests(),
	} {
		leaks.Record(where, text)
	}
}

// wrapHelper points the entry's headersHelper at a script of the user's
// own that runs another, which runs the helper sfmcp wrote: neither is
// exec'd, so both stay between Claude Code and sfmcp-token, each under its
// own name.
func wrapHelper(t *testing.T, dir, mcpFile string) {
	t.Helper()
	var doc map[string]map[string]map[string]any
	data, _ := os.ReadFile(mcpFile)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	entry := doc["mcpServers"]["snowflake"]
	inner, outer := filepath.Join(dir, "inner-wrap"), filepath.Join(dir, "outer-wrap")
	scripts := map[string]string{
		inner: "#!/bin/bash\necho \"helper ran\" >>" + filepath.Join(dir, "wrap.log") + "\n" + entry["headersHelper"].(string) + "\n",
		outer: "#!/bin/sh\n" + inner + "\n",
	}
	for path, text := range scripts {
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entry["headersHelper"] = outer
	data, _ = json.Marshal(doc)
	if err := os.WriteFile(mcpFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mcpDebug picks the lines of Claude Code's debug log that tell what
// happened to the server's connections and tool calls.
var mcpDebug = regexp.MustCompile(`snowflake.*(headersHelper|401|tool|Reconnect|Closing|closed|dropped|failed|ERROR)`)

// grepLines returns the lines of text that match re.
func grepLines(text string, re *regexp.Regexp) string {
	var b strings.Builder
	for l := range strings.Lines(text) {
		if re.MatchString(l) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// claudeSession is one `claude -p --input-format stream-json` process: the
// test writes one user message per turn on its stdin and reads its
// stream-json events from stdout.
type claudeSession struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	ends   chan string   // each "result" event, which closes a turn
	exited chan struct{} // closed once stdout is done and the process has exited
	stdout strings.Builder
	stderr bytes.Buffer
}

func startClaudeSession(t *testing.T, cmd *exec.Cmd) *claudeSession {
	s := &claudeSession{t: t, cmd: cmd, ends: make(chan string, 8), exited: make(chan struct{})}
	cmd.Stderr = &s.stderr
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := sc.Text()
			s.stdout.WriteString(line + "\n")
			var ev struct{ Type string }
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == "result" {
				s.ends <- line
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

// turn sends user turn n; the fake API recognises it by its marker.
func (s *claudeSession) turn(n int) {
	line, _ := json.Marshal(map[string]any{"type": "user", "message": map[string]any{"role": "user",
		"content": fmt.Sprintf("sfmcp turn %d: search the Gong calls for renewals", n)}})
	if _, err := s.stdin.Write(append(line, '\n')); err != nil {
		s.t.Fatalf("turn %d: write to claude: %v", n, err)
	}
}

// waitTurnEnd waits for the "result" event that ends turn n.
func (s *claudeSession) waitTurnEnd(n int) {
	s.t.Helper()
	select {
	case <-s.ends:
	case <-s.exited:
		s.t.Fatalf("turn %d: claude exited before the turn ended (%v)\nstderr:\n%s", n, s.cmd.ProcessState, s.stderr.String())
	case <-time.After(60 * time.Second):
		s.t.Fatalf("turn %d: no result event from claude", n)
	}
}

// close ends the session (EOF on stdin) and returns all it wrote.
func (s *claudeSession) close() (stdout, stderr string) {
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Error("claude did not exit after its input ended")
	}
	return s.stdout.String(), s.stderr.String()
}

// fakeAnthropic is a fake of the Anthropic Messages API, just enough for
// Claude Code: a user turn marked "sfmcp turn N" is answered with a
// tool_use of tool; the next request, which carries its tool_result, is
// recorded and answered with a short text and end_turn.
type fakeAnthropic struct {
	*httptest.Server
	tool    string
	results chan toolResult

	mu     sync.Mutex
	issued map[string]int // tool_use id → turn, until its tool_result arrives
	asked  map[int]bool   // the turns answered with a tool_use
	seen   []string       // one line per request, for failure messages
	body   strings.Builder
}

type toolResult struct {
	turn    int
	isError bool
	text    string
}

func newFakeAnthropic(t *testing.T, tool string) *fakeAnthropic {
	f := &fakeAnthropic{tool: tool, results: make(chan toolResult, 8), issued: map[string]int{}, asked: map[int]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAnthropic) requests() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.seen, "\n")
}

func (f *fakeAnthropic) bodies() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body.String()
}

func (f *fakeAnthropic) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, fmt.Sprintf(format, args...))
}

// waitResult waits for the tool_result of turn n.
func (f *fakeAnthropic) waitResult(t *testing.T, n int, d time.Duration, s *claudeSession) toolResult {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case r := <-f.results:
			if r.turn == n {
				return r
			}
		case <-s.exited:
			t.Fatalf("turn %d: claude exited (%v)\nAPI requests:\n%s\nstderr:\n%s", n, s.cmd.ProcessState, f.requests(), s.stderr.String())
		case <-deadline:
			t.Fatalf("turn %d: no tool_result reached the Messages API\nAPI requests:\n%s", n, f.requests())
		}
	}
}

type apiBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ToolUseID string          `json:"tool_use_id"`
	IsError   bool            `json:"is_error"`
	Content   json.RawMessage `json:"content"`
}

// blocks reads a message's content, a string or a list of blocks.
func blocks(raw json.RawMessage) []apiBlock {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []apiBlock{{Type: "text", Text: s}}
	}
	var bs []apiBlock
	json.Unmarshal(raw, &bs)
	return bs
}

var turnMarker = regexp.MustCompile(`sfmcp turn (\d+)`)

func (f *fakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.body.Write(body)
	f.mu.Unlock()
	if r.URL.Path == "/v1/messages/count_tokens" {
		f.note("%s %s", r.Method, r.URL)
		writeJSONBody(w, map[string]any{"input_tokens": 100})
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		// HEAD /api/hello is Claude Code's connectivity check.
		f.note("%s %s", r.Method, r.URL)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	offered := false
	for _, tl := range req.Tools {
		offered = offered || tl.Name == f.tool
	}
	turn := 0
	var result *toolResult
	f.mu.Lock()
	for _, m := range req.Messages {
		if m.Role != "user" {
			continue
		}
		for _, b := range blocks(m.Content) {
			if mm := turnMarker.FindStringSubmatch(b.Text); mm != nil {
				turn, _ = strconv.Atoi(mm[1])
			}
			if n, ok := f.issued[b.ToolUseID]; ok && b.Type == "tool_result" {
				delete(f.issued, b.ToolUseID)
				text := ""
				for _, c := range blocks(b.Content) {
					text += c.Text
				}
				result = &toolResult{turn: n, isError: b.IsError, text: text}
			}
		}
	}
	id := fmt.Sprintf("toolu_sfmcp_%d", turn)
	ask := result == nil && turn > 0 && offered && !f.asked[turn]
	if ask {
		f.asked[turn], f.issued[id] = true, turn
	}
	f.mu.Unlock()

	what := fmt.Sprintf("POST %s model=%s stream=%v messages=%d tools=%d (%s offered: %v): ",
		r.URL, req.Model, req.Stream, len(req.Messages), len(req.Tools), f.tool, offered)
	switch {
	case result != nil:
		f.note("%sthe tool_result of turn %d, is_error=%v: %q; answered end_turn", what, result.turn, result.isError, result.text)
		f.results <- *result
		f.answer(w, req.Model, req.Stream, "", "done")
	case ask:
		f.note("%sturn %d; answered tool_use %s", what, turn, id)
		f.answer(w, req.Model, req.Stream, id, "")
	default:
		f.note("%sanswered text", what)
		f.answer(w, req.Model, req.Stream, "", "ok")
	}
}

// answer writes one assistant message: a tool_use of f.tool with id when
// id is set, text otherwise; as an event stream when the request asked for
// one.
func (f *fakeAnthropic) answer(w http.ResponseWriter, model string, stream bool, id, text string) {
	block := map[string]any{"type": "text", "text": text}
	stop := "end_turn"
	input := `{"query":"renewals"}`
	if id != "" {
		block = map[string]any{"type": "tool_use", "id": id, "name": f.tool, "input": json.RawMessage(input)}
		stop = "tool_use"
	}
	usage := map[string]any{"input_tokens": 100, "output_tokens": 10}
	msg := map[string]any{"id": "msg_" + strconv.FormatInt(time.Now().UnixNano(), 36), "type": "message", "role": "assistant",
		"model": model, "content": []any{block}, "stop_reason": stop, "stop_sequence": nil, "usage": usage}
	if !stream {
		writeJSONBody(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	event := func(name string, data map[string]any) {
		data["type"] = name
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
	}
	msg["content"], msg["stop_reason"] = []any{}, nil
	event("message_start", map[string]any{"message": msg})
	if id != "" {
		event("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "tool_use", "id": id, "name": f.tool, "input": map[string]any{}}})
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": input}})
	} else {
		event("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": text}})
	}
	event("content_block_stop", map[string]any{"index": 0})
	event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 10}})
	event("message_stop", map[string]any{})
}

func writeJSONBody(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
