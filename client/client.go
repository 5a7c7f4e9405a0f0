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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/safesocket"
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
	// From the daemon's answer: see apitype.ErrorBody.
	OAuthError, SnowflakeCode, Advice string
	SignInOpened                      bool
}

func (e *Error) Error() string { return e.Message }

// Client is a connection-per-request client of one daemon socket.
type Client struct {
	Socket  string
	Timeout time.Duration // whole request; default 40 s (a refresh may be slow)
	// first is a connection Connect made, which the next request uses if
	// it comes at once.
	first atomic.Pointer[pending]
}

// pending is a connection made ahead of its request.
type pending struct {
	conn *conn
	at   time.Time
}

// freshFor is how long a connection Connect made waits for its request.
// The daemon sheds a connection that sends nothing for half a second
// when it is busy (two seconds otherwise); a request that comes later
// dials anew.
const freshFor = 100 * time.Millisecond

// take returns the connection Connect made, if it is still fresh.
func (c *Client) take() *conn {
	p := c.first.Swap(nil)
	if p == nil {
		return nil
	}
	if time.Since(p.at) > freshFor {
		p.conn.Close()
		return nil
	}
	return p.conn
}

// Close drops a connection Connect made that no request used. A Client
// stays usable: each request dials its own.
func (c *Client) Close() error {
	if p := c.first.Swap(nil); p != nil {
		return p.conn.Close()
	}
	return nil
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
	var q []string
	add := func(k, v string) {
		if v != "" {
			q = append(q, k+"="+queryEscape(v))
		}
	}
	add("profile", r.Profile)
	add("server_url", r.ServerURL)
	if r.Force {
		add("force", "1")
	}
	add("refused", r.Refused)
	add("server_name", r.ServerName)
	if r.WaitSignIn > 0 {
		add("wait_signin", strconv.Itoa(int(r.WaitSignIn/time.Second)))
	}
	if r.NoSignIn {
		add("signin", "off")
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + strings.Join(q, "&")
}

// queryEscape percent-encodes all but RFC 3986's unreserved characters,
// which url.ParseQuery on the daemon's side decodes. (net/url would cost
// the hot path its start-up; bench/RESULTS.md.)
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
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
		path += "?profile=" + queryEscape(profile)
	}
	_, err := c.do(ctx, "POST", path)
	return err
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, "GET", path)
}

// do sends one HTTP/1.1 request on a fresh connection and reads the answer.
// A hand-rolled exchange rather than http.Client: no transport, no pool, no
// goroutines, which is most of the hot path's cost.
func (c *Client) do(ctx context.Context, method, path string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 40 * time.Second
	}
	conn := c.take()
	if conn == nil {
		var err error
		if conn, err = c.dial(ctx); err != nil {
			return nil, err
		}
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.setDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set a deadline on the daemon connection: %w", err)
	}
	budget := time.Until(deadline).Round(time.Millisecond)
	// A cancelled ctx ends the exchange too (no goroutine unless ctx can
	// be cancelled).
	stop := context.AfterFunc(ctx, conn.interrupt)
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
	if _, err := io.WriteString(conn, method+" "+path+" HTTP/1.1\r\nHost: sfmcp\r\nUser-Agent: sfmcp-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); err != nil {
		return nil, failed("send to the sfmcp daemon", err)
	}
	status, body, err := readAnswer(bufio.NewReader(conn))
	if err != nil {
		return nil, failed("read the sfmcp daemon's answer", err)
	}
	if status != 200 {
		var eb apitype.ErrorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			return nil, &Error{Code: apitype.CodeInternal, Status: status, Message: fmt.Sprintf("the sfmcp daemon answered HTTP %d", status)}
		}
		return nil, &Error{Code: eb.Error, Message: eb.Message, Profile: eb.Profile, Status: status,
			OAuthError: eb.OAuthError, SnowflakeCode: eb.SnowflakeCode, Advice: eb.Advice, SignInOpened: eb.SignInOpened}
	}
	return body, nil
}

// dial connects to the daemon at c.Socket, checking who may have put the
// socket there and who serves it before a byte is sent.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	// The socket's directory decides who can put a socket there; another
	// user's "daemon" would get our server URL and hand us its token.
	if err := safesocket.CheckDir(filepath.Dir(c.Socket)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (no socket at %s)", ErrNoDaemon, c.Socket)
	} else if err != nil {
		return nil, err
	}
	conn, err := dialDaemon(ctx, c.Socket)
	if err != nil {
		return nil, err
	}
	if err := checkPeer(conn, c.Socket); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Bounds on the daemon's answer.
const (
	maxAnswerHead = 16 << 10
	maxAnswerBody = 1 << 20
)

// readAnswer reads the daemon's HTTP/1.1 answer: its status and body. It
// is not net/http's ReadResponse, whose package costs the hot path about
// half a millisecond to start (bench/RESULTS.md); the daemon answers every
// request with a status line, a Content-Length and the body, on a
// connection it then closes.
func readAnswer(r *bufio.Reader) (int, []byte, error) {
	head := 0
	line := func() (string, error) {
		l, err := r.ReadString('\n')
		head += len(l)
		if err == nil && head > maxAnswerHead {
			err = errors.New("the answer's head is too long")
		}
		return strings.TrimRight(l, "\r\n"), err
	}
	first, err := line()
	if err != nil {
		return 0, nil, err
	}
	proto, rest, _ := strings.Cut(first, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
		return 0, nil, fmt.Errorf("malformed status line %q", first)
	}
	length := -1
	for {
		h, err := line()
		if err != nil {
			return 0, nil, err
		}
		if h == "" {
			break
		}
		name, value, _ := strings.Cut(h, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil || length < 0 || length > maxAnswerBody {
				return 0, nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case "transfer-encoding":
			return 0, nil, fmt.Errorf("unexpected Transfer-Encoding %q", value)
		}
	}
	if length < 0 {
		// No length (an error net/http wrote itself): the body runs to
		// the end of the connection.
		body, err := io.ReadAll(io.LimitReader(r, maxAnswerBody))
		return status, body, err
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return status, body, nil
}

// checkPeer refuses a socket served by another uid, before a byte is sent.
func checkPeer(c *conn, socket string) error {
	p, err := c.peer()
	if err != nil {
		return fmt.Errorf("%w: cannot tell who serves %s: %v", safesocket.ErrUnsafe, socket, err)
	}
	if p.UID != safesocket.OwnUID() {
		return fmt.Errorf("%w: the process serving %s runs as uid %d, not you (uid %d); nothing was sent to it", safesocket.ErrUnsafe, socket, p.UID, safesocket.OwnUID())
	}
	return nil
}

// errEOF: the daemon closed the connection.
var errEOF = io.EOF

// CodeOf is the apitype code of an error from talking to the daemon: the
// code of its answer, the one the client derives for failing to reach it,
// or apitype.CodeDaemonFailed for a failed exchange. It is "" for nil.
func CodeOf(err error) string {
	var ce *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		if ce.Code == apitype.CodeLoginRequired && ce.SignInOpened {
			return apitype.CodeSignInOpened
		}
		return ce.Code
	case errors.Is(err, ErrBusy):
		return apitype.CodeDaemonBusy
	case errors.Is(err, safesocket.ErrUnsafe):
		return apitype.CodeUnsafeSocket
	case errors.Is(err, ErrNoDaemon):
		return apitype.CodeNoDaemon
	}
	return apitype.CodeDaemonFailed
}
