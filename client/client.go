// Package client talks to the sfmcp daemon over its Unix socket, and starts
// the daemon when none answers. It is on the hot path of every MCP
// connection, so it does one socket round trip and no other work: no config,
// no keychain, no network.
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/safesocket"
)

// ErrNoDaemon means nothing answers on the socket.
var ErrNoDaemon = errors.New("the sfmcp daemon is not running")

// ErrBusy means the daemon's connection queue stayed full: it runs, so
// starting another one would not help.
var ErrBusy = errors.New("the sfmcp daemon is too busy to accept a connection")

// Error is the daemon's refusal, with its code (Code…).
type Error struct {
	Code    string
	Message string
	Profile string // the profile the daemon resolved, when it got that far
	Status  int
}

func (e *Error) Error() string { return e.Message }

// Client is a connection-per-request client of one daemon socket.
type Client struct {
	Socket  string
	Timeout time.Duration // whole request; default 40 s (a refresh may be slow)
}

// Request selects a profile: by name, or by the MCP server URL the daemon
// matches against the profiles' hosts, or (both empty) the default.
type Request struct {
	Profile   string
	ServerURL string
	Force     bool // get a new token even if the cached one looks valid
	// Refused is Fingerprint of a token the server rejected: the
	// daemon renews it only if it is still the cached one.
	Refused string
	// ServerName is the MCP client's name for the server entry
	// (CLAUDE_CODE_MCP_SERVER_NAME), which tells apart two entries of one
	// client for the same URL.
	ServerName string
	// WaitSignIn is how long the daemon may hold the request while a
	// browser sign-in it opened completes (the bridge waits; headers,
	// which clients give 10 s, does not).
	WaitSignIn time.Duration
	// NoSignIn asks the daemon not to open a browser sign-in for this
	// request (SFMCP_NO_AUTO_LOGIN=1 in the caller's environment).
	NoSignIn bool
}

func (r Request) query() string {
	q := url.Values{}
	if r.Profile != "" {
		q.Set("profile", r.Profile)
	}
	if r.ServerURL != "" {
		q.Set("server_url", r.ServerURL)
	}
	if r.Force {
		q.Set("force", "1")
	}
	if r.Refused != "" {
		q.Set("refused", r.Refused)
	}
	if r.ServerName != "" {
		q.Set("server_name", r.ServerName)
	}
	if r.WaitSignIn > 0 {
		q.Set("wait_signin", strconv.Itoa(int(r.WaitSignIn/time.Second)))
	}
	if r.NoSignIn {
		q.Set("signin", "off")
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Headers returns the exact JSON object (newline-terminated) a
// headersHelper prints.
func (c *Client) Headers(ctx context.Context, r Request) ([]byte, error) {
	return c.get(ctx, "/v1/headers"+r.query())
}

// Token returns an access token.
func (c *Client) Token(ctx context.Context, r Request) (apitype.TokenBody, error) {
	var t apitype.TokenBody
	body, err := c.get(ctx, "/v1/token"+r.query())
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(body, &t)
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (apitype.Status, error) {
	var s apitype.Status
	body, err := c.get(ctx, "/v1/status")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(body, &s)
}

// Health returns the daemon's pid and version.
func (c *Client) Health(ctx context.Context) (apitype.Health, error) {
	var h apitype.Health
	body, err := c.get(ctx, "/v1/health")
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal(body, &h)
}

// Reload tells the daemon to re-read the config and forget cached state of
// profile ("" = all).
func (c *Client) Reload(ctx context.Context, profile string) error {
	path := "/v1/reload"
	if profile != "" {
		path += "?profile=" + url.QueryEscape(profile)
	}
	_, err := c.do(ctx, http.MethodPost, path)
	return err
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path)
}

// do sends one HTTP/1.1 request on a fresh connection and reads the answer.
// A hand-rolled exchange rather than http.Client: no transport, no pool, no
// goroutines, which is most of the hot path's cost.
func (c *Client) do(ctx context.Context, method, path string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 40 * time.Second
	}
	// The socket's directory decides who can put a socket there; another
	// user's "daemon" would get our server URL and hand us its token.
	if err := safesocket.CheckDir(filepath.Dir(c.Socket)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (socket %s): %v", ErrNoDaemon, c.Socket, err)
	} else if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, c.Socket)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := checkPeer(conn); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	budget := time.Until(deadline).Round(time.Millisecond)
	// A cancelled ctx ends the exchange too (no goroutine unless ctx can
	// be cancelled).
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	failed := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the sfmcp daemon did not answer within %s (socket %s); see its log, or restart it", budget, c.Socket)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: sfmcp\r\nUser-Agent: sfmcp-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path); err != nil {
		return nil, failed("send to the sfmcp daemon", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, failed("read the sfmcp daemon's answer", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, failed("read the sfmcp daemon's answer", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb apitype.ErrorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			return nil, &Error{Code: apitype.CodeInternal, Status: resp.StatusCode, Message: fmt.Sprintf("the sfmcp daemon answered HTTP %d", resp.StatusCode)}
		}
		return nil, &Error{Code: eb.Error, Message: eb.Message, Profile: eb.Profile, Status: resp.StatusCode}
	}
	return body, nil
}

// dial connects to the daemon. A full accept queue (EAGAIN) means a busy
// daemon, not a missing one: it is retried for up to two seconds (the
// daemon sheds silent connections after half a second).
func dial(ctx context.Context, socket string) (net.Conn, error) {
	var d net.Dialer
	deadline := time.Now().Add(2 * time.Second)
	for {
		conn, err := d.DialContext(ctx, "unix", socket)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.EAGAIN) {
			return nil, fmt.Errorf("%w (socket %s): %v", ErrNoDaemon, socket, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (socket %s)", ErrBusy, socket)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkPeer refuses a socket served by another uid, before a byte is sent.
func checkPeer(conn net.Conn) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("%w: not a unix socket connection", safesocket.ErrUnsafe)
	}
	p, err := safesocket.PeerOf(uc)
	if err != nil {
		return fmt.Errorf("%w: cannot tell who serves %s: %v", safesocket.ErrUnsafe, conn.RemoteAddr(), err)
	}
	if p.UID != safesocket.OwnUID() {
		return fmt.Errorf("%w: the process serving %s runs as uid %d, not you (uid %d); nothing was sent to it", safesocket.ErrUnsafe, conn.RemoteAddr(), p.UID, safesocket.OwnUID())
	}
	return nil
}
