package keychain

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
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

// TestOSKeychainLocked locks the login collection of a private
// gnome-keyring (in its own D-Bus session, so other tests keep theirs) and
// checks that the store reports "unavailable" promptly, with no hang on the
// unlock prompt nobody can answer.
func TestOSKeychainLocked(t *testing.T) {
	if os.Getenv("SFMCP_LOCKED_CHILD") == "1" {
		lockedChild(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("Secret Service is the Linux keychain")
	}
	_, err1 := exec.LookPath("dbus-run-session")
	_, err2 := exec.LookPath("gnome-keyring-daemon")
	if err1 != nil || err2 != nil {
		if os.Getenv("SFMCP_TEST_OS_KEYCHAIN") == "require" {
			t.Fatal("dbus-run-session and gnome-keyring-daemon are required")
		}
		t.Skip("needs dbus-run-session and gnome-keyring-daemon")
	}
	script := `eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; exec "$0" -test.run='^TestOSKeychainLocked$' -test.count=1 -test.v`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script, os.Args[0])
	cmd.Env = append(os.Environ(), "SFMCP_LOCKED_CHILD=1", "XDG_DATA_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestOSKeychainLocked") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func lockedChild(t *testing.T) {
	s, _ := Open(Options{Kind: KindOS, Timeout: 3 * time.Second})
	if err := s.Probe(); err != nil {
		t.Fatalf("the fresh keyring is not usable: %v", err)
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	call := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"})
	if err := call.Store(&locked, new(dbus.ObjectPath)); err != nil {
		t.Fatalf("lock the collection: %v", err)
	}
	start := time.Now()
	err = s.Probe()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("probe on a locked keychain = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
}
