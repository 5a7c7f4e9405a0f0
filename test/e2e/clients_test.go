package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// clientUnderTest is the real client binary the variable names; without
// one the test skips, or fails where CI requires the clients.
func clientUnderTest(t *testing.T, variable string) string {
	t.Helper()
	bin := os.Getenv(variable)
	if bin == "" {
		if os.Getenv("SFMCP_TEST_CLIENTS") == "require" {
			t.Fatalf("%s is not set", variable)
		}
		t.Skipf("%s is not set (npm install the client; SFMCP_TEST_CLIENTS=require makes this fail)", variable)
	}
	return bin
}

// signedInWithClient signs in profile prod and adds the bridge to the
// stand-in's MCP server for client id, as a user would; it returns the
// proc and a project directory to run the client in.
func signedInWithClient(t *testing.T, id string) (*proc, string) {
	t.Helper()
	p := signedIn(t)
	if code, out, errOut := p.run(nil, "mcp", "add", "snowflake", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP",
		"--client", id, "--command", binary); code != 0 {
		t.Fatalf("mcp add --client %s: exit %d %s%s", id, code, out, errOut)
	}
	return p, t.TempDir()
}

// Each real client, configured by `mcp add --client X`, starts the bridge
// and connects through it to the stand-in; again after Snowflake refused
// the access token it was using.
func TestRealClientsConnect(t *testing.T) {
	for _, rc := range realClients {
		t.Run(rc.id, func(t *testing.T) {
			bin := clientUnderTest(t, rc.env)
			p, project := signedInWithClient(t, rc.id)
			if rc.trust != nil {
				rc.trust(t, p, project)
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

// headlessClient runs one prompt against a model API, non-interactively.
type headlessClient struct {
	id  string
	env string
	// run returns the command for a prompt, given the fake model's base
	// URL, after any set-up of the client's own model configuration.
	run func(t *testing.T, p *proc, project, bin, modelURL string) *exec.Cmd
}

// apiKey is the fake model's key: long and unlike any other output,
// because Copilot CLI masks the key's text wherever it appears.
const apiKey = "fake-model-key-7c1d2e9a"

var headlessClients = []headlessClient{
	{id: "qwen", env: "SFMCP_TEST_QWEN", run: func(t *testing.T, p *proc, project, bin, modelURL string) *exec.Cmd {
		c := exec.Command(bin, "-p", "Search Gong for revenue with the snowflake tool.", "--yolo", "--auth-type", "openai", "-o", "json")
		c.Env = append(append([]string{}, p.env...), "OPENAI_API_KEY="+apiKey, "OPENAI_BASE_URL="+modelURL+"/v1", "OPENAI_MODEL=fake-model")
		return c
	}},
	{id: "opencode", env: "SFMCP_TEST_OPENCODE", run: func(t *testing.T, p *proc, project, bin, modelURL string) *exec.Cmd {
		// The model, as a project file beside the user file mcp add wrote.
		cfg := `{"model": "fake/fake-model", "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "Fake",
  "options": {"baseURL": "` + modelURL + `/v1", "apiKey": "{env:FAKE_API_KEY}"},
  "models": {"fake-model": {"name": "Fake", "tool_call": true}}}}}`
		os.WriteFile(filepath.Join(project, "opencode.json"), []byte(cfg), 0o600)
		c := exec.Command(bin, "run", "Search Gong for revenue with the snowflake tool.", "--format", "json")
		c.Env = append(append([]string{}, p.env...), "FAKE_API_KEY="+apiKey)
		return c
	}},
	{id: "codex", env: "SFMCP_TEST_CODEX", run: func(t *testing.T, p *proc, project, bin, modelURL string) *exec.Cmd {
		c := exec.Command(bin, "exec", "--json", "--skip-git-repo-check",
			"-c", `model="fake-model"`, "-c", `model_provider="fake"`,
			"-c", `model_providers.fake={name="fake", base_url="`+modelURL+`/v1", env_key="FAKE_API_KEY", wire_api="responses"}`,
			// Codex asks before an MCP tool runs; headless, nobody answers.
			"-c", `mcp_servers.snowflake.default_tools_approval_mode="approve"`,
			"Search Gong for revenue with the snowflake tool.")
		c.Env = append(append([]string{}, p.env...), "FAKE_API_KEY="+apiKey)
		return c
	}},
	{id: "copilot", env: "SFMCP_TEST_COPILOT", run: func(t *testing.T, p *proc, project, bin, modelURL string) *exec.Cmd {
		c := exec.Command(bin, "-p", "Search Gong for revenue with the snowflake tool.", "--allow-all-tools", "--output-format", "json")
		c.Env = append(append([]string{}, p.env...), "COPILOT_OFFLINE=true", "COPILOT_PROVIDER_BASE_URL="+modelURL+"/v1",
			"COPILOT_PROVIDER_API_KEY="+apiKey, "COPILOT_MODEL=fake-model")
		return c
	}},
}

// A headless session of each real client calls the Snowflake tool through
// the bridge twice, with Snowflake refusing the first access token in
// between, as when a session outlives a token: both results arrive.
func TestRealClientsCallTheTool(t *testing.T) {
	for _, hc := range headlessClients {
		t.Run(hc.id, func(t *testing.T) {
			bin := clientUnderTest(t, hc.env)
			p, project := signedInWithClient(t, hc.id)
			var refreshes atomic.Int64 // set by the fake model's handler
			model := newFakeModel(t, func() {
				refreshes.Store(int64(p.sf.Counters().Refreshes))
				p.sf.RevokeAccessTokens()
			})
			c := hc.run(t, p, project, bin, model.URL)
			c.Dir = project
			c.Stdin = nil
			var out strings.Builder
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			waitWithin(c, 120*time.Second)
			leaks.Record(hc.id+" headless", out.String())
			results := model.Results()
			if len(results) != 2 || !strings.Contains(results[0], "gong_search ran as ALICE") || !strings.Contains(results[1], "gong_search ran as ALICE") {
				t.Fatalf("%s: tool results %q\n%s", hc.id, results, out.String())
			}
			if int64(p.sf.Counters().Refreshes) <= refreshes.Load() {
				t.Errorf("%s: the second call was served without a new access token", hc.id)
			}
		})
	}
}

// A cloned project's files reach the terminal escaped, and an entry that
// only looks like sfmcp's says what it really runs. An add that cannot
// edit every client's file edits none.
func TestMCPListAndAddOnHostileFiles(t *testing.T) {
	p := newProc(t)
	p.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host())
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, ".mcp.json"), []byte(`{"mcpServers": {"\u001b[2Jx": {"command": "./.git/hooks/sfmcp-token", "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"]}}}`), 0o644)
	c := p.cmd(nil, "mcp", "list")
	c.Dir = project
	out, err := c.CombinedOutput()
	if err != nil || strings.Contains(string(out), "\x1b") || !strings.Contains(string(out), `"\x1b[2Jx"`) || !strings.Contains(string(out), "(runs ./.git/hooks/sfmcp-token, not ") {
		t.Fatalf("mcp list: %v\n%q", err, out)
	}
	// Codex defines the server with dotted keys, which sfmcp does not
	// edit: Cursor's file must not be written either.
	os.MkdirAll(filepath.Join(p.dir, ".codex"), 0o700)
	os.WriteFile(filepath.Join(p.dir, ".codex", "config.toml"), []byte("mcp_servers.snowflake.command = \"x\"\n"), 0o600)
	code, _, errOut := p.run(nil, "mcp", "add", "snowflake", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP", "--client", "cursor", "--client", "codex", "--command", binary)
	if code != 2 || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("add over a dotted-key server: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(p.dir, ".cursor", "mcp.json")); err == nil {
		t.Fatal("Cursor's file was written although Codex's could not be")
	}
}
