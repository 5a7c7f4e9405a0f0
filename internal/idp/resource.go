package idp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/shellword"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/internal/version"
)

// What an MCP server says of its own authorization, in its Protected
// Resource Metadata (RFC 9728): the authorization server whose tokens it
// takes (Snowflake's own OAuth, or the identity provider an administrator
// bound it to with OAUTH_AUTHORIZATION_SERVER) and the scopes it
// advertises (OAUTH_SCOPES_SUPPORTED).

// Resource is what an MCP server's Protected Resource Metadata says.
type Resource struct {
	// URL is the MCP server's, which the metadata names as its resource.
	URL string
	// MetadataURL is where the metadata was read.
	MetadataURL string
	// AuthorizationServers are the issuers whose tokens it takes, as it
	// lists them; there is at least one.
	AuthorizationServers []string
	// Scopes are the scopes it asks for: its 401's scope when that names
	// any (the MCP spec makes them authoritative), else its
	// scopes_supported.
	Scopes []string
}

// maxProbeAnswer bounds what is read of the answer to the probe.
const maxProbeAnswer = 64 << 10

// DiscoverResource asks the MCP server at serverURL how it is authorized,
// as an MCP client does: an initialize without a token, whose 401 names
// the metadata (WWW-Authenticate's resource_metadata); without one, the
// metadata is read at the path-inserted well-known address (RFC 9728
// §3.1). The metadata must name serverURL exactly as its resource (RFC
// 9728 §3.3), and https (http to a loopback address) authorization
// servers. No redirect is followed.
func DiscoverResource(ctx context.Context, hc *http.Client, serverURL string) (Resource, error) {
	hc = noRedirects(hc)
	challenge, err := probe(ctx, hc, serverURL)
	if err != nil {
		return Resource{}, err
	}
	return readResource(ctx, hc, serverURL, challenge)
}

// ResourceAfter401 reads the metadata that a 401 of the MCP server at
// serverURL names in its WWW-Authenticate values (else the well-known
// address), as DiscoverResource does, without asking the server again.
func ResourceAfter401(ctx context.Context, hc *http.Client, serverURL string, wwwAuthenticate []string) (Resource, error) {
	return readResource(ctx, noRedirects(hc), serverURL, wwwAuthenticate)
}

// maxHeaders bounds the headers of a metadata or challenge answer.
const maxHeaders = 64 << 10

// noRedirects is hc (or a default client) that follows no redirect: the
// addresses asked are the server's own, and a redirect is not metadata.
func noRedirects(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		copied := *hc
		c = &copied
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// A hostile host's headers are bounded too: parsing a WWW-Authenticate
	// of megabytes takes minutes.
	t, ok := c.Transport.(*http.Transport)
	if c.Transport == nil {
		t, ok = http.DefaultTransport.(*http.Transport)
	}
	if ok {
		t = t.Clone()
		t.MaxResponseHeaderBytes = maxHeaders
		c.Transport = t
	}
	return c
}

// probe sends MCP's initialize without a token and returns the
// WWW-Authenticate values of its answer (none unless it is a 401).
func probe(ctx context.Context, hc *http.Client, serverURL string) ([]string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("MCP server %q is not a URL", truncate(serverURL))
	}
	if err := secure(u); err != nil {
		return nil, fmt.Errorf("MCP server: %w", err)
	}
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},` +
		`"clientInfo":{"name":"sfmcp","version":"` + version.String() + `"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the MCP server at %s: %w", serverURL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeAnswer))
	if resp.StatusCode != http.StatusUnauthorized {
		return nil, nil
	}
	return resp.Header.Values("WWW-Authenticate"), nil
}

