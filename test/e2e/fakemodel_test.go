package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeModel is a model API for headless MCP clients: OpenAI Chat
// Completions (Qwen Code, opencode, Copilot CLI) and the Responses API
// (Codex). Asked anything with the Snowflake tool available, it calls the
// tool; given the first result it runs between (the test invalidates the
// access token there) and calls the tool again; given the second it
// answers with both results. It records every tool result it was sent.
type fakeModel struct {
	*httptest.Server
	between func()

	mu      sync.Mutex
	once    sync.Once
	results []string
}

// snowflakeTool matches how clients name the stand-in's gong_search tool:
// snowflake_gong_search, snowflake-gong_search, mcp__snowflake__gong_search.
var snowflakeTool = regexp.MustCompile(`[A-Za-z0-9_-]*gong_search`)

func newFakeModel(t *testing.T, between func()) *fakeModel {
	m := &fakeModel{between: between}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"fake"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", m.chat)
	mux.HandleFunc("POST /v1/responses", m.responses)
	m.Server = httptest.NewServer(mux)
	t.Cleanup(m.Close)
	return m
}

// Results are the tool results the model was sent, in order.
func (m *fakeModel) Results() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.results...)
}

// next decides the model's move from the tool results so far: call the
// tool again (after the first, once the test's between ran), or finish.
func (m *fakeModel) next(results []string) (callTool bool, final string) {
	m.mu.Lock()
	if len(results) > len(m.results) {
		m.results = append([]string(nil), results...)
	}
	m.mu.Unlock()
	switch len(results) {
	case 0:
		return true, ""
	case 1:
		m.once.Do(m.between)
		return true, ""
	}
	return false, "DONE: " + strings.Join(results, " | ")
}

// chatMessage is an OpenAI Chat Completions message.
type chatMessage struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []struct {
		ID string `json:"id"`
	} `json:"tool_calls"`
}

func (m *fakeModel) chat(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string        `json:"model"`
		Messages []chatMessage `json:"messages"`
		Stream   bool          `json:"stream"`
		Tools    []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
	}
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &req)
	var results []string
	for _, msg := range req.Messages {
		if msg.Role == "tool" {
			results = append(results, textOf(msg.Content))
		}
	}
	// The tool to call: one offered directly, or (Qwen Code defers MCP
	// tools) through its tool_call tool, by the name it lists in the
	// conversation.
	name, args := "", `{"query":"revenue"}`
	for _, tool := range req.Tools {
		if snowflakeTool.MatchString(tool.Function.Name) {
			name = tool.Function.Name
		}
	}
	if name == "" {
		for _, tool := range req.Tools {
			if tool.Function.Name == "tool_call" {
				if deferred := regexp.MustCompile(`mcp__[A-Za-z0-9_-]+?__gong_search`).FindString(string(body)); deferred != "" {
					name, args = "tool_call", fmt.Sprintf(`{"name":%q,"arguments":{"query":"revenue"}}`, deferred)
				}
			}
		}
	}
	call, final := m.next(results)
	msg := map[string]any{"role": "assistant", "content": final}
	finish := "stop"
	switch {
	case name == "" && len(results) == 0:
		msg["content"] = "ok" // a side request (a title, a memory note) without the tool
	case call:
		msg["content"], finish = nil, "tool_calls"
		msg["tool_calls"] = []map[string]any{{"id": fmt.Sprintf("call_%d", len(results)+1), "type": "function",
			"function": map[string]any{"name": name, "arguments": args}}}
	}
	usage := map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
	if !req.Stream {
		writeJSONBody(w, map[string]any{"id": "c1", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta map[string]any, finish any, usage any) {
		data, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}, "usage": usage})
		fmt.Fprintf(w, "data: %s\n\n", data)
	}
	delta := map[string]any{"role": "assistant", "content": msg["content"]}
	if calls, ok := msg["tool_calls"].([]map[string]any); ok {
		calls[0]["index"] = 0
		delta = map[string]any{"role": "assistant", "tool_calls": calls}
	}
	chunk(delta, nil, nil)
	chunk(map[string]any{}, finish, usage)
	io.WriteString(w, "data: [DONE]\n\n")
}

// textOf flattens a message content (a string or an array of parts).
func textOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func (m *fakeModel) responses(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string            `json:"model"`
		Input []json.RawMessage `json:"input"`
		Tools []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		} `json:"tools"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	var results []string
	for _, raw := range req.Input {
		var item struct {
			Type   string          `json:"type"`
			Output json.RawMessage `json:"output"`
		}
		json.Unmarshal(raw, &item)
		if item.Type == "function_call_output" {
			results = append(results, textOf(item.Output)+string(item.Output))
		}
	}
	name, namespace := "", ""
	for _, tool := range req.Tools {
		if tool.Type == "namespace" {
			for _, inner := range tool.Tools {
				if snowflakeTool.MatchString(inner.Name) {
					name, namespace = inner.Name, tool.Name
				}
			}
		} else if snowflakeTool.MatchString(tool.Name) {
			name = tool.Name
		}
	}
	call, final := m.next(results)
	item := map[string]any{"type": "message", "id": "m1", "role": "assistant", "status": "completed",
		"content": []map[string]any{{"type": "output_text", "text": final, "annotations": []any{}}}}
	switch {
	case name == "" && len(results) == 0:
		item["content"] = []map[string]any{{"type": "output_text", "text": "ok", "annotations": []any{}}}
	case call:
		item = map[string]any{"type": "function_call", "id": fmt.Sprintf("fc%d", len(results)+1), "call_id": fmt.Sprintf("call_%d", len(results)+1),
			"name": name, "arguments": `{"query":"revenue"}`, "status": "completed"}
		if namespace != "" {
			item["namespace"] = namespace
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	event := func(kind string, fields map[string]any) {
		fields["type"] = kind
		data, _ := json.Marshal(fields)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, data)
	}
	resp := map[string]any{"id": "resp_1", "object": "response", "status": "in_progress", "model": req.Model, "output": []any{}}
	event("response.created", map[string]any{"response": resp})
	event("response.output_item.added", map[string]any{"output_index": 0, "item": item})
	event("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	done := map[string]any{"id": "resp_1", "object": "response", "status": "completed", "model": req.Model, "output": []any{item},
		"usage": map[string]any{"input_tokens": 10, "input_tokens_details": map[string]any{"cached_tokens": 0}, "output_tokens": 5,
			"output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 15}}
	event("response.completed", map[string]any{"response": done})
}
