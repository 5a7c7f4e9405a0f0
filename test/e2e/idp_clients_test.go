//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// A real Claude Code calls the Snowflake tool through an IdP profile, its
// server entry in headersHelper mode, twice in one session: the second
// time after the access token it used has expired at Snowflake. Claude
// Code keeps a connection's headers, so it may send the expired token,
// get a 401, re-run the helper and retry once; either way the call must
// succeed with no user action.
func TestIdPClaudeCodeToolCall(t *testing.T) {
	claude := claudeBinary(t)
	ip := newIdPProc(t, idpCase{idp: idptest.Options{AccessTTL: 6 * time.Second}})
	ip.login(t)
	project := filepath.Join(ip.dir, "project")
	os.Mkdir(project, 0o755)
	if code, _, errOut := ip.run(nil, "mcp", "add", "snowflake", "--file", filepath.Join(project, ".mcp.json"), "--profile", corpProfile,
		"--server", "DB.PUBLIC.GONG_MCP", "--mode", "headers", "--command", binary); code != 0 {
		t.Fatalf("mcp add: %s", errOut)
	}
	ca := trustClaudeProject(t, ip.proc, project, ip.sf)
	const tool = "mcp__snowflake__gong_search"
	api := newFakeAnthropic(t, tool)
	debugLog := filepath.Join(ip.dir, "claude-debug.log")
	cmd := exec.Command(claude, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
		"--allowedTools", tool, "--debug-file", debugLog)
	cmd.Dir = project
	cmd.Env = append(append([]string{}, ip.env...), "NODE_EXTRA_CA_CERTS="+ca,
		"ANTHROPIC_BASE_URL="+api.URL, "ANTHROPIC_API_KEY=x", "ENABLE_TOOL_SEARCH=false",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1")
	s := startClaudeSession(t, cmd)

	s.turn(1)
	r1 := api.waitResult(t, 1, 120*time.Second, s)
	s.waitTurnEnd(1)
	if r1.isError || !strings.Contains(r1.text, corpToolResult) {
		t.Fatalf("turn 1: tool_result is_error=%v %q\nAPI requests:\n%s", r1.isError, r1.text, api.requests())
	}
	// The daemon's token now is the one Claude Code got or a later one:
	// once Snowflake refuses it as expired, so it does Claude Code's.
	ip.waitExpired(t, ip.headers(t), 20*time.Second)
	before := ip.sf.Counters()
	s.turn(2)
	r2 := api.waitResult(t, 2, 60*time.Second, s)
	s.waitTurnEnd(2)
	after := ip.sf.Counters()
	t.Logf("turn 2: %d MCP requests refused (reasons in all: %v); %d refreshes at the provider in all",
		after.MCPRefused[snowflaketest.KindExternalOAuth]-before.MCPRefused[snowflaketest.KindExternalOAuth], after.Refusals, ip.idp.Stats(t).Refreshes)
	if r2.isError || !strings.Contains(r2.text, corpToolResult) || after.MCPToolCalls != 2 {
		t.Errorf("turn 2, after the token expired: tool_result is_error=%v %q; %d tool calls ran at the stand-in, want 2",
			r2.isError, r2.text, after.MCPToolCalls)
	}
	stdout, stderr := s.close()
	debug, _ := os.ReadFile(debugLog)
	if t.Failed() {
		t.Logf("Claude Code's debug log on the server:\n%s", grepLines(string(debug), mcpDebug))
	}
	for where, text := range map[string]string{"claude stdout": stdout, "claude stderr": stderr, "claude debug log": string(debug),
		"Messages API requests": api.bodies()} {
		leaks.Record(where, text)
	}
}

// The headless clients CI installs, configured by `mcp add --client X`
// for an IdP profile, call the tool through the stdio bridge twice, the
// access token the bridge used first expiring at Snowflake in between.
func TestIdPRealClientsCallTheTool(t *testing.T) {
	for _, hc := range headlessClients {
		t.Run(hc.id, func(t *testing.T) {
			bin := clientUnderTest(t, hc.env)
			ip := newIdPProc(t, idpCase{idp: idptest.Options{AccessTTL: 6 * time.Second}})
			ip.login(t)
			if code, out, errOut := ip.run(nil, "mcp", "add", "snowflake", "--profile", corpProfile, "--server", "DB.PUBLIC.GONG_MCP",
				"--client", hc.id, "--command", binary); code != 0 {
				t.Fatalf("mcp add --client %s: exit %d %s%s", hc.id, code, out, errOut)
			}
			project := t.TempDir()
			// The model holds its second tool call until the test has seen
			// the token of the first expire.
			first, expired := make(chan struct{}), make(chan struct{})
			var release sync.Once
			model := newFakeModel(t, func() {
				close(first)
				<-expired
			})
			// Registered after the model's Close, so it runs first: a
			// failed wait must not leave the model's handler blocked.
			t.Cleanup(func() { release.Do(func() { close(expired) }) })
			c := hc.run(t, ip.proc, project, bin, model.URL)
			c.Dir = project
			c.Stdin = nil
			var out strings.Builder
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan bool, 1)
			go func() { done <- waitWithin(c, 180*time.Second) }()
			select {
			case <-first:
				ip.waitExpired(t, ip.headers(t), 20*time.Second)
				release.Do(func() { close(expired) })
				<-done
			case <-done:
			}
			leaks.Record(hc.id+" headless", out.String())
			results := model.Results()
			if len(results) != 2 || !strings.Contains(results[0], corpToolResult) || !strings.Contains(results[1], corpToolResult) {
				t.Fatalf("%s: tool results %q\n%s", hc.id, results, out.String())
			}
			if c := ip.sf.Counters(); c.MCPToolCalls != 2 {
				t.Errorf("%s: %d tool calls ran at the stand-in, want 2", hc.id, c.MCPToolCalls)
			}
		})
	}
}
