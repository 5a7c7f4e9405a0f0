package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// harness runs sfmcp-token commands in-process against a stand-in, with a
// private config and the file credential store.
type harness struct {
	t   *testing.T
	sf  *snowflaketest.Server
	env map[string]string
	dir string
	// open, when set, is the browser commands open (default: the
	// stand-in's sign-in).
	open func(url string) error
	// every output of every command and the config, checked for secrets
	// at the end
	leaks snowflaketest.Leaks
}

func newHarness(t *testing.T, opts snowflaketest.Options) *harness {
	dir := t.TempDir()
	sf := snowflaketest.New(opts)
	h := &harness{t: t, sf: sf, dir: dir, env: map[string]string{
		"HOME":          dir,
		"SFMCP_CONFIG":  filepath.Join(dir, "config.toml"),
		"SFMCP_KEYRING": "file",
		"XDG_DATA_HOME": filepath.Join(dir, "data"),
	}}
	h.leaks.Watch(sf)
	t.Cleanup(func() {
		cfg, _ := os.ReadFile(h.env["SFMCP_CONFIG"])
		h.leaks.Record("the config file", string(cfg))
		h.leaks.Assert(t)
		sf.Close()
	})
	return h
}

func (h *harness) run(stdin string, args ...string) (int, string, string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	e := Env{
		Getenv: func(k string) string { return h.env[k] }, Stdout: &out, Stderr: &errOut,
		Args:        args,
		Stdin:       strings.NewReader(stdin),
		HTTPClient:  h.sf.Client(),
		OpenBrowser: func(u string) error { _, _, err := h.sf.Visit(u); return err },
	}
	if h.open != nil {
		e.OpenBrowser = h.open
	}
	code := Main(context.Background(), e)
	h.leaks.Record("command output", out.String()+errOut.String())
	return code, out.String(), errOut.String()
}

