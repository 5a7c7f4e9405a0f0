package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// serve runs a Server for the fixture on a socket in a private temp dir.
func (f *fixture) serve() (socket string, stop func() error) {
	f.t.Helper()
	socket = filepath.Join(privateDir(f.t), "sfmcp.sock")
	srv := &Server{Manager: f.m, Log: f.m.opts.Log, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, socket, socket+".lock", func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		f.t.Fatalf("serve: %v", err)
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	f.t.Cleanup(func() { stop() })
	return socket, stop
}

// privateDir is a 0700 temp dir (t.TempDir honours the umask).
func privateDir(t *testing.T) string {
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func unixClient(socket string) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
}

func getJSON(t *testing.T, c *http.Client, path string, v any) int {
	t.Helper()
	resp, err := c.Get("http://sfmcp" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestFanInOneRefreshForThousandCallers(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	// Slow the one refresh down so every caller arrives while it runs.
	f.sf.InjectTokenFaults(snowflaketest.Fault{Delay: 300 * time.Millisecond})
	before := f.sf.Counters().TokenRequests
	const callers = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	var ok atomic.Int32
	tokens := sync.Map{}
	c := unixClient(socket)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var h map[string]string
			resp, err := c.Get("http://sfmcp/v1/headers?profile=prod")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&h) == nil {
				ok.Add(1)
				tokens.Store(h["Authorization"], true)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := f.sf.Counters().TokenRequests - before; n != 1 {
		t.Fatalf("%d token requests for %d simultaneous callers, want exactly 1", n, callers)
	}
	distinct := 0
	tokens.Range(func(any, any) bool { distinct++; return true })
	if ok.Load() != callers || distinct != 1 {
		t.Fatalf("%d of %d callers got headers, %d distinct tokens", ok.Load(), callers, distinct)
	}
}

func TestHeadersTokenStatusHealth(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	c := unixClient(socket)
	var h map[string]string
	if st := getJSON(t, c, "/v1/headers?profile=prod", &h); st != 200 || !strings.HasPrefix(h["Authorization"], "Bearer at-") || h["X-Snowflake-Authorization-Token-Type"] != "OAUTH" || len(h) != 2 {
		t.Fatalf("headers: %d %v", st, h)
	}
	var tb apitype.TokenBody
	getJSON(t, c, "/v1/token?server_url="+"https://"+f.sf.Host()+"/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/X", &tb)
	if tb.Profile != "prod" || "Bearer "+tb.AccessToken != h["Authorization"] {
		t.Fatalf("token by server URL: %+v", tb)
	}
	var st apitype.Status
	getJSON(t, c, "/v1/status", &st)
	if st.PID != os.Getpid() || len(st.Profiles) != 1 || st.Profiles[0].State != "ok" || st.Profiles[0].User != "ALICE" {
		t.Fatalf("status: %+v", st)
	}
	raw, _ := json.Marshal(st)
	if strings.Contains(string(raw), tb.AccessToken) {
		t.Fatal("status shows a token")
	}
	var eb apitype.ErrorBody
	if code := getJSON(t, c, "/v1/token?profile=nope", &eb); code != 404 || eb.Error != apitype.CodeUnknownProfile {
		t.Fatalf("unknown profile: %d %+v", code, eb)
	}
	resp, _ := c.Post("http://sfmcp/v1/reload?profile=prod", "", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("reload: %d", resp.StatusCode)
	}
	var hl apitype.Health
	if getJSON(t, c, "/v1/health", &hl); !hl.OK {
		t.Fatal("health")
	}
	if !strings.Contains(f.logs.String(), "token handed out") || !strings.Contains(f.logs.String(), fmt.Sprintf("peer_pid=%d", os.Getpid())) {
		t.Fatalf("no audit line with the peer pid:\n%s", f.logs.String())
	}
}

func TestLoginRequiredOverSocket(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	f.sf.RevokeUser("alice")
	var eb apitype.ErrorBody
	code := getJSON(t, unixClient(socket), "/v1/headers", &eb)
	if code != 401 || eb.Error != apitype.CodeLoginRequired || eb.Profile != "prod" {
		t.Fatalf("%d %+v", code, eb)
	}
}

func TestOversizedRequests(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	c := unixClient(socket)
	resp, err := c.Get("http://sfmcp/v1/token?profile=" + strings.Repeat("a", 5000))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestURITooLong {
		t.Fatalf("long query: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://sfmcp/v1/health", nil)
	req.Header.Set("X-Junk", strings.Repeat("j", 16<<10))
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("huge header: %d", resp.StatusCode)
	}
}

func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	slow, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprint(slow, "GET /v1/health HTTP/1.1\r\nHost: sfmcp\r\n") // never finished
	var h apitype.Health
	if getJSON(t, unixClient(socket), "/v1/health", &h); !h.OK {
		t.Fatal("a slow client blocked another")
	}
	// The server gives up on the slow one after its header timeout.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(slow); err != nil {
		t.Fatalf("slow client was not dropped by the server: %v", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, stop := f.serve()
	f.sf.InjectTokenFaults(snowflaketest.Fault{Delay: 300 * time.Millisecond})
	arrived := make(chan struct{})
	f.sf.OnTokenRequest(func(string) {
		select {
		case <-arrived:
		default:
			close(arrived)
		}
	})
	result := make(chan int, 1)
	go func() {
		resp, err := unixClient(socket).Get("http://sfmcp/v1/headers?profile=prod")
		if err != nil {
			result <- 0
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	<-arrived // the request is in flight, waiting on Snowflake
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if code := <-result; code != 200 {
		t.Fatalf("in-flight request during shutdown: %d", code)
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("socket file left behind")
	}
}

func TestStaleSocketReplacedAndSecondDaemonRefused(t *testing.T) {
	socket := filepath.Join(privateDir(t), "sfmcp.sock")
	// A dead daemon's socket: bound, then closed without unlinking.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(socket); err != nil {
		t.Fatal("stale socket not in place")
	}
	ln, release, err := listen(socket, socket+".lock")
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer release()
	st, _ := os.Stat(socket)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v", st.Mode().Perm())
	}
	_, _, err = listen(socket, socket+".lock")
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second daemon: %v", err)
	}
	ln.Close()
}

func TestSocketDirectoryChecks(t *testing.T) {
	lock := filepath.Join(privateDir(t), "daemon.lock")
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if _, _, err := listen(filepath.Join(open, "s.sock"), lock); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("0755 dir: %v", err)
	}
	if os.Getuid() == 0 {
		theirs := filepath.Join(privateDir(t), "theirs")
		os.Mkdir(theirs, 0o700)
		os.Chown(theirs, 65534, 65534)
		if _, _, err := listen(filepath.Join(theirs, "s.sock"), lock); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Fatalf("dir owned by another user: %v", err)
		}
	}
	// A missing directory (e.g. a fresh $XDG_RUNTIME_DIR/sfmcp) is created 0700.
	fresh := filepath.Join(t.TempDir(), "run", "sfmcp")
	_, release, err := listen(filepath.Join(fresh, "s.sock"), lock)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o700 {
		t.Fatalf("created dir mode %v", st.Mode().Perm())
	}
}

