//go:build unix

package cli

import (
	"strings"
	"testing"
)

// printf '…requests…' | sfmcp-token mcp-proxy …: the input ends right
// after the requests, and every one of them is answered on stdout before
// the command exits 0.
func TestMCPProxyAnswersAPipe(t *testing.T) {
	h := newHarness(t, signInOpts)
	h.startDaemon()
	h.signIn()
	in := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"pipe","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
`
	code, out, errOut := h.run(in, "mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--quiet")
	if code != 0 || !strings.Contains(out, `"id":1,"result"`) || !strings.Contains(out, `"id":2,"result"`) {
		t.Fatalf("mcp-proxy with its input ended: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
