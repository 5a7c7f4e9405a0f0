// Command sfmcp-demo shows sfmcp end to end against the built-in Snowflake
// stand-in: it adds a profile, signs in through the real login flow (acting
// as the browser), runs the token daemon, fetches headers the way Claude
// Code's headersHelper does, lists the MCP server's tools with them, shows
// the daemon renewing a short-lived token, and lists the tools again
// through the stdio bridge (mcp-proxy) that MCP clients run. It uses a temporary config,
// socket and the file credential store, and touches nothing else.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/internal/cli"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/oauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sfmcp-demo:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "sfmcp-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: snowflaketest.DefaultUser, ExtraTokenFields: true})
	defer sf.Close()
	if err := trustStandIn(dir, sf); err != nil {
		return err
	}
	fmt.Printf("Snowflake stand-in at %s (user %s, MCP server DB.PUBLIC.GONG_MCP)\n\n", sf.URL, snowflaketest.DefaultUser)

	ctx := context.Background()
	if err := sfmcpToken(ctx, sf, "profile", "add", "demo", "--account", "demoorg-demo_account", "--host", sf.Host(), "--role", snowflaketest.DefaultRole); err != nil {
		return err
	}
	if err := sfmcpToken(ctx, sf, "login", "--profile", "demo"); err != nil {
		return err
	}

	// Short-lived access tokens so the demo shows a refresh: the daemon
	// renews a 6 s token when a fifth of its life (1.2 s) is left.
	sf.UpdateIntegration("LOCAL_APPLICATION", func(in *snowflaketest.Integration) { in.AccessTokenValidity = 6 * time.Second })
	stopDaemon, err := startDaemon(ctx, dir)
	if err != nil {
		return err
	}
	defer stopDaemon()

	if err := showRenewal(ctx, sf); err != nil {
		return err
	}
	fmt.Println()
	if err := bridge(ctx); err != nil {
		return err
	}
	fmt.Println()
	if err := sfmcpToken(ctx, sf, "status"); err != nil {
		return err
	}
	fmt.Println("Demo complete: PKCE sign-in, refresh token in the (file) credential store, access tokens served and renewed by the daemon, and the stdio bridge MCP clients run.")
	return nil
}

// trustStandIn points this process, and the commands it runs, at a
// temporary config, the file credential store under dir, and the
// stand-in's CA.
func trustStandIn(dir string, sf *snowflaketest.Server) error {
	// Trust the stand-in the way a user trusts a private CA: SSL_CERT_FILE.
	// It must be set before the first TLS connection of this process.
	caFile := filepath.Join(dir, "stand-in-ca.pem")
	if err := sf.WriteCA(caFile); err != nil {
		return err
	}
	// The bridge takes TLS roots only from the config (an MCP client
	// entry sets its environment), so the CA goes there too.
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("ca_file = %q\n", caFile)), 0o600); err != nil {
		return err
	}
	env := map[string]string{
		"SFMCP_CONFIG":  cfgPath,
		"SFMCP_KEYRING": "file",
		"XDG_DATA_HOME": filepath.Join(dir, "data"),
		"SSL_CERT_FILE": caFile,
	}
	for k, v := range env {
		os.Setenv(k, v)
	}
	return nil
}

// sfmcpToken runs `sfmcp-token args…` in this process, shown as typed,
// with the stand-in approving the sign-in as the browser would.
func sfmcpToken(ctx context.Context, sf *snowflaketest.Server, args ...string) error {
	fmt.Printf("$ sfmcp-token %s\n", strings.Join(args, " "))
	e := cli.OSEnv()
	e.Args = args
	e.OpenBrowser = func(u string) error {
		status, _, err := sf.Visit(u)
		fmt.Printf("  (demo browser: Snowflake approved, callback page answered %d)\n", status)
		return err
	}
	if code := cli.Main(ctx, e); code != 0 {
		return fmt.Errorf("sfmcp-token %s exited %d", args[0], code)
	}
	fmt.Println()
	return nil
}

