package oauth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func localClient(sf *snowflaketest.Server) *Client {
	return &Client{BaseURL: sf.URL, ClientID: "LOCAL_APPLICATION", Scopes: []string{"refresh_token", "session:role:MCP_USERS"}, HTTPClient: sf.Client()}
}

// visitor returns an Open func that acts as the browser and records the
// authorization URL and the callback page.
func visitor(t *testing.T, sf *snowflaketest.Server, authURL *string, status *int, body *string) func(string) error {
	return func(u string) error {
		var err error
		if *authURL, err = sf.AuthorizeURL(u); err != nil {
			t.Errorf("start page: %v", err)
			return err
		}
		*status, *body, err = sf.Visit(*authURL)
		if err != nil {
			t.Errorf("browser: %v", err)
		}
		return err
	}
}

func TestLoginLocalApplication(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	var announced, opened, authURL string
	var status int
	var page string
	l := &Login{Client: localClient(sf), Announce: func(u, _ string) { announced = u }, Timeout: 10 * time.Second}
	open := visitor(t, sf, &authURL, &status, &page)
	l.Open = func(u string) error { opened = u; return open(u) }
	tok, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Username != "ALICE" || tok.RefreshToken == "" || tok.AccessToken == "" || tok.ExpiresIn != 600*time.Second {
		t.Fatalf("tokens = %v (refresh %v)", tok, tok.RefreshToken != "")
	}
	if status != 200 || !strings.Contains(page, "You are signed in to Snowflake") {
		t.Fatalf("success page: %d %q", status, page)
	}
	// Security issue, item 7: what reaches the browser opener's argv (and
	// the terminal) is the loopback start page, with nothing secret in it.
	for _, shown := range []string{announced, opened} {
		s, _ := url.Parse(shown)
		if s.Scheme != "http" || s.Hostname() != "127.0.0.1" || s.Path != StartPath || s.RawQuery != "" {
			t.Fatalf("URL given out %q; want the bare loopback start page", shown)
		}
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if !strings.HasPrefix(authURL, "https://") || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
		len(q.Get("state")) < 32 || q.Get("scope") != "refresh_token session:role:MCP_USERS" || q.Get("client_id") != "LOCAL_APPLICATION" {
		t.Fatalf("authorization URL lacks PKCE/state/scope: %s", authURL)
	}
	r, _ := url.Parse(q.Get("redirect_uri"))
	if r.Scheme != "http" || r.Hostname() != "127.0.0.1" || r.Port() == "" {
		t.Fatalf("redirect_uri = %s", r)
	}
	if strings.Contains(q.Get("scope"), "offline_access") || strings.Contains(q.Get("scope"), "openid") {
		t.Fatal("generic scopes sent to Snowflake")
	}
	if c := sf.Counters(); c.CodeExchanges != 1 {
		t.Fatalf("code exchanges = %d", c.CodeExchanges)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func TestLoginCustomClients(t *testing.T) {
	for _, tc := range []struct {
		name         string
		confidential bool
		secret       string
		sendSecret   string
		wantErr      error
	}{
		{name: "confidential secret with +/= is url-encoded in Basic", confidential: true, secret: "s3cr+t/with=pad==", sendSecret: "s3cr+t/with=pad=="},
		{name: "confidential wrong secret", confidential: true, secret: "right+secret=", sendSecret: "wrong", wantErr: ErrClientConfig},
		{name: "public client_id in body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
			defer sf.Close()
			redirect := "http://127.0.0.1:" + freePort(t) + "/oauth/callback"
			sf.AddIntegration(snowflaketest.Integration{ClientID: "CLIENT+ID/1", ClientSecret: tc.secret, Public: !tc.confidential,
				RedirectURIs: []string{redirect}, AllowNonTLSRedirect: true, EnforcePKCE: !tc.confidential})
			c := &Client{BaseURL: sf.URL, ClientID: "CLIENT+ID/1", ClientSecret: tc.sendSecret, Confidential: tc.confidential,
				Scopes: []string{"refresh_token", "session:role:MCP_USERS"}, HTTPClient: sf.Client()}
			var status int
			var page string
			var authURL string
			l := &Login{Client: c, RedirectURI: redirect, Open: visitor(t, sf, &authURL, &status, &page), Timeout: 10 * time.Second}
			tok, err := l.Run(context.Background())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), tc.sendSecret) {
					t.Fatal("error shows the client secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" || tok.Username != "ALICE" {
				t.Fatalf("tokens = %v", tok)
			}
		})
	}
}

func TestLoginRefusesWrongState(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	var status int
	var page string
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Open: func(u string) error {
		authURL, err := sf.AuthorizeURL(u)
		if err != nil {
			return err
		}
		parsed, _ := url.Parse(authURL)
		q := parsed.Query()
		q.Set("state", "forged-state")
		parsed.RawQuery = q.Encode()
		status, page, err = sf.Visit(parsed.String())
		return err
	}}
	_, err := l.Run(context.Background())
	if !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("err = %v, want ErrStateMismatch", err)
	}
	if status != 400 || !strings.Contains(page, "state mismatch") {
		t.Fatalf("failure page: %d %q", status, page)
	}
	if c := sf.Counters(); c.CodeExchanges != 0 {
		t.Fatal("a code from a forged callback was exchanged")
	}
}

