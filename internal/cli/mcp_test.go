package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func TestMCPAddListRemove(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-my_acct")
	file := filepath.Join(h.dir, ".mcp.json")
	os.WriteFile(file, []byte(`{"mcpServers":{"other":{"type":"http","url":"https://x.example/mcp"}},"keep":true}`), 0o644)
	out := h.mustRun("mcp", "add", "snowflake", "--file", file, "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/usr/local/bin/sfmcp-token")
	if !strings.Contains(out, "claude mcp add-json snowflake '") {
		t.Fatalf("no claude mcp add-json line: %s", out)
	}
	h.mustRun("mcp", "add", "sf-headers", "--file", file, "--profile", "prod", "--server", "db.public.gong_mcp", "--mode", "headers", "--command", "/opt/my tools/sfmcp-token")
	var doc struct {
		Keep       bool                       `json:"keep"`
		MCPServers map[string]json.RawMessage `json:"mcpServers"`
	}
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &doc); err != nil || !doc.Keep || doc.MCPServers["other"] == nil {
		t.Fatalf("foreign content lost: %s", data)
	}
	var proxy struct {
		Type, Command string
		Args          []string
	}
	json.Unmarshal(doc.MCPServers["snowflake"], &proxy)
	if proxy.Type != "stdio" || proxy.Command != "/usr/local/bin/sfmcp-token" || strings.Join(proxy.Args, " ") != "mcp-proxy --profile prod --server DB.PUBLIC.GONG_MCP" {
		t.Fatalf("proxy entry = %+v", proxy)
	}
	var hdr struct{ Type, URL, HeadersHelper string }
	json.Unmarshal(doc.MCPServers["sf-headers"], &hdr)
	if hdr.Type != "http" || hdr.URL != "https://myorg-my-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP" ||
		hdr.HeadersHelper != "'/opt/my tools/sfmcp-token' headers --profile prod" {
		t.Fatalf("headers entry = %+v", hdr)
	}
	list := h.mustRun("mcp", "list", "--file", file)
	if !strings.Contains(list, "sfmcp proxy") || !strings.Contains(list, "sfmcp headers") || !strings.Contains(list, "other") {
		t.Fatalf("list:\n%s", list)
	}
	h.mustRun("mcp", "remove", "snowflake", "--file", file)
	if code, _, _ := h.run("", "mcp", "remove", "snowflake", "--file", file); code != exitcode.Usage {
		t.Fatal("removing a missing entry should be a usage error")
	}
	h.env["HOME"] = h.dir
	h.mustRun("mcp", "add", "snowflake", "--user", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--command", "/bin/sfmcp-token")
	if data, err := os.ReadFile(filepath.Join(h.dir, ".claude.json")); err != nil || !strings.Contains(string(data), "mcp-proxy") {
		t.Fatalf("--user did not write ~/.claude.json: %v %s", err, data)
	}
}

// Security issue, item 13: a hand-edited profile name that is shell is
// refused when the config loads, so it never reaches a headersHelper.
func TestHostileProfileNameNeverWrittenAsShell(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	pwned := filepath.Join(h.dir, "pwned")
	os.WriteFile(h.env["SFMCP_CONFIG"], []byte("[profiles.\"x; touch "+pwned+"\"]\naccount = \"myorg-acct\"\n"), 0o600)
	file := filepath.Join(h.dir, ".mcp.json")
	code, _, errOut := h.run("", "mcp", "add", "snowflake", "--file", file, "--profile", "x; touch "+pwned, "--server", "DB.PUBLIC.GONG_MCP", "--mode", "headers", "--command", "sfmcp-token")
	if code != exitcode.Usage || !strings.Contains(errOut, "profile name") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal(".mcp.json was written")
	}
}
