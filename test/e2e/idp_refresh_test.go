//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/test/idptest"
)

// `headers` and the bridge (one mcp-proxy session) serve the provider's
// tokens to the bound MCP server across several access-token lifetimes:
// each lifetime's token is new, taken by the server, and neither ever
// hands out one the server finds expired. Time moves by the tokens'
// expiry, observed at the server, not by sleeps.
func TestIdPTokensAcrossLifetimes(t *testing.T) {
	const lifetimes = 3
	// 6 s: the daemon renews a token a fifth of its lifetime before its
	// end, which must be more than the second exp may be off.
	ip := newIdPProc(t, idpCase{idp: idptest.Options{AccessTTL: 6 * time.Second}})
	ip.login(t)
	daemonLog := func() string {
		b, _ := os.ReadFile(filepath.Join(ip.dir, ".local", "state", "sfmcp", "daemon.log"))
		return string(b)
	}
	b := startBridge(t, ip.cmd(nil, "mcp-proxy", "--profile", corpProfile, "--server", "db.public.gong_mcp"), daemonLog)
	if m := b.call(t, 1, "initialize", initializeParams, 30*time.Second); m["result"] == nil {
		t.Fatalf("initialize through the bridge: %v", m)
	}
	seen := map[string]bool{}
	for i := range lifetimes {
		h := ip.headers(t)
		tok := bearer(h)
		if seen[tok] {
			t.Fatalf("lifetime %d: headers served a token of an earlier lifetime", i+1)
		}
		seen[tok] = true
		if c := ip.claims(t, tok); !c.Expiry.After(time.Now()) {
			t.Fatalf("lifetime %d: headers served a token that expired at %s", i+1, c.Expiry)
		}
		if st := ip.callMCP(t, h); st != http.StatusOK {
			t.Fatalf("lifetime %d: the bound MCP server answered headers' token with HTTP %d", i+1, st)
		}
		m := b.call(t, 2+i, "tools/call", searchParams, 30*time.Second)
		if text, ok := toolText(m); !ok || !strings.Contains(text, corpToolResult) {
			t.Fatalf("lifetime %d: tools/call through the bridge: %v\n%s", i+1, m, b.errors())
		}
		ip.waitExpired(t, h, 15*time.Second)
	}
	c := ip.sf.Counters()
	// The only refusals are the test's own probes of expired tokens: the
	// bridge never sent one.
	if c.MCPRefused[snowflaketest.KindExternalOAuth] != lifetimes || c.Refusals[snowflaketest.RefusedExpired] != lifetimes || c.MCPToolCalls != lifetimes {
		t.Errorf("the stand-in refused %v (reasons %v) and ran %d tool calls; want only the %d expired probes and %d calls",
			c.MCPRefused, c.Refusals, c.MCPToolCalls, lifetimes, lifetimes)
	}
	if s := ip.idp.Stats(t); s.Refreshes < lifetimes || s.RefreshReuses != 0 || s.RefreshErrors != 0 || s.GrantsRevoked != 0 {
		t.Errorf("the provider saw %+v; want at least %d refreshes, none reused or refused", s, lifetimes)
	}
	ip.storedRefreshToken(t)
}

