package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// Issue #20: a headersHelper inside the user's own scripts, two levels
// deep, is still its client's re-run, though every run comes through
// fresh script processes. This test process is the client: each run is
// `sh -c outer`, outer (#!/bin/sh) runs inner (#!/bin/bash), and inner
// runs this binary again as the helper, which asks the daemon over the
// socket and prints the Authorization header it got.
func TestHelperRerunThroughWrapperScripts(t *testing.T) {
	if socket := os.Getenv("SFMCP_TEST_HELPER_SOCKET"); socket != "" {
		var h map[string]string
		resp, err := unixClient(socket).Get("http://sfmcp/v1/headers?" + os.Getenv("SFMCP_TEST_HELPER_QUERY"))
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&h)
		}
		if err != nil || h["Authorization"] == "" {
			fmt.Fprintln(os.Stderr, "helper:", err, h)
			os.Exit(1)
		}
		fmt.Println(h["Authorization"])
		os.Exit(0)
	}
	var probes atomic.Int32
	var f *fixture
	f = newFixture(t, nil, func(o *Options) {
		o.Probe = func(ctx context.Context, _ config.Profile, _ keychain.Credential, _ string, tok Token) (bool, error) {
			probes.Add(1)
			req, err := newMCPRequest(f.sf, tok.AccessToken)
			if err != nil {
				return false, err
			}
			resp, err := f.sf.Client().Do(req.WithContext(ctx))
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusUnauthorized, nil
		}
	})
	socket, _ := f.serve()
	query := url.Values{"profile": {"prod"}, "server_name": {"snowflake"}, "server_url": {f.sf.URL + snowflaketest.DefaultMCPServer().MCPPath()}}
	outer := wrapperScripts(t, os.Args[0]+" -test.run=^TestHelperRerunThroughWrapperScripts$")
	run := func() string {
		t.Helper()
		cmd := exec.Command("sh", "-c", outer)
		cmd.Env = append(os.Environ(), "SFMCP_TEST_HELPER_SOCKET="+socket, "SFMCP_TEST_HELPER_QUERY="+query.Encode())
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helper run: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	first := run()
	if again := run(); again != first || probes.Load() != 1 {
		t.Fatalf("the second run was not taken for the client's re-run: probes %d (want 1)", probes.Load())
	}
	f.sf.RevokeAccessTokens() // Snowflake invalidates the token early
	if renewed := run(); renewed == first || f.refreshes() != 2 {
		t.Fatalf("the refused token was handed out again (refreshes %d)", f.refreshes())
	}
}

// wrapperScripts writes #!/bin/sh outer, which runs #!/bin/bash inner,
// which runs helper, and returns outer's path. Each does something after
// what it runs, so neither execs it away.
func wrapperScripts(t *testing.T, helper string) string {
	bash, err := exec.LookPath("bash")
	if err != nil {
		bash = "/bin/sh"
	}
	dir := t.TempDir()
	inner, outer := filepath.Join(dir, "inner-wrap"), filepath.Join(dir, "outer-wrap")
	if err := os.WriteFile(inner, []byte("#!"+bash+"\n"+helper+"\nexit $?\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outer, []byte("#!/bin/sh\n"+inner+"\nexit $?\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return outer
}