func (h *harness) mustRun(args ...string) string {
	h.t.Helper()
	code, out, errOut := h.run("", args...)
	if code != 0 {
		h.t.Fatalf("sfmcp-token %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (h *harness) store() *keychain.Store {
	s, err := keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(h.dir, "data", "sfmcp")})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func TestProfileCommands(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	out := h.mustRun("profile", "add", "prod", "--account", "myorg-my_account", "--role", "mcp_users")
	if !strings.Contains(out, "myorg-my-account.snowflakecomputing.com") || !strings.Contains(out, "sfmcp-token login --profile prod") {
		t.Fatalf("profile add said: %s", out)
	}
	h.mustRun("profile", "add", "team", "--account", "myorg-acct", "--client-id", "ABC", "--client-type", "public", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback")
	var list []map[string]any
	if err := json.Unmarshal([]byte(h.mustRun("profile", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0]["name"] != "prod" || list[0]["default"] != true || list[1]["client_type"] != "public" {
		t.Fatalf("profile list --json = %v", list)
	}
	var show map[string]any
	json.Unmarshal([]byte(h.mustRun("profile", "show", "prod", "--json")), &show)
	if show["endpoint"] != "https://myorg-my-account.snowflakecomputing.com" {
		t.Fatalf("show = %v", show)
	}
	scopes, _ := show["requested_scopes"].([]any)
	if len(scopes) != 2 || scopes[1] != "session:role:MCP_USERS" {
		t.Fatalf("scopes = %v", show["requested_scopes"])
	}
	h.mustRun("profile", "default", "team")
	if out := h.mustRun("profile", "show"); !strings.Contains(out, "team (default)") {
		t.Fatalf("default not switched: %s", out)
	}
	h.mustRun("profile", "remove", "team")
	code, _, errOut := h.run("", "profile", "show", "team")
	if code != exitcode.Usage || !strings.Contains(errOut, "profile add") {
		t.Fatalf("show removed profile: exit %d %s", code, errOut)
	}
	st, _ := os.Stat(h.env["SFMCP_CONFIG"])
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v", st.Mode().Perm())
	}
}

func TestProfileAddRejectsBadInput(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	for _, args := range [][]string{
		{"profile", "add", "p"},
		{"profile", "add", "p", "--account", "http://example.com"},
		{"profile", "add", "p", "--account", "a-b", "--client-id", "X"},
		{"profile", "add", "p", "--account", "a-b", "--bogus"},
		{"profile", "add", "bad name", "--account", "a-b"},
	} {
		if code, _, errOut := h.run("", args...); code != exitcode.Usage || !strings.HasPrefix(errOut, "sfmcp: ") && !strings.Contains(errOut, "flag provided but not defined") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestLoginAndLogout(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice", ExtraTokenFields: true})
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "MCP_USERS")
	code, out, errOut := h.run("", "login", "--profile", "prod")
	if code != 0 {
		t.Fatalf("login: exit %d: %s", code, errOut)
	}
	if want := "Logged in to " + h.sf.Host() + " as ALICE (profile prod)\n"; out != want {
		t.Fatalf("login stdout = %q, want %q", out, want)
	}
	if !strings.Contains(errOut, "warning: credentials are kept in a plain file") {
		t.Error("no file-store warning")
	}
	urlLines := 0
	for _, line := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(line, "http://127.0.0.1:") && strings.HasSuffix(line, oauth.StartPath) {
			urlLines++
		}
	}
	if urlLines != 1 || strings.Contains(errOut, "state=") || strings.Contains(errOut, "code_challenge") {
		t.Errorf("want the loopback sign-in URL, and no state or challenge, on stderr; got %d lines:\n%s", urlLines, errOut)
	}
	cred, err := h.store().Credential("prod")
	if err != nil {
		t.Fatal(err)
	}
	if cred.User != "ALICE" || cred.Role != "MCP_USERS" || cred.Host != h.sf.Host() || cred.SecretExpiresAt.IsZero() || cred.ObtainedAt.IsZero() {
		t.Fatalf("stored credential = %v", cred)
	}
	h.mustRun("logout", "--profile", "prod")
	if _, err := h.store().Credential("prod"); err == nil {
		t.Fatal("logout left the sign-in behind")
	}
}

func TestLoginConfidentialSecretFromStdin(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	secret := "Zm9v+YmFy/YmF6=="
	h.leaks.Secret(secret)
	redirect := "http://127.0.0.1:" + freePort(t) + "/cb"
	h.sf.AddIntegration(snowflaketest.Integration{ClientID: "CORPCLIENT", ClientSecret: secret,
		RedirectURIs: []string{redirect}, AllowNonTLSRedirect: true})
	code, _, errOut := h.run(secret+"\n", "profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(),
		"--client-id", "CORPCLIENT", "--redirect-uri", redirect, "--client-secret-stdin")
	if code != 0 {
		t.Fatalf("profile add: %d %s", code, errOut)
	}
	if got, err := h.store().ClientSecret("corp"); err != nil || got != secret {
		t.Fatalf("client secret in store: %v", err)
	}
	h.mustRun("login", "--profile", "corp")
	// A wrong secret from the environment wins over the store and is refused.
	h.env["SFMCP_CLIENT_SECRET"] = "wrong-secret"
	h.leaks.Secret("wrong-secret")
	code, _, errOut = h.run("", "login", "--profile", "corp")
	if code != exitcode.Usage || !strings.Contains(errOut, "invalid_client") || !strings.Contains(errOut, "network policy") {
		t.Fatalf("wrong secret: exit %d: %s", code, errOut)
	}
}

func TestLoginConfidentialWithoutSecret(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--client-id", "C", "--redirect-uri", "http://127.0.0.1:3999/cb")
	code, _, errOut := h.run("", "login", "--profile", "corp")
	if code != exitcode.Usage || !strings.Contains(errOut, "--client-secret-stdin") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestLoginDeniedExitsThree(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host())
	var out, errOut bytes.Buffer
	e := Env{Args: []string{"login", "--profile", "prod"}, Getenv: func(k string) string { return h.env[k] }, Stdout: &out, Stderr: &errOut,
		HTTPClient: h.sf.Client(), OpenBrowser: func(u string) error {
			_, _, err := h.sf.SignIn(u, "alice", snowflaketest.DefaultPassword, false)
			return err
		}}
	code := Main(context.Background(), e)
	h.leaks.Record("command output", out.String()+errOut.String())
	if code != exitcode.LoginRequired || !strings.Contains(errOut.String(), "denied") || !strings.Contains(errOut.String(), "run: sfmcp-token login --profile prod") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}

func TestUnknownCommandAndProfile(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	for _, tc := range []struct {
		args []string
		want string // on stderr, after the "sfmcp: " line
	}{
		{[]string{"frobnicate"}, "sfmcp: unknown command \"frobnicate\" for \"sfmcp-token\"\nusage: sfmcp-token COMMAND [flags]\n"},
		{[]string{"logn"}, "\nDid you mean this?\n\tlogin\nusage: sfmcp-token COMMAND [flags]\n"},
		{[]string{"mcp", "ad"}, "\nDid you mean this?\n\tadd\nusage: sfmcp-token mcp COMMAND [flags]\n"},
		{[]string{"profile", "lis"}, "\nDid you mean this?\n\tlist\nusage: sfmcp-token profile COMMAND [flags]\n"},
		{[]string{"help", "logn"}, "sfmcp: unknown help topic \"logn\"\nDid you mean this?\n\tlogin\nusage: sfmcp-token help [command] [flags]\n"},
		{[]string{"help", "zzz"}, "sfmcp: unknown help topic \"zzz\"\nusage: sfmcp-token help [command] [flags]\n"},
	} {
		code, out, errOut := h.run("", tc.args...)
		if code != exitcode.Usage || out != "" || !strings.HasPrefix(errOut, "sfmcp: ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\nstdout: %s\nstderr: %s", tc.args, code, tc.want, out, errOut)
		}
	}
	code, _, errOut := h.run("", "login", "--profile", "nope")
	if code != exitcode.Usage || !strings.Contains(errOut, `"nope"`) || !strings.Contains(errOut, "profile add") {
		t.Errorf("unknown profile: exit %d %s", code, errOut)
	}
}

func TestProfileFromClaudeCodeServerURL(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "dev", "--account", "myorg-dev")
	h.mustRun("profile", "add", "prod", "--account", "myorg-prod")
	h.env["CLAUDE_CODE_MCP_SERVER_URL"] = "https://myorg-prod.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/gong_mcp"
	if out := h.mustRun("profile", "show"); !strings.Contains(out, "profile:      prod") {
		t.Fatalf("URL did not select prod: %s", out)
	}
	// A named profile must serve the URL too: dev's token never goes to
	// prod's host.
	h.env["SFMCP_PROFILE"] = "dev"
	code, _, errOut := h.run("", "profile", "show")
	if code != exitcode.Usage || !strings.Contains(errOut, "myorg-prod.snowflakecomputing.com") || !strings.Contains(errOut, "myorg-dev.snowflakecomputing.com") {
		t.Fatalf("SFMCP_PROFILE=dev with prod's URL: exit %d %s", code, errOut)
	}
}

func TestProfileFromSnowflakeCLIConnection(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	sfHome := filepath.Join(h.dir, "snowhome")
	os.MkdirAll(sfHome, 0o700)
	os.WriteFile(filepath.Join(sfHome, "connections.toml"), []byte("[work]\naccount = \"myorg-work\"\nuser = \"bob\"\nrole = \"ANALYST\"\n"), 0o600)
	h.env["SNOWFLAKE_HOME"] = sfHome
	h.mustRun("profile", "add", "work", "--connection", "work")
	var show map[string]any
	json.Unmarshal([]byte(h.mustRun("profile", "show", "work", "--json")), &show)
	if show["account"] != "myorg-work" || show["role"] != "ANALYST" || show["user"] != "bob" {
		t.Fatalf("profile from connection = %v", show)
	}
}

// #20: a keychain timeout too short to read anything, or long enough to
// hang a helper, is refused rather than used.
func TestKeychainTimeoutIsBounded(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "prod", "--account", "myorg-myaccount")
	for _, v := range []string{"1ns", "999ms", "31s", "never"} {
		h.env["SFMCP_KEYCHAIN_TIMEOUT"] = v
		code, _, errOut := h.run("", "status", "prod")
		if code != exitcode.Usage || !strings.Contains(errOut, "from 1s to 30s") {
			t.Errorf("SFMCP_KEYCHAIN_TIMEOUT=%s: exit %d\n%s", v, code, errOut)
		}
	}
	h.env["SFMCP_KEYCHAIN_TIMEOUT"] = "2s"
	if code, _, errOut := h.run("", "status", "prod"); strings.Contains(errOut, "SFMCP_KEYCHAIN_TIMEOUT") {
		t.Errorf("2s refused: exit %d\n%s", code, errOut)
	}
}

