package proctree

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Issue #20: a headersHelper that is the user's own script, itself run
// by another script, still belongs to the client that started the chain.
// The scripts are named after themselves (comm), not after their shells,
// so only their executables tell them apart from the client. This test
// process is the client: it runs `sh -c outer`, outer (#!/bin/sh) runs
// inner (#!/bin/bash), and inner runs this binary again as the helper,
// which reports its pid and waits for its stdin to close.
func TestClientFoundThroughWrapperScripts(t *testing.T) {
	if os.Getenv("PROCTREE_TEST_HELPER") == "1" {
		fmt.Println(os.Getpid())
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	outer := writeWrappers(t, os.Args[0]+" -test.run=^TestClientFoundThroughWrapperScripts$")
	cmd := exec.Command("sh", "-c", outer)
	cmd.Env = append(os.Environ(), "PROCTREE_TEST_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close() // the helper, then both scripts, end
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the helper did not report its pid: %v", err)
	}
	helper, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	// The chain is what this test means it to be: both scripts sit
	// between the helper and this process, under their own names.
	inner, err := Lookup(helper)
	if err == nil {
		inner, err = Lookup(inner.PPID)
	}
	var outerP Process
	if err == nil {
		outerP, err = Lookup(inner.PPID)
	}
	if err != nil || inner.Name != "inner-wrap" || outerP.Name != "outer-wrap" {
		t.Fatalf("the helper's parents are %+v and %+v (%v), not the two scripts", inner, outerP, err)
	}
	me, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got, ok := FirstAbove(helper, IsShell, 8)
	if !ok || got.PID != me.PID || got.Start != me.Start {
		t.Fatalf("the client of the helper is %+v (found %v); want this test process %+v", got, ok, me)
	}
}

// writeWrappers writes the two scripts into a temp dir and returns the
// outer one's path; the inner one runs helper. Neither execs what it runs
// (each does something after it), so each stays a process of its own.
// The inner one names bash itself, as `#!/usr/bin/env bash` would not:
// env execs bash by that name, so the name alone would give it away.
func writeWrappers(t *testing.T, helper string) string {
	bash, err := exec.LookPath("bash")
	if err != nil {
		bash = "/bin/sh"
	}
	dir := t.TempDir()
	write := func(name, script string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	inner := write("inner-wrap", "#!"+bash+"\n"+helper+"\nexit $?\n")
	return write("outer-wrap", "#!/bin/sh\n"+inner+"\nexit $?\n")
}

// A shell whose binary was replaced while it ran (an upgrade) is still a
// shell: /proc/PID/exe then reads "… (deleted)".
func TestShellWithItsBinaryReplaced(t *testing.T) {
	src, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := filepath.EvalSymlinks(t.TempDir()) // /proc/PID/exe names the resolved path
	if err != nil {
		t.Fatal(err)
	}
	sh := filepath.Join(tmp, "sh")
	if err := os.WriteFile(sh, src, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", "read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if err := os.Remove(sh); err != nil {
		t.Fatal(err)
	}
	p, err := Lookup(cmd.Process.Pid)
	if err != nil || p.Exe != sh || !IsShell(p) {
		t.Fatalf("%+v %v: want a shell running %s", p, err, sh)
	}
}

func TestParseStatOddNames(t *testing.T) {
	line := "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0"
	p, err := parseStat(4242, line)
	if err != nil || p.Name != "a (b) c" || p.PPID != 17 || p.Start != 987654 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"", "4242 noparens S 1", "4242 (x) S notanumber 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19"} {
		if _, err := parseStat(1, bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A process started from an SSH session keeps SSH_CONNECTION in its
// environment even once nothing named sshd is above it (tmux, a VS Code
// server).
func TestInSSHSessionByEnvironment(t *testing.T) {
	start := func(env []string) (*exec.Cmd, func()) {
		c := exec.Command("cat")
		c.Env = env
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// cat echoing a line is cat running, with its own environment.
		echo := make([]byte, 2)
		if _, err := in.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(out, echo); err != nil {
			t.Fatal(err)
		}
		return c, func() { in.Close(); c.Wait() }
	}
	c, stop := start([]string{"PATH=/usr/bin:/bin", "SSH_CONNECTION=192.0.2.1 50000 192.0.2.2 22"})
	got := InSSHSession(c.Process.Pid)
	stop()
	if !got {
		t.Fatal("SSH_CONNECTION in the environment was not noticed")
	}
	if InSSHSession(os.Getpid()) {
		t.Skip("this test runs in an SSH session itself; the negative case cannot be told")
	}
	c, stop = start([]string{"PATH=/usr/bin:/bin"})
	got = InSSHSession(c.Process.Pid)
	stop()
	if got {
		t.Fatal("a process outside any SSH session was taken to be in one")
	}
}