func TestLoginDeniedInForm(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	var status int
	var page string
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Open: func(u string) error {
		var err error
		status, page, err = sf.SignIn(u, "alice", snowflaketest.DefaultPassword, false)
		return err
	}}
	_, err := l.Run(context.Background())
	if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	if status != 403 || !strings.Contains(page, "Sign-in denied") {
		t.Fatalf("failure page: %d %q", status, page)
	}
}

func TestLoginWithForm(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Open: func(start string) error {
		u, err := sf.AuthorizeURL(start)
		if err != nil {
			return err
		}
		// A wrong password first: the form is shown again, nothing is sent back.
		if status, _, _ := sf.SignIn(u, "alice", "wrong", true); status != 401 {
			t.Errorf("wrong password: status %d", status)
		}
		_, _, err = sf.SignIn(u, "alice", snowflaketest.DefaultPassword, true)
		return err
	}}
	tok, err := l.Run(context.Background())
	if err != nil || tok.Username != "ALICE" {
		t.Fatalf("tokens %v, err %v", tok, err)
	}
}

func TestLoginTimeout(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{})
	defer sf.Close()
	l := &Login{Client: localClient(sf), Timeout: 20 * time.Millisecond}
	if _, err := l.Run(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestLoginPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	redirect := "http://127.0.0.1:" + port + "/cb"
	l := &Login{Client: &Client{BaseURL: "https://example.invalid"}, RedirectURI: redirect, Timeout: time.Second}
	_, err = l.Run(context.Background())
	var pe *PortInUseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), port) || !strings.Contains(err.Error(), redirect) {
		t.Fatalf("err = %v, want a PortInUseError naming %s and %s", err, port, redirect)
	}
}

// A browser on another machine cannot reach the loopback callback; the
// address it lands on, pasted into the terminal, completes the sign-in. A
// stray line does not end the sign-in; a wrong state does.
func TestLoginPastedCallback(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	var refused []error
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Paste: pasteFrom(pr),
		PasteRefused: func(err error) { refused = append(refused, err) },
		Announce: func(_, authURL string) {
			go func() {
				back, err := sf.RemoteBrowser(authURL)
				if err != nil {
					t.Error(err)
				}
				io.WriteString(pw, "\nnot an address\n  "+back+"  \n")
			}()
		}}
	tok, err := l.Run(context.Background())
	if err != nil || tok.Username != "ALICE" || tok.RefreshToken == "" {
		t.Fatalf("pasted sign-in: %v %v", tok, err)
	}
	if len(refused) != 1 || !errors.Is(refused[0], ErrNotCallback) {
		t.Fatalf("refused lines: %v", refused)
	}
	if c := sf.Counters(); c.CodeExchanges != 1 {
		t.Fatalf("code exchanges = %d", c.CodeExchanges)
	}
}

func TestLoginPastedCallbackWrongState(t *testing.T) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Paste: pasteFrom(pr),
		Announce: func(startURL, authURL string) {
			go func() {
				back, err := sf.RemoteBrowser(authURL)
				if err != nil {
					t.Error(err)
				}
				u, _ := url.Parse(back)
				q := u.Query()
				q.Set("state", "forged")
				u.RawQuery = q.Encode()
				io.WriteString(pw, u.String()+"\n")
			}()
		}}
	if _, err := l.Run(context.Background()); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("a pasted callback with another state: %v", err)
	}
	if c := sf.Counters(); c.CodeExchanges != 0 {
		t.Fatalf("the code of a forged callback was exchanged")
	}
}

// pasteFrom gives the lines of r, as a terminal would, until ctx ends.
func pasteFrom(r io.Reader) func(context.Context) (string, error) {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return func(ctx context.Context) (string, error) {
		select {
		case line, ok := <-lines:
			if !ok {
				return "", io.EOF
			}
			return line, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}
