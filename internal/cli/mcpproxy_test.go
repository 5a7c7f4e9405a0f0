package cli

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentDaemon listens where the bridge looks for the daemon, reads each
// request and never answers.
func silentDaemon(t *testing.T) (env *Env, requests <-chan struct{}) {
	if runtime.GOOS == "windows" {
		t.Skip("the daemon's socket is Unix-only")
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sfmcp.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 8)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					got <- struct{}{}
				}
			}()
		}
	}()
	vars := map[string]string{"HOME": filepath.Dir(dir), "SFMCP_SOCKET": sock, "SFMCP_NO_AUTOSTART": "1"}
	return &Env{Getenv: func(k string) string { return vars[k] }, HTTPClient: &http.Client{}}, got
}

// The bridge's wait for a token is bounded: a daemon that takes the request
// and never answers costs the bridge its timeout, and an error that says
// so; a cancelled request stops waiting at once.
func TestBridgeWaitForTheDaemonIsBounded(t *testing.T) {
	const within = 10 * time.Second
	e, requests := silentDaemon(t)
	d := &daemonTokens{e: e, profile: "prod", serverURL: "https://example.invalid/mcp", timeout: 300 * time.Millisecond}

	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	_, err := d.Token(ctx, "")
	if took := time.Since(start); err == nil || took > within/2 {
		t.Fatalf("Token from a silent daemon: %v after %s", err, took)
	}
	if !strings.Contains(err.Error(), "did not answer within 300ms") || !strings.Contains(err.Error(), "restart") {
		t.Errorf("error: %v", err)
	}
	<-requests

	// A cancelled call (the MCP client gave up) ends the wait, whatever the timeout.
	d.timeout = 0 // the default, minutes
	callCtx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	errc := make(chan error, 1)
	go func() {
		_, err := d.Token(callCtx, "")
		errc <- err
	}()
	<-requests
	giveUp()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Token after cancel: %v", err)
		}
	case <-time.After(within):
		t.Fatal("a cancelled request kept waiting for the daemon")
	}
}