// privateDaemon points the harness at a socket of its own, in a short
// private directory (a socket path is limited to about 100 bytes), and
// keeps any command from starting a daemon: a test that wants one runs it
// in-process (startDaemon), never this test binary as a child.
func (h *harness) privateDaemon() string {
	h.t.Helper()
	if s := h.env["SFMCP_SOCKET"]; s != "" {
		return s
	}
	dir, err := os.MkdirTemp("", "sfmcp-")
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { os.RemoveAll(dir) })
	h.env["SFMCP_SOCKET"] = filepath.Join(dir, "sfmcp.sock")
	h.env["SFMCP_NO_AUTOSTART"] = "1"
	return h.env["SFMCP_SOCKET"]
}

// writeFile writes a file under the harness's directory and returns its
// path.
func (h *harness) writeFile(name, body string) string {
	h.t.Helper()
	path := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// readFile is a file under the harness's directory, "" if there is none.
func (h *harness) readFile(name string) string {
	data, _ := os.ReadFile(filepath.Join(h.dir, name))
	return string(data)
}

// signIn adds profile prod on the stand-in (AutoApprove must be set) and
// signs it in.
func (h *harness) signIn() {
	h.t.Helper()
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "MCP_USERS")
	h.mustRun("login", "--profile", "prod")
}

