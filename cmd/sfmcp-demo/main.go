// Command sfmcp-demo shows sfmcp end to end against the built-in Snowflake
// stand-in: it adds a profile, signs in through the real login flow (acting
// as the browser), and lists the MCP server's tools with the token. It uses a
// temporary config and the file credential store, and touches nothing else.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/sfmcp/sfmcp/cli"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
	"github.com/sfmcp/sfmcp/snowflaketest"
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
	// Trust the stand-in the way a user trusts a private CA: SSL_CERT_FILE.
	// It must be set before the first TLS connection of this process.
	caFile := filepath.Join(dir, "stand-in-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sf.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		return err
	}
	env := map[string]string{
		"SFMCP_CONFIG":  filepath.Join(dir, "config.toml"),
		"SFMCP_KEYRING": "file",
		"XDG_DATA_HOME": filepath.Join(dir, "data"),
		"SSL_CERT_FILE": caFile,
	}
	for k, v := range env {
		os.Setenv(k, v)
	}
	fmt.Printf("Snowflake stand-in at %s (user %s, MCP server DB.PUBLIC.GONG_MCP)\n\n", sf.URL, snowflaketest.DefaultUser)

	ctx := context.Background()
	sh := func(args ...string) error {
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
	if err := sh("profile", "add", "demo", "--account", "demoorg-demo_account", "--host", sf.Host(), "--role", snowflaketest.DefaultRole); err != nil {
		return err
	}
	if err := sh("profile", "list"); err != nil {
		return err
	}
	if err := sh("login", "--profile", "demo"); err != nil {
		return err
	}
	return listTools(ctx, sf, filepath.Join(dir, "data", "sfmcp"))
}

// listTools refreshes an access token from the stored sign-in and calls the
// MCP server's tools/list with it, as an MCP client would.
func listTools(ctx context.Context, sf *snowflaketest.Server, dataDir string) error {
	store, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: dataDir})
	if err != nil {
		return err
	}
	cred, err := store.Credential("demo")
	if err != nil {
		return err
	}
	client := &oauth.Client{BaseURL: sf.URL, ClientID: "LOCAL_APPLICATION", Scopes: cred.Scopes}
	tokens, err := client.Refresh(ctx, cred.Secret)
	if err != nil {
		return err
	}
	fmt.Printf("Refreshed an access token for %s (valid %s); calling tools/list:\n", cred.User, tokens.ExpiresIn)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sf.URL+snowflaketest.DefaultMCPServer().MCPPath(), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	req.Header.Set("X-Snowflake-Authorization-Token-Type", "OAUTH")
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
	for _, t := range out.Result.Tools {
		fmt.Printf("  - %s: %s\n", t.Name, t.Description)
	}
	fmt.Println("\nDemo complete: signed in with PKCE, refresh token kept in the (file) credential store, MCP tools listed.")
	return nil
}
