package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sfmcp-standin's printed instructions work with the installed binaries:
// its setup lines run as printed, `setup` as printed signs in through the
// stand-in's certificate (as curl --cacert would), and headers serves a token.
func TestStandInCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sfmcp-standin")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/sfmcp-standin").CombinedOutput(); err != nil {
		t.Fatal(string(out))
	}
	standin := exec.Command(bin, "--dir", t.TempDir())
	stdout, _ := standin.StdoutPipe()
	if err := standin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standin.Process.Signal(os.Interrupt); standin.Wait() })
	var setup, setupCmd []string
	var caFile string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "ca_file: "); ok {
			caFile = f
		}
		if strings.HasPrefix(line, "  export HOME") || strings.HasPrefix(line, "  printf ") {
			setup = append(setup, strings.TrimSpace(line))
		}
		// The stand-in recommends what the README does: setup.
		if strings.HasPrefix(line, "  sfmcp-token setup ") {
			setupCmd = strings.Fields(line)[1:]
		}
		if strings.HasPrefix(line, "Stop it") {
			break
		}
	}
	if len(setup) != 2 || setupCmd == nil || caFile == "" {
		t.Fatalf("instructions not found: %q %q, ca %q", setup, setupCmd, caFile)
	}
	// The printed lines, run as a user would paste them.
	sh := exec.Command("sh", "-c", strings.Join(setup, "\n")+"\necho \"HOME=$HOME\"")
	sh.Env = []string{"PATH=" + filepath.Dir(binary) + ":/usr/bin:/bin"}
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("setup lines: %v\n%s", err, out)
	}
	home := strings.TrimSpace(string(out[strings.LastIndex(string(out), "HOME=")+len("HOME="):]))
	t.Cleanup(func() { os.RemoveAll(home) })
	p := &proc{t: t, dir: home, env: []string{"HOME=" + home, "PATH=" + filepath.Dir(binary) + ":/usr/bin:/bin"}}
	t.Cleanup(p.stopDaemon)

	pem, _ := os.ReadFile(caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	curl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	browse := func(startURL string) error {
		resp, err := curl.Get(startURL)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	if code, out, errOut := signInAsBrowser(t, p.cmd(nil, append(setupCmd, "--timeout", "30s")...), browse); code != 0 {
		t.Fatalf("setup against the stand-in: exit %d\n%s%s", code, out, errOut)
	}
	if cfg, err := os.ReadFile(filepath.Join(home, ".claude.json")); err != nil || !strings.Contains(string(cfg), "DB.PUBLIC.GONG_MCP") {
		t.Errorf("setup added no MCP server at Claude Code's user scope: %v\n%s", err, cfg)
	}
	if code, out, errOut := p.run(nil, "headers", "--profile", "standin"); code != 0 || !strings.Contains(out, "Bearer ") {
		t.Fatalf("headers: exit %d %s%s", code, out, errOut)
	}
}
