package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// Security issue, item 7: another program that reads the start URL and
// opens it before (or after) the user's browser learns the state, so it
// could sign in as itself and deliver its own code. A second visit to the
// start page abandons the sign-in, and no code is exchanged after that.
func TestStartPageOpenedTwiceAbandonsSignIn(t *testing.T) {
	// The attacker's account: the stand-in approves it at once.
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: snowflaketest.DefaultUser})
	defer sf.Close()
	var victimStatus int
	stolen := make(chan string, 1)
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Open: func(u string) error {
		attackerURL, err := sf.AuthorizeURL(u) // the attacker is first
		if err != nil {
			return err
		}
		stolen <- attackerURL
		victimStatus, _, err = sf.Visit(u) // then the user's browser
		return err
	}}
	_, err := l.Run(context.Background())
	if !errors.Is(err, ErrStartReused) {
		t.Fatalf("err = %v, want ErrStartReused", err)
	}
	if victimStatus != http.StatusConflict {
		t.Errorf("second visit: %d, want 409", victimStatus)
	}
	// The attacker signs in as itself and delivers the code: too late.
	// Its callback finds the listener gone or answering 410; the error
	// text would hold the code, so only the status is shown.
	if status, page, err := sf.Visit(<-stolen); err == nil && (status != http.StatusGone || !strings.Contains(page, "Already used")) {
		t.Errorf("the attacker's callback: status %d; want 410 Already used or no listener", status)
	}
	if n := sf.Counters().CodeExchanges; n != 0 {
		t.Fatalf("%d codes exchanged after the sign-in was abandoned", n)
	}
}

// Another uid is refused at the start page (and the callback) where the OS
// names the owner of a loopback connection (Linux). Needs root to run the
// other user's request.
func TestOtherUserRefusedAtStartPage(t *testing.T) {
	if u := os.Getenv("SFMCP_GET_AS_OTHER"); u != "" {
		resp, err := http.Get(u)
		if err != nil {
			fmt.Println("GET FAILED", err)
			os.Exit(1)
		}
		fmt.Println("STATUS", resp.StatusCode)
		os.Exit(0)
	}
	if os.Getuid() != 0 {
		if os.Getenv("SFMCP_TEST_REQUIRE_ROOT") == "1" {
			t.Fatal("CI must run as root to test another uid")
		}
		t.Skip("needs root to connect as another user")
	}
	if _, ok := loopbackPeerUID("127.0.0.1:1", "127.0.0.1:2"); !ok && !fileExists("/proc/net/tcp") {
		t.Skip("this OS does not name loopback peers")
	}
	dir, err := os.MkdirTemp("", "sfmcp-oauth-other-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "oauth.test")
	data, _ := os.ReadFile(os.Args[0])
	os.WriteFile(bin, data, 0o755)

	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	var otherSaw string
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Open: func(u string) error {
		cmd := exec.Command(bin, "-test.run=^TestOtherUserRefusedAtStartPage$")
		cmd.Env = []string{"SFMCP_GET_AS_OTHER=" + u}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		otherSaw = strings.TrimSpace(string(out))
		if err != nil {
			return fmt.Errorf("child as nobody: %v: %s", err, out)
		}
		_, _, err = sf.Visit(u) // the user's own browser still gets through
		return err
	}}
	tok, err := l.Run(context.Background())
	if !strings.Contains(otherSaw, "STATUS 403") {
		t.Fatalf("another user at the start page saw %q", otherSaw)
	}
	if err != nil || tok.Username != "ALICE" {
		t.Fatalf("the user's own sign-in after the refusal: %v", err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
