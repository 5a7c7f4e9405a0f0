// Package benchenv sets up what the benchmarks share: a Snowflake stand-in,
// a temporary HOME with profile "bench" signed in (file store), and a
// private socket directory. It exports the environment to the process so
// that sfmcp-token subprocesses and in-process commands see the same.
package benchenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/internal/cli"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// Env is a ready benchmark environment.
type Env struct {
	Dir     string
	SF      *snowflaketest.Server
	Socket  string
	Environ []string // for subprocesses
	// DaemonLog, if set, receives the daemon's log (else it is dropped).
	DaemonLog io.Writer
}

// Setup starts the stand-in and signs profile "bench" in.
func Setup() (*Env, error) {
	dir, err := os.MkdirTemp("", "sfmcp-bench-")
	if err != nil {
		return nil, err
	}
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: snowflaketest.DefaultUser})
	ca := filepath.Join(dir, "ca.pem")
	if err := sf.WriteCA(ca); err != nil {
		return nil, err
	}
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, SF: sf, Socket: filepath.Join(run, "sfmcp.sock")}
	// Config and file store at their defaults under HOME, and the file
	// store chosen in the config: an auto-started daemon (the cold run)
	// ignores SFMCP_CONFIG, XDG_DATA_HOME and SFMCP_KEYRING.
	cfgDir := filepath.Join(dir, ".config", "sfmcp")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.toml"), []byte("keyring = \"file\"\nca_file = "+strconv.Quote(ca)+"\n"), 0o600); err != nil {
		return nil, err
	}
	vars := map[string]string{
		"HOME": dir, "XDG_STATE_HOME": filepath.Join(dir, "state"),
		"SSL_CERT_FILE": ca, "SFMCP_SOCKET": e.Socket, "SFMCP_PROFILE": "bench", "PATH": os.Getenv("PATH"),
	}
	for k, v := range vars {
		os.Setenv(k, v)
		e.Environ = append(e.Environ, k+"="+v)
	}
	for _, args := range [][]string{
		{"profile", "add", "bench", "--account", "bench-org-acct", "--host", sf.Host()},
		{"login", "--profile", "bench"},
	} {
		ce := cli.OSEnv()
		ce.Args = args
		ce.Stdout, ce.Stderr = io.Discard, io.Discard
		ce.OpenBrowser = func(u string) error { _, _, err := sf.Visit(u); return err }
		if code := cli.Main(context.Background(), ce); code != 0 {
			return nil, fmt.Errorf("sfmcp-token %s: exit %d", args[0], code)
		}
	}
	return e, nil
}

// Close stops the stand-in and removes the directory.
func (e *Env) Close() {
	e.SF.Close()
	os.RemoveAll(e.Dir)
}

// StartDaemon runs `bin daemon` and waits for its ready signal.
func (e *Env) StartDaemon(bin string) (*exec.Cmd, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(bin, "daemon")
	cmd.Env = append(append([]string{}, e.Environ...), "SFMCP_READY_FD=3")
	if g := os.Getenv("DAEMON_GOGC"); g != "" {
		cmd.Env = append(cmd.Env, "GOGC="+g)
	}
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = e.DaemonLog
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w.Close()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadFull(r, make([]byte, 6))
	return cmd, err
}

// RSS is a process's resident set size as /proc reports it.
func RSS(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}

// Machine describes the CPU for the results.
func Machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model := "?"
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
			break
		}
	}
	return fmt.Sprintf("%d CPUs, %s", strings.Count(string(b), "processor\t:"), model)
}
