package keychain

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// TestOSKeychain runs against the real OS keychain. In CI (Linux) that is
// gnome-keyring's Secret Service under dbus-run-session, and
// SFMCP_TEST_OS_KEYCHAIN=require turns "no keychain" into a failure instead
// of a skip.
func TestOSKeychain(t *testing.T) {
	s, err := Open(Options{Kind: KindOS})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(); err != nil {
		if os.Getenv("SFMCP_TEST_OS_KEYCHAIN") == "require" {
			t.Fatalf("OS keychain required but unusable: %v", err)
		}
		t.Skipf("no usable OS keychain on this %s machine (set SFMCP_TEST_OS_KEYCHAIN=require to fail instead): %v", runtime.GOOS, err)
	}
	exerciseStore(t, s)
}

// TestOSKeychainWithoutSession: with no D-Bus session the store must say it
// is unavailable, quickly, rather than hang or pretend. It runs in a child
// process because godbus keeps one session connection per process.
func TestOSKeychainWithoutSession(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("D-Bus sessions are a Linux concern")
	}
	if os.Getenv("SFMCP_KEYCHAIN_CHILD") == "1" {
		s, _ := Open(Options{Kind: KindOS})
		err := s.Probe()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Probe without a D-Bus session = %v, want ErrUnavailable", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOSKeychainWithoutSession$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SFMCP_KEYCHAIN_CHILD=1", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/sfmcp-test-bus")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