// syncBuffer collects what a command running in the background writes,
// and says when more arrived.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // a token after each write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.written <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background is a command running while the test acts on what it says,
// as a user at the terminal would.
type background struct {
	h           *harness
	args        []string
	stdin       *io.PipeWriter
	out, errOut *syncBuffer
	done        chan struct{}
	code        int
	opened      atomic.Int32 // browsers opened: none here
}

// start runs a command in the background with stdin a pipe the test writes.
func (h *harness) start(args ...string) *background {
	r, w := io.Pipe()
	b := &background{h: h, args: args, stdin: w, out: newSyncBuffer(), errOut: newSyncBuffer(), done: make(chan struct{})}
	env := maps.Clone(h.env) // the test may change h.env while this runs
	e := Env{Getenv: func(k string) string { return env[k] }, Stdout: b.out, Stderr: b.errOut, Args: args, Stdin: r,
		HTTPClient: h.sf.Client(), OpenBrowser: func(string) error {
			b.opened.Add(1)
			return errors.New("no browser here: the test acts as one")
		}}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(b.done)
		b.code = Main(ctx, e)
	}()
	h.t.Cleanup(func() {
		cancel() // a command a failed test left waiting
		w.Close()
		<-b.done
	})
	return b
}

// lineWith waits until the command writes a stderr line containing want,
// and returns that line.
func (b *background) lineWith(want string) string {
	b.h.t.Helper()
	find := func() (string, bool) {
		lines := strings.Split(b.errOut.String(), "\n")
		for _, line := range lines[:len(lines)-1] { // whole lines only
			if strings.Contains(line, want) {
				return line, true
			}
		}
		return "", false
	}
	limit := time.After(30 * time.Second) // a bound on a hang, not a synchronisation
	for {
		if line, ok := find(); ok {
			return line
		}
		select {
		case <-b.errOut.written:
		case <-b.done:
			if line, ok := find(); ok { // written just before the end
				return line
			}
			b.h.t.Fatalf("sfmcp-token %s exited %d without printing %q:\n%s", strings.Join(b.args, " "), b.code, want, b.errOut.String())
		case <-limit:
			b.h.t.Fatalf("sfmcp-token %s: no %q after 30 s:\n%s", strings.Join(b.args, " "), want, b.errOut.String())
		}
	}
}

// wait waits for the command to end and returns its exit code and output,
// recorded for the leak check.
func (b *background) wait() (int, string, string) {
	b.h.t.Helper()
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		b.h.t.Fatalf("sfmcp-token %s did not end:\n%s", strings.Join(b.args, " "), b.errOut.String())
	}
	b.h.leaks.Record("command output", b.out.String()+b.errOut.String())
	return b.code, b.out.String(), b.errOut.String()
}
