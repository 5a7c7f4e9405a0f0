package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// signedIn returns a proc with profile prod signed in (file store) and the
// socket in a private directory.
func signedIn(t *testing.T) *proc {
	p := newProc(t)
	run := filepath.Join(p.dir, "run")
	os.Mkdir(run, 0o700)
	p.useFileStore()
	p.env = append(p.env, "SFMCP_SOCKET="+filepath.Join(run, "sfmcp.sock"), "XDG_STATE_HOME="+filepath.Join(p.dir, "state"))
	if code, _, errOut := p.run(nil, "profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "MCP_USERS"); code != 0 {
		t.Fatal(errOut)
	}
	p.login(t, "prod")
	t.Cleanup(func() { p.stopDaemon() })
	return p
}

// login signs profile in through the real binary, acting as the browser.
func (p *proc) login(t *testing.T, profile string) {
	t.Helper()
	authURL, wait := startLogin(t, p, profile)
	if _, _, err := p.sf.Visit(authURL); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := wait(); code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
}

// stopDaemon sends SIGTERM to the daemon, if one runs, and waits until it
// lets go of its single-instance lock (it does so on exit).
func (p *proc) stopDaemon() { p.stopDaemonWith(nil) }

// stopDaemonWith stops the daemon that env (added to the proc's) reaches.
func (p *proc) stopDaemonWith(env []string) {
	code, out, _ := p.run(append([]string{"SFMCP_NO_AUTOSTART=1"}, env...), "status", "--json")
	if code != 0 {
		return
	}
	var st struct {
		Socket string
		Daemon *struct{ PID int } `json:"daemon"`
	}
	if json.Unmarshal([]byte(out), &st) != nil || st.Daemon == nil {
		return
	}
	proc, err := os.FindProcess(st.Daemon.PID)
	if err != nil {
		return
	}
	home := p.dir
	for _, kv := range env {
		if h, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = h
		}
	}
	lock, err := os.Open(filepath.Join(home, ".local", "state", "sfmcp", "daemon.lock"))
	if err != nil {
		return
	}
	defer lock.Close()
	proc.Signal(syscall.SIGTERM)
	unix.Flock(int(lock.Fd()), unix.LOCK_EX) // blocks until the daemon exits
}

