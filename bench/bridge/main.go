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
	bridgeLog, closeLogs, err := openLogs(env, logs)
	if err != nil {
		return err
	}
	defer closeLogs()
	fmt.Printf("machine: %s\n\n", benchenv.Machine())
	daemon, err := env.StartDaemon(bin)
	if err != nil {
		return err
	}
	defer func() { daemon.Process.Signal(syscall.SIGTERM); daemon.Wait() }()
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "sfmcp-bench", Version: "1"}, nil)
	proxy, viaBridge, err := connectBridge(ctx, client, bin, env, bridgeLog)
	if err != nil {
		return err
	}
	defer viaBridge.Close()
	direct, err := connectDirect(ctx, client, bin, env)
	if err != nil {
		return err
	}
	defer direct.Close()

	for _, kind := range []string{"tools/list", "tools/call"} {
		viaB, viaD, err := measure(ctx, kind, n, viaBridge, direct)
		if err != nil {
			return err
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

// openLogs creates daemon.log (as env's DaemonLog) and bridge.log in dir;
// with no dir, both logs are dropped and the bridge log is nil.
func openLogs(env *benchenv.Env, dir string) (bridgeLog *os.File, closeLogs func(), err error) {
	if dir == "" {
		return nil, func() {}, nil
	}
	dl, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return nil, nil, err
	}
	if bridgeLog, err = os.Create(filepath.Join(dir, "bridge.log")); err != nil {
		dl.Close()
		return nil, nil, err
	}
	env.DaemonLog = dl
	return bridgeLog, func() { bridgeLog.Close(); dl.Close() }, nil
}

// connectBridge connects client through `sfmcp-token mcp-proxy`, as an MCP
// client runs it; it returns the bridge's process too.
func connectBridge(ctx context.Context, client *mcp.Client, bin string, env *benchenv.Env, bridgeLog *os.File) (*exec.Cmd, *mcp.ClientSession, error) {
	proxy := exec.Command(bin, "mcp-proxy", "--quiet", "--server", "DB.PUBLIC.GONG_MCP")
	if bridgeLog != nil {
		proxy = exec.Command(bin, "mcp-proxy", "--server", "DB.PUBLIC.GONG_MCP")
		proxy.Stderr = bridgeLog
	}
	proxy.Env = env.Environ
	session, err := client.Connect(ctx, &mcp.CommandTransport{Command: proxy}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("connect through the bridge: %w", err)
	}
	return proxy, session, nil
}

// connectDirect connects client straight to the stand-in's MCP server,
// with one token from the daemon for every call.
func connectDirect(ctx context.Context, client *mcp.Client, bin string, env *benchenv.Env) (*mcp.ClientSession, error) {
	var tok bytes.Buffer
	tc := exec.Command(bin, "token")
	tc.Env, tc.Stdout = env.Environ, &tok
	if err := tc.Run(); err != nil {
		return nil, err
	}
	hc := env.SF.Client()
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             env.SF.URL + snowflaketest.DefaultMCPServer().MCPPath(),
		HTTPClient:           &http.Client{Transport: bearer{hc.Transport, strings.TrimSpace(tok.String())}},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect directly: %w", err)
	}
	return session, nil
}

// measure times n calls of kind on each path, interleaved so that machine
// noise hits both; a call over a second is reported as it happens.
func measure(ctx context.Context, kind string, n int, viaBridge, direct *mcp.ClientSession) (viaB, viaD []time.Duration, err error) {
	for range n {
		for _, s := range []*mcp.ClientSession{viaBridge, direct} {
			start := time.Now()
			if kind == "tools/list" {
				_, err = s.ListTools(ctx, nil)
			} else {
				_, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "gong_search", Arguments: map[string]any{"query": "q"}})
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", kind, err)
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
	return viaB, viaD, nil
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
