package client

import (
	"bufio"
	"net/url"
	"strings"
	"testing"
	"time"
)

// readAnswer is the hot path's whole HTTP client: it must read what the
// daemon (net/http) writes, and refuse what it does not.
func TestReadAnswer(t *testing.T) {
	for _, c := range []struct {
		raw    string
		status int
		body   string
		bad    bool
	}{
		{raw: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{}\n\nEXTRA", status: 200, body: "{}\n\n"},
		{raw: "HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}", status: 401, body: "{}"},
		{raw: "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request", status: 400, body: "400 Bad Request"},
		{raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok"},
		{raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", bad: true},
		{raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", bad: true},
		{raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", bad: true},
		{raw: "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", bad: true},
		{raw: "SSH-2.0-OpenSSH\r\n\r\n", bad: true},
		{raw: "HTTP/1.1 abc\r\n\r\n", bad: true},
		{raw: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", bad: true},
		{raw: "", bad: true},
	} {
		status, body, err := readAnswer(bufio.NewReader(strings.NewReader(c.raw)))
		if c.bad {
			if err == nil {
				t.Errorf("%.40q: read as %d %q", c.raw, status, body)
			}
			continue
		}
		if err != nil || status != c.status || string(body) != c.body {
			t.Errorf("%.40q: got %d %q %v; want %d %q", c.raw, status, body, err, c.status, c.body)
		}
	}
}

// The query the hot path builds by hand reads back, through the daemon's
// url.ParseQuery, as exactly what was sent.
func TestQueryRoundTrip(t *testing.T) {
	r := Request{Profile: "prod.eu-1", ServerURL: "https://a.snowflakecomputing.com/api/v2/databases/D B/schemas/\"S\"/mcp-servers/x?y=1&z=ü#f",
		ServerName: "my server+1", Refused: "abc", Force: true, WaitSignIn: 120 * time.Second, NoSignIn: true}
	q, err := url.ParseQuery(strings.TrimPrefix(r.query(), "?"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"profile": r.Profile, "server_url": r.ServerURL, "server_name": r.ServerName,
		"refused": "abc", "force": "1", "wait_signin": "120", "signin": "off"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if (Request{}).query() != "" {
		t.Error("an empty request has a query")
	}
}