// TestOtherUserRefused connects as uid 65534 (nobody). The socket directory
// is opened up on purpose, so only the peer-credential check stands in the
// way. Needs root to switch users; CI runs as root.
func TestOtherUserRefused(t *testing.T) {
	if os.Getenv("SFMCP_DIAL_AS_OTHER") != "" {
		dialChild(os.Getenv("SFMCP_DIAL_AS_OTHER"))
		return
	}
	if os.Getuid() != 0 {
		if os.Getenv("SFMCP_TEST_REQUIRE_ROOT") == "1" {
			t.Fatal("CI must run as root to test another uid")
		}
		t.Skip("needs root to connect as another user")
	}
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	os.Chmod(filepath.Dir(socket), 0o711)
	os.Chmod(socket, 0o666)
	// The test binary must be reachable by nobody.
	binDir, err := os.MkdirTemp("", "sfmcp-other-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(binDir)
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "daemon.test")
	data, _ := os.ReadFile(os.Args[0])
	os.WriteFile(bin, data, 0o755)
	for d := filepath.Dir(socket); d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			os.Chmod(d, st.Mode().Perm()|0o001) // let nobody traverse to the socket
		}
	}
	cmd := exec.Command(bin, "-test.run=^TestOtherUserRefused$")
	cmd.Env = []string{"SFMCP_DIAL_AS_OTHER=" + socket}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "REFUSED") {
		t.Fatalf("another user was served:\n%s", out)
	}
	if !strings.Contains(f.logs.String(), "refused connection from another user") || !strings.Contains(f.logs.String(), "peer_uid=65534") {
		t.Fatalf("refusal not logged:\n%s", f.logs.String())
	}
}