// readResource reads and checks the metadata of the MCP server at
// serverURL: where its 401's challenge says, else the well-known address.
func readResource(ctx context.Context, hc *http.Client, serverURL string, wwwAuthenticate []string) (Resource, error) {
	at, scopes := bearerChallenge(wwwAuthenticate)
	if at == "" {
		at = wellKnownResource(serverURL)
	}
	u, err := url.Parse(at)
	if err != nil || u.Host == "" {
		return Resource{}, &MetadataError{URL: truncate(at), Reason: "it is not a URL"}
	}
	if err := secure(u); err != nil {
		return Resource{}, &MetadataError{URL: u.Redacted(), Reason: err.Error()}
	}
	var m oauthex.ProtectedResourceMetadata
	found, err := getJSON(ctx, hc, "the MCP server's metadata", at, &m)
	if err != nil {
		return Resource{}, err
	}
	if !found {
		return Resource{}, fmt.Errorf("%w (%s)", ErrNoResourceMetadata, at)
	}
	r := Resource{URL: serverURL, MetadataURL: at, AuthorizationServers: m.AuthorizationServers, Scopes: scopes}
	if len(r.Scopes) == 0 {
		r.Scopes = m.ScopesSupported
	}
	return r, r.check(m.Resource)
}

// ErrNoResourceMetadata: the MCP server serves no Protected Resource
// Metadata where its 401 or the well-known address says.
var ErrNoResourceMetadata = errors.New("the MCP server publishes no Protected Resource Metadata")

// bearerChallenge returns the metadata address and the scopes of the
// Bearer challenge among a 401's WWW-Authenticate values; one that does
// not parse says nothing.
func bearerChallenge(values []string) (metadata string, scopes []string) {
	challenges, err := oauthex.ParseWWWAuthenticate(values)
	if err != nil {
		return "", nil
	}
	for _, c := range challenges {
		if c.Scheme == "bearer" && c.Params["resource_metadata"] != "" {
			return c.Params["resource_metadata"], strings.Fields(c.Params["scope"])
		}
	}
	return "", nil
}

// wellKnownResource is serverURL's metadata address: the well-known path
// inserted between host and path, the path's trailing slash dropped.
func wellKnownResource(serverURL string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		return ""
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() + "/.well-known/oauth-protected-resource" + path
}

// check refuses metadata for another resource (RFC 9728 §3.3: it "MUST
// NOT be used"), and authorization servers that are not plain https (or
// loopback http) URLs: one is shown to the user and signed in at.
func (r Resource) check(resource string) error {
	if resource != r.URL {
		return &MetadataError{URL: r.MetadataURL, Reason: fmt.Sprintf("it is the metadata of %q, not of %s (RFC 9728 §3.3)", truncate(resource), r.URL)}
	}
	if len(r.AuthorizationServers) == 0 {
		return &MetadataError{URL: r.MetadataURL, Reason: "it names no authorization server"}
	}
	for _, as := range r.AuthorizationServers {
		u, err := url.Parse(as)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || !printableASCII(as) {
			return &MetadataError{URL: r.MetadataURL, Reason: fmt.Sprintf("authorization server %q is not a URL without query or fragment", truncate(as))}
		}
		if err := secure(u); err != nil {
			return &MetadataError{URL: r.MetadataURL, Reason: "authorization server " + err.Error()}
		}
	}
	return nil
}

// printableASCII: nothing a terminal would act on or show as something
// else (an internationalised host is written in its ASCII form).
func printableASCII(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) < 0
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// AuthorizationServer is the issuer whose tokens the server takes: the
// first it lists.
func (r Resource) AuthorizationServer() string {
	if len(r.AuthorizationServers) == 0 {
		return ""
	}
	return r.AuthorizationServers[0]
}

// SnowflakeOAuth reports whether that is Snowflake's own OAuth: the MCP
// server's own host, at its root or /oauth. (Snowflake publishes no
// metadata for it; its endpoints are the account's /oauth/authorize and
// /oauth/token-request.)
func (r Resource) SnowflakeOAuth() bool {
	as, err1 := url.Parse(r.AuthorizationServer())
	srv, err2 := url.Parse(r.URL)
	if err1 != nil || err2 != nil || !strings.EqualFold(as.Scheme, srv.Scheme) {
		return false
	}
	sameHost := strings.EqualFold(as.Host, srv.Host) || as.Scheme == "https" && config.SameHost(as.Host, srv.Host)
	path := strings.TrimSuffix(as.Path, "/")
	return sameHost && (path == "" || path == "/oauth")
}

