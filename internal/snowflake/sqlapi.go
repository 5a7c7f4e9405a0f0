package snowflake

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Credentials give the SQL API its bearer token.
type Credentials interface {
	// Token returns the token and its X-Snowflake-Authorization-Token-Type.
	// refused, when not empty, is a token Snowflake just rejected (401): the
	// source must return a newer one if it can.
	Token(ctx context.Context, refused string) (token, tokenType string, err error)
}

// Client runs statements through the SQL API v2 (/api/v2/statements).
type Client struct {
	BaseURL    string
	HTTPClient *http.Client
	Creds      Credentials
	UserAgent  string // applicationName/version, required by the API
	Role       string // session role; empty = the user's default
	Warehouse  string
	// PollInterval between status checks of a running statement (default
	// 500 ms); Retries on 429/5xx (default 3).
	PollInterval time.Duration
	Retries      int
}

// Result is a statement's result set; every value is a string or nil.
type Result struct {
	Columns []string
	Rows    [][]*string
	Handle  string
}

// Column returns the value of the named column (case-insensitive) in row i.
func (r *Result) Column(i int, name string) (string, bool) {
	for c, col := range r.Columns {
		if strings.EqualFold(col, name) && i < len(r.Rows) && c < len(r.Rows[i]) && r.Rows[i][c] != nil {
			return *r.Rows[i][c], true
		}
	}
	return "", false
}

// Error is Snowflake's refusal of a statement.
type Error struct {
	Status   int
	Code     string // e.g. 002003, 390303, 390432
	SQLState string
	Message  string
	Handle   string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("Snowflake SQL API: HTTP %d", e.Status)
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unauthorized reports whether the token was rejected (sign in again).
func (e *Error) Unauthorized() bool { return e.Status == http.StatusUnauthorized }

type statementRequest struct {
	Statement  string            `json:"statement"`
	Timeout    int               `json:"timeout,omitempty"`
	Role       string            `json:"role,omitempty"`
	Warehouse  string            `json:"warehouse,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

type statementResponse struct {
	Code               string          `json:"code"`
	SQLState           string          `json:"sqlState"`
	Message            string          `json:"message"`
	StatementHandle    string          `json:"statementHandle"`
	StatementStatusURL string          `json:"statementStatusUrl"`
	Data               [][]*string     `json:"data"`
	ResultSetMetaData  *resultMetaData `json:"resultSetMetaData"`
}

type resultMetaData struct {
	RowType []struct {
		Name string `json:"name"`
	} `json:"rowType"`
}

// Exec runs one statement and waits for its result (polling when Snowflake
// answers 202). A request id makes retries of the same POST safe.
func (c *Client) Exec(ctx context.Context, statement string) (*Result, error) {
	body, _ := json.Marshal(statementRequest{Statement: statement, Timeout: 120, Role: c.Role, Warehouse: c.Warehouse})
	q := url.Values{"requestId": {requestID()}}
	resp, err := c.send(ctx, http.MethodPost, "/api/v2/statements?"+q.Encode(), body, q)
	if err != nil {
		return nil, err
	}
	for resp.status == http.StatusAccepted {
		poll := c.PollInterval
		if poll <= 0 {
			poll = 500 * time.Millisecond
		}
		select {
		case <-time.After(poll):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		statusURL := resp.body.StatementStatusURL
		if statusURL == "" {
			statusURL = "/api/v2/statements/" + url.PathEscape(resp.body.StatementHandle)
		}
		// The server chooses this URL; it is resolved against BaseURL and
		// followed only to the same origin (send checks), so an answer
		// cannot send the admin's token elsewhere.
		if resp, err = c.send(ctx, http.MethodGet, statusURL, nil, nil); err != nil {
			return nil, err
		}
	}
	r := &Result{Rows: resp.body.Data, Handle: resp.body.StatementHandle}
	if md := resp.body.ResultSetMetaData; md != nil {
		for _, col := range md.RowType {
			r.Columns = append(r.Columns, col.Name)
		}
	}
	return r, nil
}

type answer struct {
	status int
	body   statementResponse
}

// send makes one API call, retrying 429 and 5xx with jittered backoff
// (POSTs carry the same requestId plus retry=true, as the API asks).
func (c *Client) send(ctx context.Context, method, path string, body []byte, q url.Values) (answer, error) {
	retries := c.Retries
	if retries <= 0 {
		retries = 3
	}
	hc := http.Client{}
	if c.HTTPClient != nil {
		hc = *c.HTTPClient
	}
	// Never follow a redirect: Go keeps the Authorization header on one to
	// the same host, even from https to http.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var refused string
	for attempt := 0; ; attempt++ {
		if attempt > 0 && q != nil {
			q.Set("retry", "true")
			path = "/api/v2/statements?" + q.Encode()
		}
		target, err := c.resolve(path)
		if err != nil {
			return answer{}, err
		}
		token, tokenType, err := c.Creds.Token(ctx, refused)
		if err != nil {
			return answer{}, err
		}
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
		if err != nil {
			return answer{}, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if tokenType != "" {
			req.Header.Set("X-Snowflake-Authorization-Token-Type", tokenType)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/json")
		ua := c.UserAgent
		if ua == "" {
			ua = "sfmcp/dev"
		}
		req.Header.Set("User-Agent", ua)
		resp, err := hc.Do(req)
		if err != nil {
			if attempt < retries && ctx.Err() == nil {
				sleep(ctx, attempt)
				continue
			}
			return answer{}, fmt.Errorf("the Snowflake SQL API: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return answer{}, err
		}
		var sr statementResponse
		_ = json.Unmarshal(data, &sr)
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted:
			return answer{status: resp.StatusCode, body: sr}, nil
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && attempt < retries:
			sleep(ctx, attempt)
			continue
		case resp.StatusCode == http.StatusUnauthorized && refused == "":
			// 390303: expired or revoked early; one refresh, then once more.
			refused = token
			continue
		}
		e := &Error{Status: resp.StatusCode, Code: sr.Code, SQLState: sr.SQLState, Message: sr.Message, Handle: sr.StatementHandle}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		if resp.StatusCode == http.StatusRequestTimeout {
			e.Message = "the statement timed out (" + e.Message + ")"
		}
		return answer{}, e
	}
}

// ErrForeignURL is a URL (from the server's answer) that leads away from
// the account: the request is not made.
var ErrForeignURL = errors.New("the Snowflake SQL API answer points to another host")

// resolve makes ref (a path, or a URL from the server's answer) absolute
// against BaseURL and refuses any result on another scheme or host, so the
// bearer token only ever goes to the account it is for.
func (c *Client) resolve(ref string) (string, error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return "", fmt.Errorf("the Snowflake SQL API base URL %q is not an absolute URL", c.BaseURL)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a URL it can follow; nothing was sent", ErrForeignURL, ref)
	}
	u := base.ResolveReference(r)
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) || u.User != nil {
		return "", fmt.Errorf("%w: %q resolves to %s://%s, not %s://%s; nothing was sent there", ErrForeignURL, ref, u.Scheme, u.Host, base.Scheme, base.Host)
	}
	return u.String(), nil
}

func sleep(ctx context.Context, attempt int) {
	d := 250 * time.Millisecond << min(attempt, 5)
	d = d/2 + rand.N(d/2+1)
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// requestID is a random UUID (v4) for the API's idempotent retries.
func requestID() string {
	var b [16]byte
	_, _ = cryptoRead(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var cryptoRead = crand.Read

// IsCode reports whether err is a SQL API error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
