// Package oauth owns Snowflake OAuth: the authorization-code + PKCE flow with
// a loopback redirect, and the token endpoint (code exchange and refresh).
// It wraps golang.org/x/oauth2 and turns Snowflake's answers into errors a
// person can act on. It never logs, and no token, code or secret appears in
// its errors.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

// Client is an OAuth client of one authorization server: Snowflake's own
// OAuth at an account (BaseURL), or an identity provider's endpoints
// (AuthURL, TokenURL) when the account takes its tokens through External
// OAuth; which client, and how it authenticates at the token endpoint.
type Client struct {
	BaseURL      string // https://myorg-acct.snowflakecomputing.com
	ClientID     string // LOCAL_APPLICATION for the built-in public client
	ClientSecret string // confidential clients only
	Confidential bool
	Scopes       []string
	HTTPClient   *http.Client // nil: a client with sane timeouts
	Now          func() time.Time
	// AuthURL and TokenURL, when set, are an identity provider's endpoints
	// (from its metadata) instead of Snowflake's under BaseURL;
	// DeviceAuthURL its device authorization endpoint (RFC 8628), if any.
	AuthURL, TokenURL, DeviceAuthURL string
	// Resource, when set, is sent as RFC 8707's resource with the
	// authorization request and the code exchange.
	Resource string
	// Issuer, when set, is the issuer an authorization response must name
	// in iss when it carries one (RFC 9207), and always when IssRequired
	// (the server's metadata says it sends iss).
	Issuer      string
	IssRequired bool
	// Name is the server as the browser pages and errors name it (default
	// "Snowflake").
	Name string
}

// ServerName is how the sign-in pages name the authorization server.
func (c *Client) ServerName() string {
	if c.Name == "" {
		return "Snowflake"
	}
	return c.Name
}

// ResponseIssuer is the iss an authorization response must carry
// (RFC 9207): "" when not checked; required when it must be present.
func (c *Client) ResponseIssuer() (issuer string, required bool) { return c.Issuer, c.IssRequired }

// Tokens is a token endpoint answer, parsed leniently.
type Tokens struct {
	AccessToken  string
	RefreshToken string // empty when Snowflake issued none
	ExpiresIn    time.Duration
	Expiry       time.Time
	// RefreshExpiry is known only when Snowflake sends refresh_token_expires_in.
	RefreshExpiry time.Time
	Username      string // only on a code exchange
	Scope         string
}

// String hides the tokens.
func (t Tokens) String() string {
	return fmt.Sprintf("tokens for %s expiring %s", t.Username, t.Expiry.Format(time.RFC3339))
}

// GoString hides the tokens from %#v too.
func (t Tokens) GoString() string { return t.String() }

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// DefaultHTTPClient is used when Client.HTTPClient is nil: system TLS roots
// (so SSL_CERT_FILE works), proxies from the environment, bounded time.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 20 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

func (c *Client) config(redirectURI string) *oauth2.Config {
	style := oauth2.AuthStyleInParams // public + LOCAL_APPLICATION: client_id in the body
	if c.Confidential {
		// HTTP Basic with url-encoded id and secret (x/oauth2 escapes both),
		// which Snowflake requires because its secrets contain + / =.
		style = oauth2.AuthStyleInHeader
	}
	ep := oauth2.Endpoint{AuthURL: c.BaseURL + "/oauth/authorize", TokenURL: c.BaseURL + "/oauth/token-request", AuthStyle: style}
	if c.AuthURL != "" || c.TokenURL != "" {
		ep.AuthURL, ep.TokenURL, ep.DeviceAuthURL = c.AuthURL, c.TokenURL, c.DeviceAuthURL
	}
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint:     ep,
		RedirectURL:  redirectURI,
		Scopes:       c.Scopes,
	}
}

func (c *Client) ctx(ctx context.Context) context.Context {
	hc := c.HTTPClient
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	// A token endpoint that redirects would have the code, the verifier,
	// a refresh token or the client secret posted again elsewhere: its
	// redirect is an answer, refused as one.
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return context.WithValue(ctx, oauth2.HTTPClient, &noRedirect)
}

// AuthCodeURL builds the authorization URL with PKCE S256 and state.
func (c *Client) AuthCodeURL(redirectURI, state, verifier string) string {
	return c.config(redirectURI).AuthCodeURL(state, append(c.resource(), oauth2.S256ChallengeOption(verifier))...)
}