// 100 `headers` callers at an expired token cause one refresh at the
// provider, and the provider never sees a refresh token twice (it would
// revoke the whole grant, as Okta does): not when the daemon is killed
// (SIGKILL) while its refresh is at the provider, nor when it is killed
// after handing out a token from a rotated refresh token, which must have
// been saved before.
func TestIdPRefreshCrowdAndKill(t *testing.T) {
	const callers = 100
	ip := newIdPProc(t, idpCase{idp: idptest.Options{AccessTTL: 5 * time.Second}})
	ip.login(t)
	d := ip.startOwnDaemon(t)
	ip.headers(t, "SFMCP_NO_AUTOSTART=1")

	// A: the daemon's refresh is held at the provider until its token has
	// expired; then 100 callers wait on it and all get its one result.
	before := ip.idp.Stats(t)
	c := ip.crowdAtExpiry(t, callers, before.RefreshesHeld+1)
	ip.idp.ReleaseRefreshes(t)
	ip.expectOneToken(t, c, "A")
	if s := ip.idp.Stats(t); s.Refreshes != before.Refreshes+1 {
		t.Fatalf("A: %d callers at an expired token caused %d refreshes, want 1", callers, s.Refreshes-before.Refreshes)
	}

	// B: the same, but the daemon is killed while its refresh is held: the
	// callers fail, the refresh never reaches the provider, and the
	// restarted daemon refreshes once with the refresh token it had.
	before = ip.idp.Stats(t)
	c = ip.crowdAtExpiry(t, callers, before.RefreshesHeld+1)
	d.kill(t)
	// Each caller fails as when the daemon is unavailable (exit 4).
	if _, codes := c.wait(t); codes["4"] != callers {
		t.Fatalf("B: the callers of a killed daemon exited with %v, want %d times 4", codes, callers)
	}
	within(t, 10*time.Second, "B: the killed daemon's refresh is dropped", func() bool {
		return ip.idp.Stats(t).RefreshesAbandoned == before.RefreshesAbandoned+1
	})
	unused := ip.storedRefreshToken(t)
	d = ip.startOwnDaemon(t)
	ip.idp.HoldRefreshes(t)
	c = ip.startCrowd(t, callers)
	ip.waitCrowdWaiting(t, c, before.RefreshesHeld+2)
	ip.idp.ReleaseRefreshes(t)
	ip.expectOneToken(t, c, "B")
	if s := ip.idp.Stats(t); s.Refreshes != before.Refreshes+1 {
		t.Fatalf("B: the restarted daemon made %d refreshes for %d callers, want 1", s.Refreshes-before.Refreshes, callers)
	}

	// C: the token handed out came from a rotated refresh token, which is
	// in the store already; killed now, the next daemon refreshes with it.
	if ip.storedRefreshToken(t) == unused {
		t.Fatal("C: a token from a rotated refresh token was handed out before the rotated one was saved")
	}
	d.kill(t)
	before = ip.idp.Stats(t)
	ip.startOwnDaemon(t)
	if st := ip.callMCP(t, ip.headers(t, "SFMCP_NO_AUTOSTART=1")); st != http.StatusOK {
		t.Fatalf("C: after the restart, the bound MCP server answered with HTTP %d", st)
	}
	s := ip.idp.Stats(t)
	if s.Refreshes != before.Refreshes+1 || s.RefreshReuses != 0 || s.GrantsRevoked != 0 || s.RefreshErrors != 0 {
		t.Errorf("the provider saw %+v; want one more refresh, no refresh token reused, no grant revoked", s)
	}
	ip.storedRefreshToken(t)
}

// ownDaemon is a daemon the test started and may kill.
type ownDaemon struct{ cmd *exec.Cmd }

// startOwnDaemon runs `sfmcp-token daemon` and waits for its ready
// signal; its stderr goes to a file under the test's HOME (recorded for
// the leak check). The test's cleanup stops it if the test did not.
func (ip *idpProc) startOwnDaemon(t *testing.T) *ownDaemon {
	t.Helper()
	n := 1
	for ; ; n++ {
		if _, err := os.Stat(filepath.Join(ip.dir, fmt.Sprintf("daemon-%d.stderr", n))); os.IsNotExist(err) {
			break
		}
	}
	logFile, err := os.Create(filepath.Join(ip.dir, fmt.Sprintf("daemon-%d.stderr", n)))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := ip.cmd([]string{"SFMCP_READY_FD=3", "SFMCP_NO_AUTOSTART=1"}, "daemon")
	cmd.Stderr = logFile
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	d := &ownDaemon{cmd: cmd}
	t.Cleanup(func() { d.kill(t) })
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("the daemon is not ready: %v %q", err, buf)
	}
	return d
}