func (p *proc) callMCP(t *testing.T, headers map[string]string) int {
	req, _ := http.NewRequest(http.MethodPost, p.sf.URL+snowflaketest.DefaultMCPServer().MCPPath(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := p.sf.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHeadersAutostartsDaemon(t *testing.T) {
	p := signedIn(t)
	code, out, errOut := p.run([]string{"CLAUDE_CODE_MCP_SERVER_URL=https://" + p.sf.Host() + "/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP"}, "headers")
	if code != 0 {
		t.Fatalf("headers: exit %d: %s", code, errOut)
	}
	if errOut != "" {
		t.Fatalf("headers must be quiet on success, stderr: %q", errOut)
	}
	if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("headers output is not one JSON line: %q", out)
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(out), &h); err != nil || len(h) != 2 || h["X-Snowflake-Authorization-Token-Type"] != "OAUTH" {
		t.Fatalf("headers = %q", out)
	}
	if st := p.callMCP(t, h); st != 200 {
		t.Fatalf("the MCP server refused the headers: %d", st)
	}
	// Second call: served by the running daemon, same token.
	_, out2, _ := p.run(nil, "headers", "--profile", "prod")
	if out2 != out {
		t.Fatal("the daemon did not cache the token")
	}
	code, tok, _ := p.run(nil, "token", "--profile", "prod")
	if code != 0 || "Bearer "+strings.TrimSpace(tok) != h["Authorization"] {
		t.Fatalf("token = %q", tok)
	}
	// The daemon's log (under ~/.local/state whatever XDG_STATE_HOME says,
	// so every client finds one log) has the audit line and no token.
	log, _ := os.ReadFile(filepath.Join(p.dir, ".local", "state", "sfmcp", "daemon.log"))
	if !strings.Contains(string(log), "token handed out") || !strings.Contains(string(log), "peer_exe=") {
		t.Fatalf("daemon log lacks the audit line:\n%s", log)
	}
	leaks.Record(t.Name()+": the daemon log", string(log))
	code, status, _ := p.run(nil, "status")
	if code != 0 || !strings.Contains(status, "daemon: running") || !strings.Contains(status, "ALICE") || !strings.Contains(status, "expires in") {
		t.Fatalf("status: %s", status)
	}
}

func TestNoDaemonWithoutAutostart(t *testing.T) {
	p := signedIn(t)
	code, out, errOut := p.run([]string{"SFMCP_NO_AUTOSTART=1"}, "headers")
	if code != 4 || out != "" || !strings.Contains(errOut, "sfmcp-token daemon") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestLoginRequiredExitsThree(t *testing.T) {
	p := signedIn(t)
	p.sf.RevokeUser("alice")
	code, out, errOut := p.run(nil, "headers", "--profile", "prod")
	if code != 3 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) > 2 || !strings.Contains(errOut, "run: sfmcp-token login --profile prod") {
		t.Fatalf("advice: %q", errOut)
	}
}

func TestDaemonKilledMidRefreshLosesNothing(t *testing.T) {
	p := signedIn(t)
	p.sf.UpdateIntegration("LOCAL_APPLICATION", func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true })
	// The daemon's refresh reaches Snowflake and hangs there; then it dies.
	p.sf.InjectTokenFaults(snowflaketest.Fault{Hang: true})
	arrived := make(chan struct{}, 1)
	p.sf.OnTokenRequest(func(string) {
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	daemon := p.startDaemon(t)
	headers := p.cmd([]string{"SFMCP_NO_AUTOSTART=1"}, "headers", "--profile", "prod")
	if err := headers.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the refresh never reached the stand-in")
	}
	daemon.Process.Kill() // kill -9
	daemon.Wait()
	headers.Wait()
	// The next daemon (autostarted) still has a working sign-in.
	code, out, errOut := p.run(nil, "headers", "--profile", "prod")
	if code != 0 {
		t.Fatalf("after kill -9: exit %d: %s", code, errOut)
	}
	var h map[string]string
	json.Unmarshal([]byte(out), &h)
	if st := p.callMCP(t, h); st != 200 {
		t.Fatalf("token after restart refused: %d", st)
	}
	if p.sf.Counters().FamiliesRevoked != 0 {
		t.Fatal("the refresh-token family was revoked")
	}
}

// startDaemon runs `sfmcp-token daemon` and waits for its ready signal on
// an inherited pipe (the same mechanism autostart uses).
func (p *proc) startDaemon(t *testing.T) *exec.Cmd {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := p.cmd([]string{"SFMCP_READY_FD=3"}, "daemon")
	d.ExtraFiles = []*os.File{w}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("daemon not ready: %v %q", err, buf)
	}
	return d
}

func TestSecondDaemonRefused(t *testing.T) {
	p := signedIn(t)
	if code, _, _ := p.run(nil, "headers"); code != 0 { // autostarts the first
		t.Fatal("headers failed")
	}
	c := p.cmd(nil, "daemon")
	var errOut bytes.Buffer
	c.Stderr = &errOut
	err := c.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 || !strings.Contains(errOut.String(), "already running") {
		t.Fatalf("second daemon: %v %s", err, errOut.String())
	}
}

// TestAutostartedDaemonGetsNoSecrets: a client secret in the caller's
// environment does not reach the long-lived daemon's environment or argv.
func TestAutostartedDaemonGetsNoSecrets(t *testing.T) {
	p := signedIn(t)
	secret := "client-secret-that-must-not-travel"
	if code, _, errOut := p.run([]string{"SFMCP_CLIENT_SECRET=" + secret}, "headers"); code != 0 {
		t.Fatal(errOut)
	}
	for _, f := range []string{"environ", "cmdline"} {
		if data := p.daemonProcFile(t, f); bytes.Contains(data, []byte(secret)) || bytes.Contains(data, []byte("SFMCP_CLIENT_SECRET")) {
			t.Fatalf("the daemon's %s carries the client secret", f)
		}
	}
}

// TestTwoLoginsAtOnce: two sign-ins of one profile race; both finish, the
// keychain keeps one working sign-in and the daemon serves it.
func TestTwoLoginsAtOnce(t *testing.T) {
	p := signedIn(t)
	urls := make(chan string, 2)
	var waits []func() (int, string, string)
	for range 2 {
		u, wait := startLogin(t, p, "prod")
		urls <- u
		waits = append(waits, wait)
	}
	close(urls)
	for u := range urls {
		if _, _, err := p.sf.Visit(u); err != nil {
			t.Fatal(err)
		}
	}
	for _, wait := range waits {
		if code, out, errOut := wait(); code != 0 {
			t.Fatalf("a concurrent login failed: %d %s%s", code, out, errOut)
		}
	}
	code, out, errOut := p.run(nil, "headers", "--profile", "prod")
	if code != 0 {
		t.Fatalf("headers after two logins: %s", errOut)
	}
	var h map[string]string
	json.Unmarshal([]byte(out), &h)
	if st := p.callMCP(t, h); st != 200 {
		t.Fatalf("token refused: %d", st)
	}
}

// daemonProcFile is /proc/PID/name of the running daemon (status names it).
func (p *proc) daemonProcFile(t *testing.T, name string) []byte {
	t.Helper()
	_, out, _ := p.run(nil, "status", "--json")
	var st struct {
		Daemon struct{ PID int } `json:"daemon"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Daemon.PID == 0 {
		t.Fatalf("status: %s", out)
	}
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(st.Daemon.PID), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