// dialChild runs as the other user: it connects (the socket is 0666) and
// reports whether it got an answer.
func dialChild(socket string) {
	conn, err := net.Dial("unix", socket)
	if err != nil {
		fmt.Println("DIAL FAILED", err)
		os.Exit(1)
	}
	fmt.Fprint(conn, "GET /v1/headers HTTP/1.1\r\nHost: sfmcp\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line == "" {
		fmt.Println("REFUSED")
		os.Exit(0)
	}
	fmt.Println("SERVED", line)
	os.Exit(0)
}

func newMCPRequest(sf *snowflaketest.Server, token string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, sf.URL+snowflaketest.DefaultMCPServer().MCPPath(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return req, nil
}

func TestMalformedRequests(t *testing.T) {
	f := newFixture(t, nil, nil)
	socket, _ := f.serve()
	for _, raw := range []string{
		"NOT HTTP AT ALL\r\n\r\n",
		"GET /v1/token?profile=%zz HTTP/1.1\r\nHost: sfmcp\r\n\r\n",
		"GET /v1/nothing HTTP/1.1\r\nHost: sfmcp\r\n\r\n",
		"DELETE /v1/token HTTP/1.1\r\nHost: sfmcp\r\n\r\n",
		"GET /v1/token HTTP/1.1\r\nHost: sfmcp\r\nContent-Length: 99999999999999999999\r\n\r\n",
	} {
		c, err := net.Dial("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, raw)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.Contains(line, " 200 ") {
			t.Errorf("%q was answered 200", raw)
		}
	}
	// The daemon still serves after all that.
	var h apitype.Health
	if getJSON(t, unixClient(socket), "/v1/health", &h); !h.OK {
		t.Fatal("the daemon stopped answering")
	}
}

// Every code the daemon sends has its HTTP status, and an error no code
// fits is an internal one.
func TestErrorForEveryWireCode(t *testing.T) {
	for _, code := range []string{apitype.CodeLoginRequired, apitype.CodeUnknownProfile, apitype.CodeKeychainUnavailable, apitype.CodeUnavailable,
		apitype.CodeClientConfig, apitype.CodeHostMismatch, apitype.CodeHostNotAllowed, apitype.CodeBadRequest} {
		status, body := errorFor(fmt.Errorf("wrapped: %w", errcode.New(code, "m")))
		if body.Error != code || status < 400 || status >= 500 && code != apitype.CodeUnavailable && code != apitype.CodeKeychainUnavailable {
			t.Errorf("%s: %d %+v", code, status, body)
		}
	}
	// The errors the daemon meets reach their code and status.
	for err, want := range map[error]int{
		config.ErrHostNotAllowed: http.StatusForbidden, config.ErrHostMismatch: http.StatusForbidden, config.ErrNoProfile: http.StatusNotFound,
		keychain.ErrUnavailable: http.StatusServiceUnavailable, oauth.ErrClientConfig: http.StatusConflict, oauth.ErrUnavailable: http.StatusServiceUnavailable,
		ErrReloaded: http.StatusServiceUnavailable, &oauth.LoginRequiredError{Profile: "prod"}: http.StatusUnauthorized,
	} {
		if status, body := errorFor(fmt.Errorf("profile prod: %w", err)); status != want || body.Error != errcode.Of(err) {
			t.Errorf("%v: %d %+v; want %d", err, status, body, want)
		}
	}
	if status, body := errorFor(errors.New("surprise")); status != http.StatusInternalServerError || body.Error != apitype.CodeInternal {
		t.Errorf("unknown error: %d %+v", status, body)
	}
}