// resource is the RFC 8707 parameter, when the client sends one.
func (c *Client) resource() []oauth2.AuthCodeOption {
	if c.Resource == "" {
		return nil
	}
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", c.Resource)}
}

// Exchange trades an authorization code for tokens.
func (c *Client) Exchange(ctx context.Context, code, verifier, redirectURI string) (Tokens, error) {
	tok, err := c.config(redirectURI).Exchange(c.ctx(ctx), code, append(c.resource(), oauth2.VerifierOption(verifier))...)
	if err != nil {
		return Tokens{}, redact(tokenError("exchange the authorization code", err), code, verifier, c.ClientSecret)
	}
	return c.tokens(tok), nil
}

// Refresh uses a refresh token for a new access token. With single-use
// refresh tokens the answer carries a new refresh token; otherwise
// Tokens.RefreshToken equals the one sent.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if refreshToken == "" {
		return Tokens{}, fmt.Errorf("refresh: %w", ErrLoginRequired)
	}
	var tok *oauth2.Token
	var err error
	if c.TokenURL != "" {
		tok, err = c.refreshAt(c.ctx(ctx), refreshToken)
	} else {
		tok, err = c.config("").TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	}
	if err != nil {
		return Tokens{}, redact(tokenError("refresh the access token", err), refreshToken, c.ClientSecret)
	}
	return c.tokens(tok), nil
}

func (c *Client) tokens(tok *oauth2.Token) Tokens {
	now := c.now()
	t := Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
	if tok.ExpiresIn > 0 {
		t.ExpiresIn = time.Duration(tok.ExpiresIn) * time.Second
	} else {
		// Snowflake documents 600 s as the default; assume it rather than
		// treating the token as eternal.
		t.ExpiresIn = 600 * time.Second
	}
	t.Expiry = now.Add(t.ExpiresIn)
	t.Username = stringExtra(tok, "username")
	if t.Username == "" {
		// An identity provider names the user in its JWT access token.
		if claims, ok := AccessClaims(tok.AccessToken); ok {
			t.Username = claims.User
		}
	}
	t.Scope = stringExtra(tok, "scope")
	if n := intExtra(tok, "refresh_token_expires_in"); n > 0 {
		t.RefreshExpiry = now.Add(time.Duration(n) * time.Second)
	}
	return t
}

func stringExtra(tok *oauth2.Token, key string) string {
	s, _ := tok.Extra(key).(string)
	return s
}