// kill ends the daemon with SIGKILL, once, and waits for it.
func (d *ownDaemon) kill(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// crowd is many `headers` callers started at once, for the running
// daemon only (no autostart).
type crowd struct {
	cmds []*exec.Cmd
	outs []*bytes.Buffer
	errs []*bytes.Buffer
}

func (ip *idpProc) startCrowd(t *testing.T, n int) *crowd {
	t.Helper()
	c := &crowd{}
	for range n {
		cmd := ip.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", corpProfile)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.cmds, c.outs, c.errs = append(c.cmds, cmd), append(c.outs, &out), append(c.errs, &errOut)
	}
	t.Cleanup(func() {
		for _, cmd := range c.cmds {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}
	})
	return c
}

// wait waits for every caller and returns the headers they printed and
// their exit codes, each by count.
func (c *crowd) wait(t *testing.T) (tokens, codes map[string]int) {
	t.Helper()
	tokens, codes = map[string]int{}, map[string]int{}
	for i, cmd := range c.cmds {
		cmd.Wait()
		leaks.Record("headers (crowd, stderr)", c.errs[i].String())
		code := cmd.ProcessState.ExitCode()
		codes[fmt.Sprint(code)]++
		if code == 0 {
			tokens[c.outs[i].String()]++
		} else if c.outs[i].Len() != 0 {
			t.Errorf("a failed headers printed %d bytes on stdout", c.outs[i].Len())
		}
	}
	return tokens, codes
}

// crowdAtExpiry holds the provider's refreshes, waits for the daemon's own
// background refresh to be held (the held-th) and for its token to expire
// meanwhile, then starts n callers and waits until all of them wait on the
// daemon. The caller releases the refresh, or kills the daemon.
func (ip *idpProc) crowdAtExpiry(t *testing.T, n, held int) *crowd {
	t.Helper()
	ip.idp.HoldRefreshes(t)
	within(t, 15*time.Second, "the daemon's background refresh reaches the provider", func() bool {
		return ip.idp.Stats(t).RefreshesHeld >= held
	})
	within(t, 15*time.Second, "the daemon's token expires", func() bool {
		return ip.profileStatus(t).State != "ok"
	})
	c := ip.startCrowd(t, n)
	ip.waitCrowdWaiting(t, c, held)
	return c
}

// waitCrowdWaiting waits until every caller of c is connected to the
// daemon, and checks that the provider holds exactly the held-th refresh:
// one for all of them.
func (ip *idpProc) waitCrowdWaiting(t *testing.T, c *crowd, held int) {
	t.Helper()
	within(t, 60*time.Second, fmt.Sprintf("%d callers connected to the daemon", len(c.cmds)), func() bool {
		return connectedTo(t, ip.socket) >= len(c.cmds)
	})
	within(t, 10*time.Second, "the refresh reaches the provider", func() bool {
		return ip.idp.Stats(t).RefreshesHeld >= held
	})
	if s := ip.idp.Stats(t); s.RefreshesHeld != held {
		t.Fatalf("%d callers waiting: the provider holds refresh number %d, want %d", len(c.cmds), s.RefreshesHeld, held)
	}
}

// expectOneToken waits for c's callers: every one got the same token, a
// new one the bound server takes.
func (ip *idpProc) expectOneToken(t *testing.T, c *crowd, phase string) {
	t.Helper()
	tokens, codes := c.wait(t)
	if codes["0"] != len(c.cmds) || len(tokens) != 1 {
		t.Fatalf("%s: %d callers exited with %v, and printed %d different tokens; want all 0, one token", phase, len(c.cmds), codes, len(tokens))
	}
	for out := range tokens {
		var h map[string]string
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("%s: headers printed no JSON object", phase)
		}
		ip.claims(t, bearer(h))
		if st := ip.callMCP(t, h); st != http.StatusOK {
			t.Fatalf("%s: the bound MCP server answered the callers' token with HTTP %d", phase, st)
		}
	}
}

// connectedTo counts the connections the daemon's socket has accepted or
// queued: in /proc/net/unix, the server side of each is a connected
// socket bearing the listener's path.
func connectedTo(t *testing.T, socket string) int {
	t.Helper()
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fields := strings.Fields(sc.Text())
		if len(fields) == 8 && fields[7] == socket && fields[5] == "03" {
			n++
		}
	}
	return n
}
