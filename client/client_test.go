package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sfmcp/sfmcp/internal/safesocket"
)

// fakeDaemon answers every request with another user's token and records
// what it was sent.
type fakeDaemon struct {
	mu       sync.Mutex
	received []byte
}

func (f *fakeDaemon) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			f.mu.Lock()
			f.received = append(f.received, buf[:n]...)
			f.mu.Unlock()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 51\r\n\r\n{\"Authorization\":\"Bearer ATTACKER-TOKEN-000000000\"}")
		}()
	}
}

func listenIn(t *testing.T, dir string) (string, *fakeDaemon) {
	t.Helper()
	socket := filepath.Join(dir, "sfmcp.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &fakeDaemon{}
	go f.serve(ln)
	return socket, f
}

// Security issue, item 6: a socket in a directory others can write (say
// XDG_RUNTIME_DIR=/tmp) or another user owns is refused before anything is
// sent, so no fake daemon learns the server URL or hands out its token.
func TestClientRefusesSocketsOthersControl(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	cases := map[string]string{"world-writable directory": open}
	if os.Getuid() == 0 {
		theirs := filepath.Join(t.TempDir(), "theirs")
		os.Mkdir(theirs, 0o700)
		cases["another user's directory"] = theirs
	}
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			socket, fake := listenIn(t, dir)
			if filepath.Base(dir) == "theirs" {
				os.Chown(dir, 65534, 65534)
			}
			out, err := (&Client{Socket: socket}).Headers(context.Background(), Request{ServerURL: "https://victim.example/mcp"})
			if !errors.Is(err, safesocket.ErrUnsafe) || len(out) != 0 {
				t.Fatalf("headers from %s: %q, %v; want ErrUnsafe", name, out, err)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.received) != 0 {
				t.Fatalf("the fake daemon received %q", fake.received)
			}
		})
	}
	// A symlinked socket directory is refused too.
	real := t.TempDir()
	os.Chmod(real, 0o700)
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(real, link)
	listenIn(t, real)
	if _, err := (&Client{Socket: filepath.Join(link, "sfmcp.sock")}).Health(context.Background()); !errors.Is(err, safesocket.ErrUnsafe) {
		t.Fatalf("symlinked directory: %v", err)
	}
}

// A socket served by another uid in a directory that is ours (the peer's
// credentials, as the kernel reports them, decide). Needs root to run the
// listener as uid 65534.
func TestClientRefusesAnotherUsersDaemon(t *testing.T) {
	if sock := os.Getenv("SFMCP_SERVE_AS_OTHER"); sock != "" {
		serveAsOther(sock)
		return
	}
	if os.Getuid() != 0 {
		if os.Getenv("SFMCP_TEST_REQUIRE_ROOT") == "1" {
			t.Fatal("CI must run as root to test another uid")
		}
		t.Skip("needs root to listen as another user")
	}
	base, err := os.MkdirTemp("", "sfmcp-peer-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	bin := filepath.Join(base, "client.test")
	data, _ := os.ReadFile(os.Args[0])
	os.WriteFile(bin, data, 0o755)
	dir := filepath.Join(base, "run")
	os.Mkdir(dir, 0o700)
	os.Chown(dir, 65534, 65534) // let nobody bind there, then take the directory back
	socket := filepath.Join(dir, "sfmcp.sock")
	cmd := exec.Command(bin, "-test.run=^TestClientRefusesAnotherUsersDaemon$")
	cmd.Env = []string{"SFMCP_SERVE_AS_OTHER=" + socket}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.HasPrefix(line, "READY") {
		t.Fatalf("listener as nobody: %q", line)
	}
	os.Chown(dir, 0, 0)
	os.Chmod(socket, 0o666)
	_, err = (&Client{Socket: socket}).Headers(context.Background(), Request{ServerURL: "https://victim.example/mcp"})
	if !errors.Is(err, safesocket.ErrUnsafe) || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("another user's daemon: %v", err)
	}
}

// serveAsOther runs as uid 65534: it listens, says READY, and answers with
// a token (it never gets the chance).
func serveAsOther(socket string) {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Println("LISTEN FAILED", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"Authorization":"Bearer ATTACKER-TOKEN"}`)
	})}
	srv.Serve(ln)
	os.Exit(0)
}