func intExtra(tok *oauth2.Token, key string) int64 {
	switch v := tok.Extra(key).(type) {
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// Sentinel errors callers branch on.
var (
	// ErrLoginRequired: the refresh token is missing, expired or revoked
	// (invalid_grant); only a new browser sign-in helps.
	ErrLoginRequired = errors.New("a new sign-in is required")
	// ErrUnavailable: Snowflake could not be reached or answered 5xx/429;
	// retrying later may help.
	ErrUnavailable = errors.New("the Snowflake token endpoint is unavailable")
	// ErrClientConfig: Snowflake rejected the client or request setup
	// (invalid_client, redirect URI or scope mismatch).
	ErrClientConfig = errors.New("the OAuth client configuration was rejected")
)

// TokenError is Snowflake's refusal of a token request.
type TokenError struct {
	Op            string // what was attempted
	Status        int
	Code          string // RFC 6749 error, e.g. invalid_grant
	SnowflakeCode string // numeric code such as 390307, when given
	Message       string // error_description or message, sanitised
	kind          error
}

func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: Snowflake answered", e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, " HTTP %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.SnowflakeCode != "" {
		fmt.Fprintf(&b, " (%s)", e.SnowflakeCode)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if a := e.Advice(); a != "" {
		fmt.Fprintf(&b, "; %s", a)
	}
	return b.String()
}

func (e *TokenError) Unwrap() error { return e.kind }

// Advice says what to do about the error.
func (e *TokenError) Advice() string {
	switch {
	case e.SnowflakeCode == "390307":
		return "the redirect URI does not match the integration's OAUTH_REDIRECT_URI; make the profile's redirect_uri equal it"
	case e.SnowflakeCode == "390308":
		return "a requested scope is invalid; check the profile's role (it must be granted to you and allowed by the integration)"
	case e.SnowflakeCode == "390306":
		return "the client id is unknown; check the profile's client_id against SYSTEM$SHOW_OAUTH_CLIENT_SECRETS"
	case e.Code == "invalid_client":
		return "check the client id and secret (SYSTEM$SHOW_OAUTH_CLIENT_SECRETS), or a network policy may be blocking your IP address"
	case e.Code == "invalid_grant":
		return "the sign-in expired or was revoked; sign in again"
	case e.Code == "unsupported_grant_type":
		return "Snowflake supports only authorization_code and refresh_token grants"
	case e.Code == "invalid_scope":
		return "check the profile's role and scopes"
	}
	return ""
}

// snowflakeError is the union of Snowflake's documented error body
// ({"message","code","success","error"}) and the RFC 6749 shape.
type snowflakeError struct {
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
	Message     string          `json:"message"`
	Code        json.RawMessage `json:"code"`
}

func tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || isConnError(err) {
			return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, scrub(err))
		}
		// A 200 answer that is not a token (no access_token, bad JSON).
		return &TokenError{Op: op, Message: "the answer was not a token: " + sanitize(scrub(err).Error()), kind: ErrUnavailable}
	}
	te := &TokenError{Op: op, Code: re.ErrorCode, Message: re.ErrorDescription}
	if re.Response != nil {
		te.Status = re.Response.StatusCode
	}
	var body snowflakeError
	if json.Unmarshal(re.Body, &body) == nil {
		if te.Code == "" {
			te.Code = body.Error
		}
		if te.Message == "" {
			te.Message = body.Message
		}
		te.SnowflakeCode = strings.Trim(string(body.Code), `"`)
		if te.SnowflakeCode == "null" {
			te.SnowflakeCode = ""
		}
	} else if te.Code == "" {
		te.Message = "the answer was not JSON (an HTML error page or a proxy in the way?)"
	}
	te.Message = sanitize(te.Message)
	te.Code = sanitize(te.Code)
	te.SnowflakeCode = sanitize(te.SnowflakeCode)
	switch {
	case te.Code == "invalid_grant":
		te.kind = ErrLoginRequired
	case te.Code == "invalid_client" || te.SnowflakeCode == "390306" || te.SnowflakeCode == "390307" || te.SnowflakeCode == "390308":
		te.kind = ErrClientConfig
	case te.Status >= 500 || te.Status == http.StatusTooManyRequests:
		te.kind = ErrUnavailable
	case te.Status >= 200 && te.Status < 300 && te.Code == "":
		te.kind = ErrUnavailable
	}
	return te
}

func isConnError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// scrub drops the "Post <url>:" prefix net/http puts on transport errors to
// keep them to the point.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact removes secrets the server might have echoed into its message.
func redact(err error, secrets ...string) error {
	var te *TokenError
	if errors.As(err, &te) {
		for _, s := range secrets {
			if s != "" {
				te.Message = strings.ReplaceAll(te.Message, s, "[redacted]")
			}
		}
	}
	return err
}

// sanitize keeps server-provided text to one short printable line, so a
// hostile or broken server cannot flood or spoof the terminal.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 300 {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// LoginRequiredError is ErrLoginRequired for a profile, with why (for
// people and the log), and whether the daemon already opened a browser
// sign-in for it, which the user should finish rather than start another.
type LoginRequiredError struct {
	Profile string
	Reason  string // why, in words; the cause's message when empty
	Cause   error  // what made it so, if an error did
	// SignInOpened: a browser sign-in for the profile is under way.
	SignInOpened bool
}

// Why says why a new sign-in is required ("" if nothing says).
func (e *LoginRequiredError) Why() string {
	if e.Reason == "" && e.Cause != nil {
		return e.Cause.Error()
	}
	return e.Reason
}

func (e *LoginRequiredError) Error() string {
	why := e.Why()
	msg := ErrLoginRequired.Error()
	if why != "" {
		msg += " (" + why + ")"
	}
	if e.Profile != "" {
		msg = "profile " + e.Profile + ": " + msg
	}
	if e.SignInOpened {
		msg += "; a browser window was opened to sign in to Snowflake: finish it there"
	}
	return msg
}

// Is makes every LoginRequiredError an ErrLoginRequired.
func (e *LoginRequiredError) Is(target error) bool { return target == ErrLoginRequired }

func (e *LoginRequiredError) Unwrap() error { return e.Cause }
