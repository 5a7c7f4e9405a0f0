// Command bridge measures what `sfmcp-token mcp-proxy` adds per request:
// the same MCP calls through the bridge (stdio, daemon token per request)
// and straight to the stand-in (streamable HTTP with a fixed token),
// interleaved, with the official Go SDK client on both paths. Run it
// through bench/bridge.sh.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sfmcp/sfmcp/bench/benchenv"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func main() {
	bin := flag.String("sfmcp", "", "sfmcp-token binary")
	n := flag.Int("n", 2000, "calls of each kind on each path")
	logs := flag.String("logs", "", "directory for the daemon's and the bridge's logs (default: drop them)")
	flag.Parse()
	if err := run(*bin, *n, *logs); err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		os.Exit(1)
	}
}

type bearer struct {
	base  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func run(bin string, n int, logs string) error {
	env, err := benchenv.Setup()
	if err != nil {
		return err
	}
	defer env.Close()
	var bridgeLog *os.File
	if logs != "" {
		dl, err := os.Create(filepath.Join(logs, "daemon.log"))
		if err != nil {
			return err
		}
		defer dl.Close()
		if bridgeLog, err = os.Create(filepath.Join(logs, "bridge.log")); err != nil {
			return err
		}
		defer bridgeLog.Close()
		env.DaemonLog = dl
	}
	fmt.Printf("machine: %s\n\n", benchenv.Machine())
	daemon, err := env.StartDaemon(bin)
	if err != nil {
		return err
	}
	defer func() { daemon.Process.Signal(syscall.SIGTERM); daemon.Wait() }()
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "sfmcp-bench", Version: "1"}, nil)

	// Through the bridge.
	proxy := exec.Command(bin, "mcp-proxy", "--quiet", "--server", "DB.PUBLIC.GONG_MCP")
	if bridgeLog != nil {
		proxy = exec.Command(bin, "mcp-proxy", "--server", "DB.PUBLIC.GONG_MCP")
		proxy.Stderr = bridgeLog
	}
	proxy.Env = env.Environ
	viaBridge, err := client.Connect(ctx, &mcp.CommandTransport{Command: proxy}, nil)
	if err != nil {
		return fmt.Errorf("connect through the bridge: %w", err)
	}
	defer viaBridge.Close()

	// Directly, with a token from the daemon.
	var tok bytes.Buffer
	tc := exec.Command(bin, "token")
	tc.Env, tc.Stdout = env.Environ, &tok
	if err := tc.Run(); err != nil {
		return err
	}
	hc := env.SF.Client()
	direct, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             env.SF.URL + snowflaketest.DefaultMCPServer().MCPPath(),
		HTTPClient:           &http.Client{Transport: bearer{hc.Transport, strings.TrimSpace(tok.String())}},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		return fmt.Errorf("connect directly: %w", err)
	}
	defer direct.Close()

	for _, kind := range []string{"tools/list", "tools/call"} {
		var viaB, viaD []time.Duration
		for range n {
			for _, s := range []*mcp.ClientSession{viaBridge, direct} {
				start := time.Now()
				var err error
				if kind == "tools/list" {
					_, err = s.ListTools(ctx, nil)
				} else {
					_, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "gong_search", Arguments: map[string]any{"query": "q"}})
				}
				if err != nil {
					return fmt.Errorf("%s: %w", kind, err)
				}
				if took := time.Since(start); took > time.Second {
					fmt.Fprintf(os.Stderr, "%s: slow %s (%s) at %s\n", map[bool]string{true: "bridge", false: "direct"}[s == viaBridge], kind, took, start.UTC().Format(time.RFC3339Nano))
				}
				if s == viaBridge {
					viaB = append(viaB, time.Since(start))
				} else {
					viaD = append(viaD, time.Since(start))
				}
			}
		}
		mb, md := median(viaB), median(viaD)
		fmt.Printf("%-10s direct median %8s  bridge median %8s  added %8s  (p90 direct %s, bridge %s; n=%d each)\n",
			kind, md, mb, (mb - md).Round(time.Microsecond), pct(viaD, 90), pct(viaB, 90), n)
		fmt.Printf("%-10s max direct %s, bridge %s; calls over 1 s: direct %d, bridge %d\n",
			kind, slices.Max(viaD).Round(time.Microsecond), slices.Max(viaB).Round(time.Microsecond), over(viaD, time.Second), over(viaB, time.Second))
	}
	fmt.Printf("bridge RSS after %d calls: %s; daemon RSS: %s\n", 4*n, benchenv.RSS(proxy.Process.Pid), benchenv.RSS(daemon.Process.Pid))
	return nil
}

// over counts the calls that took longer than limit: a stalled call hides
// behind a median.
func over(d []time.Duration, limit time.Duration) int {
	n := 0
	for _, x := range d {
		if x > limit {
			n++
		}
	}
	return n
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)*p/100, len(s)-1)].Round(time.Microsecond)
}
