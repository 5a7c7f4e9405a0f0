package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// realClient is an MCP client from npm whose own `mcp list` starts and
// connects to the stdio servers it is configured with.
type realClient struct {
	id    string // sfmcp's --client value
	env   string // the variable naming its binary (CI sets it)
	list  []string
	ok    func(out string) bool
	trust func(t *testing.T, p *proc, project string) // the client's own way to trust the folder
}

var realClients = []realClient{
	{id: "gemini", env: "SFMCP_TEST_GEMINI", list: []string{"mcp", "list"},
		ok: func(out string) bool {
			return strings.Contains(out, "✓ snowflake") && strings.Contains(out, "Connected")
		},
		trust: func(t *testing.T, p *proc, project string) {
			// Gemini disables stdio servers in untrusted folders; its
			// documented trust store is ~/.gemini/trustedFolders.json.
			os.MkdirAll(filepath.Join(p.dir, ".gemini"), 0o700)
			os.WriteFile(filepath.Join(p.dir, ".gemini", "trustedFolders.json"), []byte(`{"`+project+`": "TRUST_FOLDER"}`), 0o600)
		}},
	{id: "qwen", env: "SFMCP_TEST_QWEN", list: []string{"mcp", "list"},
		ok: func(out string) bool {
			return strings.Contains(out, "snowflake") && strings.Contains(strings.ToLower(out), "connected") && !strings.Contains(strings.ToLower(out), "disconnected")
		}},
	{id: "opencode", env: "SFMCP_TEST_OPENCODE", list: []string{"mcp", "list"},
		ok: func(out string) bool {
			return strings.Contains(out, "snowflake") && strings.Contains(strings.ToLower(out), "connected") && !strings.Contains(strings.ToLower(out), "failed")
		}},
}

// Each real client, configured by `mcp add --client X`, starts the bridge
// and connects through it to the stand-in; again after Snowflake refused
// the access token it was using.
func TestRealClientsConnect(t *testing.T) {
	for _, rc := range realClients {
		t.Run(rc.id, func(t *testing.T) {
			bin := os.Getenv(rc.env)
			if bin == "" {
				if os.Getenv("SFMCP_TEST_CLIENTS") == "require" {
					t.Fatalf("%s is not set", rc.env)
				}
				t.Skipf("%s is not set (npm install the client; SFMCP_TEST_CLIENTS=require makes this fail)", rc.env)
			}
			p := signedIn(t)
			project := t.TempDir()
			if rc.trust != nil {
				rc.trust(t, p, project)
			}
			if code, out, errOut := p.run(nil, "mcp", "add", "snowflake", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP",
				"--client", rc.id, "--command", binary); code != 0 {
				t.Fatalf("mcp add --client %s: exit %d %s%s", rc.id, code, out, errOut)
			}
			list := func(when string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				defer cancel()
				c := exec.CommandContext(ctx, bin, rc.list...)
				c.Dir = project
				c.Env = append(append([]string{}, p.env...), "NO_COLOR=1", "CI=1")
				out, err := c.CombinedOutput()
				leaks.Record(rc.id+" mcp list", string(out))
				if !rc.ok(string(out)) {
					t.Fatalf("%s %s (%s): not connected (%v):\n%s", rc.id, strings.Join(rc.list, " "), when, err, out)
				}
			}
			list("first")
			p.sf.RevokeAccessTokens()
			list("after Snowflake refused the access token")
		})
	}
}
