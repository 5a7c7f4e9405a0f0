//go:build unix

// Command hotpath measures the token daemon and its client against the
// in-process Snowflake stand-in (run it through bench/hotpath.sh):
//
//   - warm: wall time of `sfmcp-token headers` against a minimal floor
//     client doing the same socket round trip, interleaved in one run;
//   - cold: `sfmcp-token headers` with no daemon running (autostart);
//   - load: requests/s and latency with N concurrent connections, and the
//     daemon's RSS and goroutines before and after.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sfmcp/sfmcp/bench/benchenv"
	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func main() {
	bin := flag.String("sfmcp", "", "sfmcp-token binary")
	floor := flag.String("floor", "", "floor client binary")
	gohello := flag.String("gohello", "", "a Go program that only prints (the runtime's start alone)")
	runs := flag.Int("runs", 300, "warm runs of each program")
	coldRuns := flag.Int("cold", 15, "cold-start runs")
	conns := flag.Int("conns", 64, "concurrent connections for the load test")
	total := flag.Int("requests", 1_000_000, "requests in the load test")
	rate := flag.Int("rate", 20_000, "offered requests/s for the paced load test (0: skip it)")
	duration := flag.Duration("duration", 0, "run the closed-loop load for this long instead of -requests")
	flag.Parse()
	loadFor = *duration
	if err := run(*bin, *floor, *gohello, *runs, *coldRuns, *conns, *total, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "hotpath:", err)
		os.Exit(1)
	}
}

func run(bin, floor, gohello string, runs, coldRuns, conns, total, rate int) error {
	env, err := benchenv.Setup()
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Printf("machine: %s\n\n", benchenv.Machine())
	if err := measureCold(bin, env, coldRuns); err != nil {
		return err
	}

	daemon, err := env.StartDaemon(bin)
	if err != nil {
		return err
	}
	defer func() { daemon.Process.Signal(syscall.SIGTERM); daemon.Wait() }()
	if _, err := timed(bin, env.Environ, "headers"); err != nil { // first refresh
		return err
	}
	if err := measureWarm(bin, floor, env, runs); err != nil {
		return err
	}
	// Through /bin/sh -c, as Claude Code runs a helper, against git's
	// credential helper with its cache daemon up: the yardstick of a
	// well-made per-user credential helper.
	if err := versusGit(bin, gohello, env.Environ, env.Dir, runs); err != nil {
		return err
	}
	return measureLoad(env.Socket, daemon.Process.Pid, conns, total, rate)
}

// measureCold times `sfmcp-token headers` with no daemon: the client
// starts one, which is stopped after each run.
func measureCold(bin string, env *benchenv.Env, coldRuns int) error {
	var cold []time.Duration
	for range coldRuns {
		d, err := timed(bin, env.Environ, "headers")
		if err != nil {
			return fmt.Errorf("cold headers: %w", err)
		}
		cold = append(cold, d)
		stopDaemon(filepath.Join(env.Dir, ".local", "state", "sfmcp", "daemon.lock"))
	}
	report("cold: sfmcp-token headers, no daemon (autostart + first refresh)", cold, nil)
	return nil
}

// measureWarm times the floor client, `sfmcp-token headers`, and headers
// as Claude Code re-runs it, interleaved so that machine noise hits all.
func measureWarm(bin, floor string, env *benchenv.Env, runs int) error {
	// As Claude Code runs it: with the server's URL. Every run here comes
	// from the same parent, so after the first each is a client's re-run,
	// which the daemon checks with the MCP server (one round trip).
	withURL := append(slices.Clone(env.Environ), "CLAUDE_CODE_MCP_SERVER_URL="+env.SF.URL+snowflaketest.DefaultMCPServer().MCPPath(), "CLAUDE_CODE_MCP_SERVER_NAME=bench")
	var ours, base, rerun []time.Duration
	for range runs {
		d1, err := timed(floor, env.Environ)
		if err != nil {
			return fmt.Errorf("floor client: %w", err)
		}
		d2, err := timed(bin, env.Environ, "headers")
		if err != nil {
			return fmt.Errorf("headers: %w", err)
		}
		d3, err := timed(bin, withURL, "headers")
		if err != nil {
			return fmt.Errorf("headers with a server URL: %w", err)
		}
		base, ours, rerun = append(base, d1), append(ours, d2), append(rerun, d3)
	}
	report("warm: floor client (dial, one request, print)", base, nil)
	report("warm: sfmcp-token headers", ours, base)
	report("warm: headers re-run by the same client (server URL; checked with the server)", rerun, base)
	return nil
}

// measureLoad: N connections, each sending requests one after another as
// fast as it can (closed loop: the machine's ceiling), then paced at a
// fixed offered rate (open loop: latency at that rate, measured from each
// request's scheduled time so a stall is not hidden); with the daemon's
// RSS and goroutines before and after.
func measureLoad(socket string, daemonPID, conns, total, rate int) error {
	rss0, g0 := benchenv.RSS(daemonPID), goroutines(socket)
	closed := total
	if loadFor > 0 {
		closed = 1 << 40
	}
	lat, elapsed, errs, err := load(socket, conns, closed, 0)
	if err != nil {
		return err
	}
	fmt.Printf("load, closed loop: %d requests over %d connections in %s: %.0f req/s, p50 %s, p99 %s, errors %d\n",
		len(lat), conns, elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), pct(lat, 50), pct(lat, 99), errs)
	if rate > 0 {
		n := rate * 10
		lat, elapsed, errs, err = load(socket, conns, n, rate)
		if err != nil {
			return err
		}
		fmt.Printf("load, paced at %d req/s: %d requests over %d connections in %s: %.0f req/s, p50 %s, p99 %s, errors %d\n",
			rate, n, conns, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), pct(lat, 50), pct(lat, 99), errs)
	}
	rss1, g1 := benchenv.RSS(daemonPID), goroutines(socket)
	fmt.Printf("daemon RSS %s before, %s after; goroutines %d before, %d after\n", rss0, rss1, g0, g1)
	return nil
}

