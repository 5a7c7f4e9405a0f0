package proctree

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Lookup reads /proc/PID/stat and /proc/PID/exe.
func Lookup(pid int) (Process, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Process{}, err
	}
	p, err := parseStat(pid, string(b))
	if err != nil {
		return p, err
	}
	// Another user's process refuses this (EACCES) and leaves Exe "". A
	// program replaced since it started (an upgrade) reads "… (deleted)".
	exe, _ := os.Readlink(dir + "/exe")
	p.Exe = strings.TrimSuffix(exe, " (deleted)")
	return p, nil
}

// parseStat reads "pid (comm) state ppid … starttime …"; comm may itself
// hold spaces and parentheses, so it ends at the last ')'.
func parseStat(pid int, s string) (Process, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Process{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[end+1:])
	// After comm: state(0) ppid(1) … starttime(19).
	if len(fields) < 20 {
		return Process{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return Process{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return Process{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return Process{PID: pid, PPID: ppid, Name: s[open+1 : end], Start: start}, nil
}

// Environ reads /proc/PID/environ; nil when it cannot be read (another
// user's process).
func Environ(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}
