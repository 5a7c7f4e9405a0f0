package proctree

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A helper run through `sh -c` sees the shell as its parent and the
// program that ran the shell above it.
func TestAncestorsThroughAShell(t *testing.T) {
	// The inner sh prints its own ancestry's start: its parent is the
	// outer sh, whose parent is this test.
	out, err := exec.Command("sh", "-c", `sh -c 'cat /proc/$PPID/stat; echo; cat /proc/$$/stat'`).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	outer, err := parseStat(0, lines[0])
	if err != nil || !IsShell(outer) || outer.PPID != os.Getpid() {
		t.Fatalf("outer shell: %+v %v", outer, err)
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
		if err := c.Start(); err != nil {
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