func timed(bin string, env []string, args ...string) (time.Duration, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err == nil && !bytes.Contains(out.Bytes(), []byte("Bearer ")) {
		err = fmt.Errorf("no headers in the output")
	}
	return d, err
}

// versusGit times `sh -c 'sfmcp-token headers'` against `sh -c 'git
// credential-cache get'` (its daemon holding one credential), interleaved.
func versusGit(bin, gohello string, environ []string, dir string, runs int) error {
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Println("sh -c: git not found; skipped the comparison with git credential-cache")
		return nil
	}
	sock := filepath.Join(dir, "git-credential-cache.sock")
	git := "git credential-cache --socket '" + sock + "'"
	store := exec.Command("sh", "-c", git+" --timeout 3600 store")
	store.Env = environ
	store.Stdin = strings.NewReader("protocol=https\nhost=example.com\nusername=u\npassword=p\n\n")
	if out, err := store.CombinedOutput(); err != nil {
		return fmt.Errorf("git credential-cache store: %v: %s", err, out)
	}
	defer func() {
		stop := exec.Command("sh", "-c", git+" exit")
		stop.Env = environ
		_ = stop.Run()
	}()
	shell := func(cmdline, stdin, want string) (time.Duration, error) {
		cmd := exec.Command("sh", "-c", cmdline)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout = &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err == nil && !strings.Contains(out.String(), want) {
			err = fmt.Errorf("%s: unexpected output", cmdline)
		}
		return d, err
	}
	var theirs, ours, hello []time.Duration
	for range runs {
		d1, err := shell(git+" get", "protocol=https\nhost=example.com\n\n", "password=p")
		if err != nil {
			return err
		}
		d2, err := shell("'"+bin+"' headers", "", "Bearer ")
		if err != nil {
			return err
		}
		theirs, ours = append(theirs, d1), append(ours, d2)
		if gohello != "" {
			d3, err := shell("'"+gohello+"'", "", "Bearer ")
			if err != nil {
				return err
			}
			hello = append(hello, d3)
		}
	}
	vsGit := func(name string, d []time.Duration) {
		fmt.Printf("%-62s median %8s  p90 %8s  (n=%d)  ratio to git %.2f×\n", name, pct(d, 50), pct(d, 90), len(d),
			float64(pct(d, 50))/float64(pct(theirs, 50)))
	}
	report("sh -c: git credential-cache get (its daemon up)", theirs, nil)
	vsGit("sh -c: sfmcp-token headers", ours)
	if len(hello) > 0 {
		vsGit("sh -c: a Go program that only prints (runtime start)", hello)
	}
	return nil
}

// stopDaemon stops an auto-started daemon and waits for its lock.
func stopDaemon(lockPath string) {
	b, _ := os.ReadFile(lockPath)
	pid, _, _ := apitype.ParseLockRecord(b)
	if pid == 0 {
		return
	}
	lock, err := os.Open(lockPath)
	if err != nil {
		return
	}
	defer lock.Close()
	syscall.Kill(pid, syscall.SIGTERM)
	syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
}

// loadFor, when set, bounds the closed-loop load by time instead of count.
var loadFor time.Duration

func load(socket string, conns, total, rate int) ([]time.Duration, time.Duration, int64, error) {
	var next, errs atomic.Int64
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", socket)
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte("GET /v1/headers HTTP/1.1\r\nHost: sfmcp\r\n\r\n")
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(int64(time.Second) * int64(conns) / int64(rate))
			}
			due := start.Add(time.Duration(i) * interval / time.Duration(conns))
			for next.Add(1) <= int64(total) && (loadFor == 0 || rate > 0 || time.Since(start) < loadFor) {
				t := time.Now()
				if interval > 0 {
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
					t = due
					due = due.Add(interval)
				}
				if _, err := c.Write(req); err != nil {
					errs.Add(1)
					return
				}
				if err := readResponse(br); err != nil {
					errs.Add(1)
					return
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return all, elapsed, errs.Load(), nil
}

// readResponse reads one keep-alive response with a Content-Length body.
func readResponse(br *bufio.Reader) error {
	n := -1
	status := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if status == "" {
			status = line
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length: "); ok {
			fmt.Sscan(v, &n)
		}
	}
	if !strings.Contains(status, " 200 ") || n < 0 {
		return fmt.Errorf("bad response %q", status)
	}
	_, err := br.Discard(n)
	return err
}

func report(name string, d, baseline []time.Duration) {
	med := pct(d, 50)
	line := fmt.Sprintf("%-62s median %8s  p90 %8s  (n=%d)", name, med, pct(d, 90), len(d))
	if baseline != nil {
		line += fmt.Sprintf("  ratio to floor %.2f×", float64(med)/float64(pct(baseline, 50)))
	}
	fmt.Println(line)
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)*p/100, len(s)-1)
	return s[i].Round(time.Microsecond)
}

func goroutines(socket string) int {
	st, err := (&client.Client{Socket: socket}).Status(context.Background())
	if err != nil {
		return -1
	}
	return st.Goroutines
}
