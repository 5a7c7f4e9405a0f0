package apitype

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseLockRecord: whatever a lock file holds, the parser does not
// panic, and what it returns is what a daemon could have recorded: a
// positive pid, and no socket or an absolute one on one line with no NUL
// (the daemon refuses any other), which written again by
// FormatLockRecord reads back the same. A record FormatLockRecord writes
// always reads back as written.
func FuzzParseLockRecord(f *testing.F) {
	for _, s := range []string{
		"", "\n", "4242\n/run/user/1000/sfmcp/sfmcp.sock\n", "4242\n", "4242", "4242\n\n",
		"4242\n/tmp/a\r\n", "4242\r\n/tmp/a\r\n", "4242\nrelative.sock\n", "0\n/s\n", "-1\n/s\n", "+7\n/s\n",
		"007\n/s\n", "9223372036854775808\n/s\n", "1\n/s\n/t\n", "1\n/a\x00b\n", "1\n/a\nb", " 1\n/s\n",
		"1\n/s\n\n\n", "1\n\n/s\n", "pid\n/s\n", "\xff\n/\xff\n", `1` + "\n" + `C:\sfmcp\sfmcp.sock`,
		"1\n/" + strings.Repeat("a", MaxLockRecord) + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, socket, err := ParseLockRecord(b)
		if err != nil {
			if pid != 0 || socket != "" {
				t.Fatalf("ParseLockRecord(%q) failed (%v) but returned pid %d, socket %q", b, err, pid, socket)
			}
			return
		}
		if len(b) > MaxLockRecord {
			t.Fatalf("ParseLockRecord read a record of %d bytes, over %d", len(b), MaxLockRecord)
		}
		if pid == 0 && socket == "" {
			// An empty record: a daemon writing it, or one that stopped.
			if strings.Trim(string(b), "\n") != "" {
				t.Fatalf("ParseLockRecord(%q) read as empty", b)
			}
			return
		}
		if pid <= 0 {
			t.Fatalf("ParseLockRecord(%q) = pid %d", b, pid)
		}
		if socket != "" && (!filepath.IsAbs(socket) || strings.ContainsAny(socket, "\n\r\x00")) {
			t.Fatalf("ParseLockRecord(%q) = socket %q, which no daemon records", b, socket)
		}
		again := FormatLockRecord(pid, socket)
		if p, s, err := ParseLockRecord(again); err != nil || p != pid || s != socket {
			t.Fatalf("ParseLockRecord(%q) = %d, %q; written again as %q it reads %d, %q (%v)", b, pid, socket, again, p, s, err)
		}
	})
}

// A record as the daemon writes it reads back as written, socket paths
// with spaces and non-ASCII included.
func TestLockRecordRoundTrip(t *testing.T) {
	for _, socket := range []string{"/run/user/1000/sfmcp/sfmcp.sock", "/home/j d/é/s.sock", "/s"} {
		for _, pid := range []int{1, 4242, 1<<31 - 1} {
			p, s, err := ParseLockRecord(FormatLockRecord(pid, socket))
			if err != nil || p != pid || s != socket {
				t.Errorf("FormatLockRecord(%d, %q) reads back as %d, %q (%v)", pid, socket, p, s, err)
			}
		}
	}
}
