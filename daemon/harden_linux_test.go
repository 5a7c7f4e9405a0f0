package daemon

import (
	"os"
	"os/exec"
	"testing"
)

// TestHarden runs in a child process: being non-dumpable is for life.
func TestHarden(t *testing.T) {
	if os.Getenv("SFMCP_HARDEN_CHILD") == "1" {
		if d, _ := Dumpable(); !d {
			t.Fatal("the child started non-dumpable")
		}
		if err := Harden(); err != nil {
			t.Fatal(err)
		}
		if d, err := Dumpable(); err != nil || d {
			t.Fatalf("still dumpable after Harden: %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHarden$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SFMCP_HARDEN_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
