//go:build unix

package client

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
)

// countingDaemon answers /v1/health on a socket in a private directory and
// counts the connections it accepts.
type countingDaemon struct {
	socket   string
	accepted atomic.Int32
	closed   chan struct{} // one value per connection that ended
}

func newCountingDaemon(t *testing.T) *countingDaemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "sfmcp-connect")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	d := &countingDaemon{socket: filepath.Join(dir, "d.sock"), closed: make(chan struct{}, 16)}
	ln, err := net.Listen("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true,"pid":42,"version":"test"}`))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				d.accepted.Add(1)
			case http.StateClosed, http.StateHijacked:
				d.closed <- struct{}{}
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return d
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// Connect's connection carries the first request: finding the daemon costs
// no second connection.
func TestConnectReusesItsConnection(t *testing.T) {
	d := newCountingDaemon(t)
	c, err := Connect(context.Background(), Options{Getenv: envOf(map[string]string{"HOME": t.TempDir(), "SFMCP_SOCKET": d.socket})})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Health(context.Background()); err != nil || h.PID != 42 {
		t.Fatalf("health: %+v %v", h, err)
	}
	if n := d.accepted.Load(); n != 1 {
		t.Fatalf("%d connections; want the one Connect made", n)
	}
	if _, err := c.Health(context.Background()); err != nil || d.accepted.Load() != 2 {
		t.Fatalf("a second request: %v, %d connections", err, d.accepted.Load())
	}
}

// A connection that waited too long for its request is not used (the
// daemon may have shed it); Close drops one no request used.
func TestConnectDropsAStaleOrUnusedConnection(t *testing.T) {
	d := newCountingDaemon(t)
	getenv := envOf(map[string]string{"HOME": t.TempDir(), "SFMCP_SOCKET": d.socket})
	c, err := Connect(context.Background(), Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	c.first.Load().at = time.Now().Add(-time.Second)
	if _, err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := d.accepted.Load(); n != 2 {
		t.Fatalf("%d connections; want the stale one replaced", n)
	}
	c, err = Connect(context.Background(), Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the stale one, the request's, the unused one
		select {
		case <-d.closed:
		case <-time.After(10 * time.Second):
			t.Fatal("a connection stayed open")
		}
	}
}

// A client whose environment names another socket finds the user's one
// daemon through the socket it recorded in the lock.
func TestConnectFindsTheRecordedDaemon(t *testing.T) {
	d := newCountingDaemon(t)
	home := t.TempDir()
	state := filepath.Join(home, ".local", "state", "sfmcp")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "daemon.lock"), apitype.FormatLockRecord(os.Getpid(), d.socket), 0o600); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(filepath.Dir(d.socket), "other.sock")
	c, err := Connect(context.Background(), Options{Getenv: envOf(map[string]string{"HOME": home, "SFMCP_SOCKET": elsewhere, "SFMCP_NO_AUTOSTART": "1"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Socket != d.socket {
		t.Fatalf("socket %s; want the recorded %s", c.Socket, d.socket)
	}
	if _, err := c.Health(context.Background()); err != nil || d.accepted.Load() != 1 {
		t.Fatalf("health: %v, %d connections", err, d.accepted.Load())
	}
}
