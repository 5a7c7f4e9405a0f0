package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// These tests run the real binary, as a user or Claude Code would.

var binary string

// leaks is the whole binary's leak check: every stand-in's secrets against
// everything every test saw sfmcp write (TestMain checks it at the end).
var leaks snowflaketest.Leaks

// newStandIn starts a Snowflake stand-in whose secrets the leak check
// looks for.
func newStandIn(opts snowflaketest.Options) *snowflaketest.Server {
	sf := snowflaketest.New(opts)
	leaks.Watch(sf)
	return sf
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sfmcp-bin-")
	if err != nil {
		panic(err)
	}
	// Both binaries, side by side as installed: sfmcp-token answers the hot
	// path and hands everything else to sfmcp-token-full.
	binary = filepath.Join(dir, "sfmcp-token")
	if out, err := exec.Command("go", "build", "-ldflags", stampVersion, "-o", binary, "../../cmd/sfmcp-token").CombinedOutput(); err != nil {
		panic(string(out))
	}
	if out, err := exec.Command("go", "build", "-ldflags", stampVersion, "-o", filepath.Join(dir, "sfmcp-token-full"), "../../cmd/sfmcp-token-full").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	// Everything the binary wrote in every test, checked at once against
	// every secret every stand-in issued.
	texts, secrets, err := leaks.Check()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	} else if code == 0 && texts == 0 {
		fmt.Fprintln(os.Stderr, "leak check saw no output at all")
		code = 1
	}
	_ = secrets
	os.Exit(code)
}

type proc struct {
	t   *testing.T
	sf  *snowflaketest.Server
	dir string
	env []string
}

func newProc(t *testing.T) *proc {
	return newProcWith(t, snowflaketest.Options{AutoApprove: "alice"})
}

// newProcWith is newProc with a stand-in configured by opts.
func newProcWith(t *testing.T, opts snowflaketest.Options) *proc {
	sf := newStandIn(opts)
	t.Cleanup(sf.Close)
	dir := t.TempDir()
	t.Cleanup(func() { recordFiles(dir) })
	ca := filepath.Join(dir, "ca.pem")
	if err := sf.WriteCA(ca); err != nil {
		t.Fatal(err)
	}
	// The stand-in's CA goes into the config too: an auto-started daemon
	// and the bridge take TLS roots only from there.
	cfg := filepath.Join(dir, ".config", "sfmcp", "config.toml")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte("ca_file = "+strconv.Quote(ca)+"\n"), 0o600)
	return &proc{t: t, sf: sf, dir: dir, env: []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		// Config and file store at their defaults under HOME: an
		// auto-started daemon ignores SFMCP_CONFIG and XDG_DATA_HOME.
		"SSL_CERT_FILE=" + ca,
	}}
}

// credentialsFile is the explicit file store's path under the test HOME.
func (p *proc) credentialsFile() string {
	return filepath.Join(p.dir, ".local", "share", "sfmcp", "credentials.json")
}

// configFile is the config's path under the test HOME.
func (p *proc) configFile() string { return filepath.Join(p.dir, ".config", "sfmcp", "config.toml") }

// useFileStore chooses the explicit file store in the config file, where
// an auto-started daemon sees it too (it ignores SFMCP_KEYRING).
func (p *proc) useFileStore() {
	p.t.Helper()
	f, err := os.OpenFile(p.configFile(), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("keyring = \"file\"\n"); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) cmd(extraEnv []string, args ...string) *exec.Cmd {
	c := exec.Command(binary, args...)
	c.Env = append(append([]string{}, p.env...), extraEnv...)
	return c
}

func (p *proc) run(extraEnv []string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	c := p.cmd(extraEnv, args...)
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	where := "sfmcp-token " + strings.Join(args, " ")
	if printsSecret(args) {
		leaks.Record(where+" (stderr)", errOut.String())
	} else {
		leaks.Record(where, out.String()+errOut.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func TestLoginNoBrowserThroughRealProcess(t *testing.T) {
	p := newProc(t)
	file := []string{"SFMCP_KEYRING=file"}
	if code, _, errOut := p.run(file, "profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "MCP_USERS"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := signInAsBrowser(t, p.cmd(file, "login", "--profile", "prod", "--no-browser", "--timeout", "30s"), func(startURL string) error {
		status, page, err := p.sf.Visit(startURL)
		if err != nil || status != 200 || !strings.Contains(page, "signed in") {
			return fmt.Errorf("callback page: %d %v %q", status, err, page)
		}
		return nil
	})
	if code != 0 {
		t.Fatalf("login: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "Logged in to "+p.sf.Host()+" as ALICE (profile prod)") {
		t.Fatalf("stdout = %q", out)
	}
}

func TestKeychainUnavailableExitsFourBeforeTheBrowser(t *testing.T) {
	p := newProc(t)
	if code, _, errOut := p.run(nil, "profile", "add", "prod", "--account", "myorg-acct", "--host", p.sf.Host()); code != 0 {
		t.Fatal(errOut)
	}
	start := time.Now()
	code, _, errOut := p.run([]string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus", "SFMCP_KEYCHAIN_TIMEOUT=2s"}, "login", "--profile", "prod", "--no-browser")
	if code != 4 || !strings.Contains(errOut, "SFMCP_KEYRING=file") || !strings.Contains(errOut, "gnome-keyring") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "http://127.0.0.1:") {
		t.Fatal("the browser step started although the keychain cannot keep the result")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("an unavailable keychain took too long to report")
	}
	if _, err := os.Stat(p.credentialsFile()); err == nil {
		t.Fatal("fell back to the file store silently")
	}
	if p.sf.Counters().Authorize != 0 {
		t.Fatal("authorize was called")
	}
}

// printsSecret: the commands whose stdout is a token by design.
func printsSecret(args []string) bool {
	if len(args) > 0 && (args[0] == "headers" || args[0] == "token") {
		return true
	}
	for _, a := range args {
		if a == "--print-token" {
			return true
		}
	}
	return false
}

// recordFiles records every file a test's sfmcp left behind (config,
// manifests, logs, .mcp.json, onboarding files) for the leak check, except
// the explicitly chosen plain-file credential store, whose job is to hold
// secrets.
func recordFiles(dir string) {
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Name() == "credentials.json" || info.Size() > 1<<20 {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil {
			leaks.Record(path, string(data))
		}
		return nil
	})
}