// Role is the role that a session:role:R scope of the server names, when
// exactly one does. Snowflake's default scope, session:role:all, names
// none (some accounts refuse it), nor does a role that needs quotes.
func (r Resource) Role() string {
	var roles []string
	for _, s := range r.Scopes {
		role, ok := strings.CutPrefix(s, "session:role:")
		if ok && ident.Plain(role) && !strings.EqualFold(role, "all") && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	if len(roles) != 1 {
		return ""
	}
	return roles[0]
}

// Apply makes p, a profile for the server, sign in where the server takes
// its tokens from: Snowflake's own OAuth (no issuer), or the identity
// provider it names, which an issuer p already has must be. Unless p has a
// role or scopes of its own, its role is the one the server's scopes name.
func (r Resource) Apply(p config.Profile) (config.Profile, error) {
	as := r.AuthorizationServer()
	switch {
	case r.SnowflakeOAuth() && p.Issuer != "":
		return p, fmt.Errorf("the MCP server takes tokens from Snowflake's own OAuth (%s), not from %s", as, p.Issuer)
	case r.SnowflakeOAuth():
	case p.Issuer != "" && !SameIssuer(p.Issuer, as):
		return p, fmt.Errorf("the MCP server takes tokens from %s, not from %s", as, p.Issuer)
	default:
		p.Issuer = as // as the server writes it: the tokens' iss must be exactly that
	}
	if p.Role == "" && len(p.Scopes) == 0 {
		p.Role = r.Role()
	}
	return p, nil
}

// SameIssuer reports whether two issuer identifiers name one issuer: they
// compare as strings (RFC 8414 §3.3), a trailing slash aside.
func SameIssuer(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

// BindingChangedError: the MCP server takes its tokens from another
// authorization server than the profile signs in at, as its metadata
// says: an administrator bound it to an identity provider
// (OAUTH_AUTHORIZATION_SERVER), bound it to another, or unbound it. Its
// tokens from the profile's are refused.
type BindingChangedError struct {
	ServerURL           string
	AuthorizationServer string // where the server takes tokens from now
	Snowflake           bool   // that is Snowflake's own OAuth
}

func (e *BindingChangedError) Error() string {
	if e.Snowflake {
		return "this MCP server now takes tokens from Snowflake's own OAuth (" + e.AuthorizationServer + ")"
	}
	return "this MCP server now takes tokens from " + e.AuthorizationServer
}

// Hint is the next step: set up again from the server's URL, which
// finds where it takes tokens from.
func (e *BindingChangedError) Hint() string {
	return "run: sfmcp-token setup --url " + shellword.Quote(e.ServerURL)
}

// CheckBinding reports a *BindingChangedError when the MCP server at
// serverURL takes tokens from another authorization server than p signs
// in at, as its metadata says: the metadata a 401's WWW-Authenticate
// values name, or without them, what the server's own 401 names. Call it
// after a 401, never on the way of a token. Any other error says the
// metadata could not be read or used: nothing is known then.
func CheckBinding(ctx context.Context, hc *http.Client, p config.Profile, serverURL string, wwwAuthenticate []string) error {
	var r Resource
	var err error
	if len(wwwAuthenticate) > 0 {
		r, err = ResourceAfter401(ctx, hc, serverURL, wwwAuthenticate)
	} else {
		r, err = DiscoverResource(ctx, hc, serverURL)
	}
	if err != nil {
		return err
	}
	snowflake := r.SnowflakeOAuth()
	if p.IsIdP() && !snowflake && SameIssuer(p.Issuer, r.AuthorizationServer()) || !p.IsIdP() && snowflake {
		return nil
	}
	return &BindingChangedError{ServerURL: serverURL, AuthorizationServer: r.AuthorizationServer(), Snowflake: snowflake}
}
