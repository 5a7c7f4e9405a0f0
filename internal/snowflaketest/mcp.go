package snowflaketest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// MCPServer is a Snowflake-managed MCP server (CREATE MCP SERVER).
type MCPServer struct {
	Database, Schema, Name string
	Tools                  []Tool
	// UsageRoles are the roles with USAGE on the server; empty means any.
	UsageRoles []string
	// JSONToolCalls answers tools/call with one JSON body, as Snowflake
	// did before BCR-2405, instead of an event stream.
	JSONToolCalls bool
}

// Tool is one tool of an MCP server specification.
type Tool struct {
	Name, Title, Description, Type string
}

// DefaultMCPServer is DB.PUBLIC.GONG_MCP with a search tool and a SQL tool.
func DefaultMCPServer() MCPServer {
	return MCPServer{Database: "DB", Schema: "PUBLIC", Name: "GONG_MCP", Tools: []Tool{
		{Name: "gong_search", Title: "Gong call search", Description: "Search Gong call transcripts.", Type: "CORTEX_SEARCH_SERVICE_QUERY"},
		{Name: "sql_exec", Title: "SQL execution", Description: "Run a read-only SQL query.", Type: "SYSTEM_EXECUTE_SQL"},
	}}
}

// MCPPath is the URL path of an MCP server.
func (m MCPServer) MCPPath() string {
	return fmt.Sprintf("/api/v2/databases/%s/schemas/%s/mcp-servers/%s", m.Database, m.Schema, m.Name)
}

// AddMCPServer creates (or replaces) an MCP server.
func (s *Server) AddMCPServer(m MCPServer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mcpServers[mcpKey(m.Database, m.Schema, m.Name)] = &m
}

// Unquoted identifiers resolve case-insensitively in Snowflake.
func mcpKey(db, schema, name string) string {
	return strings.ToUpper(db + "." + schema + "." + name)
}

// ProtocolVersions the stand-in accepts, newest first (Snowflake documents
// 2025-11-25, earlier 2025-06-18).
var ProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// FailMCP makes the next n MCP requests answer with status.
func (s *Server) FailMCP(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.mcpFaults = append(s.mcpFaults, status)
	}
}

// OnMCPRequest registers fn to run (outside the lock) at the start of every
// MCP request, before it is authenticated, with its JSON-RPC method ("" when
// there is none); tests use it to act at an exact point of a client's session.
func (s *Server) OnMCPRequest(fn func(method string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mcpHooks = append(s.mcpHooks, fn)
}

func (s *Server) handleMCP(w http.ResponseWriter, r *http.Request) {
	s.runMCPHooks(w, r)
	srv, ok := s.mcpServerFor(w, r)
	if !ok {
		return
	}
	tok, ok := s.authenticateMCP(w, r, srv)
	if !ok {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"code": "390405", "message": "Only POST is supported."})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	var req rpcRequest
	if err != nil || json.Unmarshal(body, &req) != nil || req.JSONRPC != "2.0" || req.Method == "" {
		writeJSON(w, http.StatusBadRequest, rpcError(nil, -32700, "Parse error: expected one JSON-RPC 2.0 request."))
		return
	}
	if len(req.ID) == 0 {
		// A notification: accepted, nothing to answer.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.answerRPC(w, r, srv, tok, req)
}

// runMCPHooks calls the OnMCPRequest hooks with the request's JSON-RPC
// method, leaving the body for the handler to read again.
func (s *Server) runMCPHooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hooks := slices.Clone(s.mcpHooks)
	s.mu.Unlock()
	if len(hooks) == 0 {
		return
	}
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req rpcRequest
	_ = json.Unmarshal(body, &req)
	for _, h := range hooks {
		h(req.Method)
	}
}