// showRenewal fetches headers as Claude Code's headersHelper does and uses
// them, then waits for the daemon to renew the short-lived token and uses
// the new headers.
func showRenewal(ctx context.Context, sf *snowflaketest.Server) error {
	fmt.Println("$ sfmcp-token headers --profile demo")
	first, err := headers(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", redact(first))
	if err := listTools(ctx, sf, first); err != nil {
		return err
	}

	fmt.Println("\nWaiting for the daemon to renew the 6 s access token in the background ...")
	deadline := time.Now().Add(15 * time.Second)
	for {
		second, err := headers(ctx)
		if err != nil {
			return err
		}
		if second["Authorization"] != first["Authorization"] {
			fmt.Printf("$ sfmcp-token headers --profile demo   # %d refreshes so far at the stand-in\n%s\n", sf.Counters().Refreshes, redact(second))
			return listTools(ctx, sf, second)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not refresh the token")
		}
		time.Sleep(time.Second)
	}
}

// bridge runs `sfmcp-token mcp-proxy` as an MCP client would (JSON-RPC
// lines on its stdin and stdout) and lists the server's tools through it.
func bridge(ctx context.Context) error {
	fmt.Println("$ sfmcp-token mcp-proxy --profile demo --server DB.PUBLIC.GONG_MCP   # what an MCP client runs: stdio in, Snowflake out")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	e := cli.OSEnv()
	e.Args = []string{"mcp-proxy", "--profile", "demo", "--server", "DB.PUBLIC.GONG_MCP", "--quiet"}
	e.Stdin, e.Stdout = inR, outW
	e.Stderr = &prefixWriter{prefix: "  [mcp-proxy] ", w: os.Stderr}
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, e); outW.Close() }()
	answers := bufio.NewScanner(outR)
	answers.Buffer(nil, 1<<20)
	call := func(msg string) (json.RawMessage, error) {
		fmt.Printf("  → %s\n", msg)
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			return nil, err
		}
		if !strings.Contains(msg, `"id"`) {
			return nil, nil // a notification has no answer
		}
		if !answers.Scan() {
			return nil, fmt.Errorf("the bridge closed its output (exit %d)", <-done)
		}
		var a struct {
			Result json.RawMessage           `json:"result"`
			Error  *struct{ Message string } `json:"error"`
		}
		if err := json.Unmarshal(answers.Bytes(), &a); err != nil {
			return nil, err
		}
		if a.Error != nil {
			return nil, fmt.Errorf("bridge: %s", a.Error.Message)
		}
		return a.Result, nil
	}
	init, err := call(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sfmcp-demo","version":"1"}}}`)
	if err != nil {
		return err
	}
	var info struct {
		ServerInfo struct{ Name string } `json:"serverInfo"`
	}
	json.Unmarshal(init, &info)
	fmt.Printf("  ← initialize: server %q\n", info.ServerInfo.Name)
	if _, err := call(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return err
	}
	list, err := call(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if err != nil {
		return err
	}
	var tools struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	json.Unmarshal(list, &tools)
	for _, t := range tools.Tools {
		fmt.Printf("  ← tool %s\n", t.Name)
	}
	inW.Close() // the client went away: the bridge ends
	if code := <-done; code != 0 {
		return fmt.Errorf("sfmcp-token mcp-proxy exited %d", code)
	}
	return nil
}

// startDaemon runs `sfmcp-token daemon` in this process, its socket in a
// private directory under dir and its log prefixed, and waits for its
// ready signal.
func startDaemon(ctx context.Context, dir string) (stop func(), err error) {
	socketDir := filepath.Join(dir, "run")
	if err := os.Mkdir(socketDir, 0o700); err != nil {
		return nil, err
	}
	os.Setenv("SFMCP_SOCKET", filepath.Join(socketDir, "sfmcp.sock"))
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	e := cli.OSEnv()
	e.Args = []string{"daemon"}
	e.Stderr = &prefixWriter{prefix: "  [daemon] ", w: os.Stderr}
	env := e.Getenv
	e.Getenv = func(k string) string {
		if k == "SFMCP_READY_FD" {
			return fmt.Sprint(w.Fd())
		}
		return env(k)
	}
	fmt.Println("$ sfmcp-token daemon &")
	go func() { defer close(done); cli.Main(ctx, e) }()
	buf := make([]byte, 6)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(r, buf); err != nil {
		cancel()
		return nil, fmt.Errorf("the daemon did not start: %w", err)
	}
	return func() { cancel(); <-done }, nil
}

func headers(ctx context.Context) (map[string]string, error) {
	var out bytes.Buffer
	e := cli.OSEnv()
	e.Args = []string{"headers", "--profile", "demo"}
	e.Stdout = &out
	if code := cli.Main(ctx, e); code != 0 {
		return nil, fmt.Errorf("sfmcp-token headers exited %d", code)
	}
	var h map[string]string
	return h, json.Unmarshal(out.Bytes(), &h)
}

// redact shows the headers without the token itself.
func redact(h map[string]string) string {
	tok := strings.TrimPrefix(h["Authorization"], "Bearer ")
	return fmt.Sprintf(`{"Authorization":"Bearer <%d characters, not shown>","X-Snowflake-Authorization-Token-Type":%q}`, len(tok), h["X-Snowflake-Authorization-Token-Type"])
}

// listTools calls the MCP server's tools/list with the headers, as Claude
// Code does with a headersHelper's output.
func listTools(ctx context.Context, sf *snowflaketest.Server, h map[string]string) error {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sf.URL+snowflaketest.DefaultMCPServer().MCPPath(), bytes.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := oauth.DefaultHTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tools/list: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Result struct {
			Tools []struct{ Name, Description string } `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return err
	}
	fmt.Println("MCP tools/list with these headers:")
	for _, t := range out.Result.Tools {
		fmt.Printf("  - %s: %s\n", t.Name, t.Description)
	}
	return nil
}

// prefixWriter prefixes each line written to w.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprint(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}
