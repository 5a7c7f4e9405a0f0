package proctree

import (
	"os"
	"runtime"
	"testing"
)

func TestLookupSelfAndParent(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no process table reader on " + runtime.GOOS)
	}
	me, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if me.PPID != os.Getppid() || me.Start == 0 || me.Name == "" {
		t.Fatalf("self: %+v (ppid %d)", me, os.Getppid())
	}
	parent, ok := FirstAbove(os.Getpid(), func(Process) bool { return false }, 8)
	if !ok || parent.PID != os.Getppid() {
		t.Fatalf("first above: %+v %v", parent, ok)
	}
	if _, ok := FirstAbove(os.Getpid(), func(Process) bool { return true }, 3); ok {
		t.Fatal("FirstAbove returned a process it was told to skip")
	}
}

func TestOverSSH(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  bool
	}{
		{[]string{"sh", "node", "bash", "sshd-session", "sshd"}, true},
		{[]string{"sh", "node", "bash", "sshd"}, true},
		{[]string{"sh", "claude", "zsh", "gnome-terminal-", "systemd"}, false},
	} {
		var ps []Process
		for _, n := range c.names {
			ps = append(ps, Process{Name: n})
		}
		if OverSSH(ps) != c.want {
			t.Errorf("%v: want %v", c.names, c.want)
		}
	}
}

func TestIsShellByExecutable(t *testing.T) {
	for _, c := range []struct {
		p    Process
		want bool
	}{
		{Process{Name: "outer-wrap", Exe: "/usr/bin/dash"}, true}, // a #!/bin/sh script on Debian
		{Process{Name: "sfmcp-wrap", Exe: "/bin/bash"}, true},
		{Process{Name: "-zsh", Exe: "/bin/zsh"}, true},
		{Process{Name: "ksh", Exe: "/usr/bin/ksh93"}, true},
		{Process{Name: "sh", Exe: "/bin/busybox"}, true},
		{Process{Name: "claude", Exe: "/usr/bin/node"}, false}, // Claude Code is node
		{Process{Name: "agent", Exe: "/usr/bin/python3"}, false},
		{Process{Name: "sh"}, false}, // executable unreadable: judged not a shell
	} {
		if IsShell(c.p) != c.want {
			t.Errorf("%+v: want %v", c.p, c.want)
		}
	}
}