// mcpServerFor counts the request, answers it with an injected fault if
// one is due, and finds the MCP server its path names; on false it has
// answered.
func (s *Server) mcpServerFor(w http.ResponseWriter, r *http.Request) (*MCPServer, bool) {
	s.mu.Lock()
	s.counters.MCPRequests++
	if len(s.mcpFaults) > 0 {
		status := s.mcpFaults[0]
		s.mcpFaults = s.mcpFaults[1:]
		s.mu.Unlock()
		writeJSON(w, status, map[string]any{"code": "390503", "message": "Injected failure."})
		return nil, false
	}
	srv, ok := s.mcpServers[mcpKey(r.PathValue("db"), r.PathValue("schema"), r.PathValue("name"))]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "390404", "message": "MCP server does not exist or not authorized."})
		return nil, false
	}
	return srv, true
}

// answerRPC answers one JSON-RPC request (not a notification) of an
// authenticated, authorised caller.
func (s *Server) answerRPC(w http.ResponseWriter, r *http.Request, srv *MCPServer, tok accessToken, req rpcRequest) {
	switch req.Method {
	case "initialize":
		writeJSON(w, http.StatusOK, rpcResult(req.ID, initializeResult(srv, req)))
	case "ping":
		writeJSON(w, http.StatusOK, rpcResult(req.ID, map[string]any{}))
	case "tools/list":
		writeJSON(w, http.StatusOK, rpcResult(req.ID, toolsListResult(srv)))
	case "tools/call":
		s.toolsCall(w, r, srv, tok, req)
	default:
		writeJSON(w, http.StatusOK, rpcError(req.ID, -32601, "Method not found: "+req.Method))
	}
}

// initializeResult agrees to the client's protocol version if the
// stand-in knows it, else offers its newest.
func initializeResult(srv *MCPServer, req rpcRequest) map[string]any {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(req.Params, &p)
	version := ProtocolVersions[0]
	if slices.Contains(ProtocolVersions, p.ProtocolVersion) {
		version = p.ProtocolVersion
	}
	return map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{"tools": map[string]any{"listChanged": false}},
		"serverInfo":      map[string]any{"name": srv.Name, "version": "1.0.0"},
	}
}

func toolsListResult(srv *MCPServer) map[string]any {
	tools := make([]map[string]any, 0, len(srv.Tools))
	for _, t := range srv.Tools {
		tools = append(tools, map[string]any{"name": t.Name, "title": t.Title, "description": t.Description,
			"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}}})
	}
	return map[string]any{"tools": tools}
}

// toolsCall answers as Snowflake does since BCR-2405: a server-sent-event
// stream ending with data: [DONE].
func (s *Server) toolsCall(w http.ResponseWriter, r *http.Request, srv *MCPServer, tok accessToken, req rpcRequest) {
	if !srv.JSONToolCalls && !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		writeJSON(w, http.StatusNotAcceptable, map[string]any{"code": "390406", "message": "Accept must include application/json and text/event-stream."})
		return
	}
	var p struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	}
	_ = json.Unmarshal(req.Params, &p)
	var msg any
	if i := slices.IndexFunc(srv.Tools, func(t Tool) bool { return t.Name == p.Name }); i < 0 {
		msg = rpcError(req.ID, -32602, "Unknown tool: "+p.Name)
	} else {
		s.mu.Lock()
		s.counters.MCPToolCalls++
		s.mu.Unlock()
		args, _ := json.Marshal(p.Arguments)
		text := fmt.Sprintf("%s ran as %s with role %s: %s", p.Name, tok.user, tok.role, args)
		msg = rpcResult(req.ID, map[string]any{"content": []map[string]any{{"type": "text", "text": text}}, "isError": false})
	}
	if srv.JSONToolCalls {
		writeJSON(w, http.StatusOK, msg)
		return
	}
	data, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "data: %s\n\n", data)
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func rpcResult(id json.RawMessage, result any) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": id, "result": result}
}

func rpcError(id json.RawMessage, code int, msg string) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": code, "message": msg}}
}
