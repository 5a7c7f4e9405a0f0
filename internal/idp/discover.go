package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sfmcp/sfmcp/internal/config"
)

// Metadata is what sfmcp uses of an issuer's authorization server
// metadata (RFC 8414 / OpenID Connect Discovery).
type Metadata struct {
	Issuer                      string   `json:"issuer"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint,omitempty"`
	ScopesSupported             []string `json:"scopes_supported,omitempty"`
	GrantTypesSupported         []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethods        []string `json:"code_challenge_methods_supported,omitempty"`
	// IssInResponse: the server puts iss in its authorization responses
	// (RFC 9207), so a response without it is refused.
	IssInResponse bool `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// maxMetadata bounds a metadata document.
const maxMetadata = 1 << 20

// ErrNoMetadata: none of the well-known addresses served metadata.
var ErrNoMetadata = errors.New("the issuer publishes no authorization server metadata")

// MetadataError is metadata sfmcp refuses to use, and why.
type MetadataError struct {
	URL    string
	Reason string
}

func (e *MetadataError) Error() string {
	return "the metadata at " + e.URL + " cannot be used: " + e.Reason
}

// Discover finds issuer's endpoints: the addresses the MCP authorization
// spec (2025-11-25) lists, in its order, then RFC 8414's document
// appended to the issuer's path, which Okta's custom authorization
// servers serve. The first document found decides; it must name issuer
// exactly, use https (or http to a loopback address), and offer PKCE with
// S256 unless the preset assumes it.
func Discover(ctx context.Context, hc *http.Client, issuer string, p Preset) (Metadata, error) {
	urls, err := metadataURLs(issuer)
	if err != nil {
		return Metadata{}, err
	}
	// A redirect could hand the choice of endpoints (recorded for every
	// later refresh) to another host: none is followed.
	hc = noRedirects(hc)
	var unusable error
	for _, u := range urls {
		m, found, err := fetch(ctx, hc, u)
		var me *MetadataError
		switch {
		case errors.As(err, &me):
			unusable = err // another address may serve usable metadata
			continue
		case err != nil:
			return Metadata{}, err
		case !found:
			continue
		}
		if err := m.check(u, issuer, p); err != nil {
			unusable = err
			continue
		}
		return m, nil
	}
	if unusable != nil {
		return Metadata{}, unusable
	}
	return Metadata{}, fmt.Errorf("%w (%s)", ErrNoMetadata, issuer)
}

// metadataURLs are the addresses to try for issuer, in order.
func metadataURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("issuer %q is not an https URL without query or fragment", issuer)
	}
	if err := secure(u); err != nil {
		return nil, fmt.Errorf("issuer %q: %w", issuer, err)
	}
	at := func(path string) string { return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: path}).String() }
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return []string{at("/.well-known/oauth-authorization-server"), at("/.well-known/openid-configuration")}, nil
	}
	return []string{
		at("/.well-known/oauth-authorization-server/" + p),
		at("/.well-known/openid-configuration/" + p),
		at("/" + p + "/.well-known/openid-configuration"),
		at("/" + p + "/.well-known/oauth-authorization-server"),
	}, nil
}

// fetch reads one metadata document; found is false for a 4xx answer (the
// next address is tried).
func fetch(ctx context.Context, hc *http.Client, u string) (m Metadata, found bool, err error) {
	found, err = getJSON(ctx, hc, "the issuer's metadata", u, &m)
	return m, found, err
}

// getJSON reads the JSON document at u (what it is, for errors) into v,
// at most 1 MiB; found is false for a 4xx answer.
func getJSON(ctx context.Context, hc *http.Client, what, u string, v any) (found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("read %s at %s: %w", what, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return false, &MetadataError{URL: u, Reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return false, fmt.Errorf("read %s at %s: %w", what, u, err)
	}
	if len(body) > maxMetadata {
		return false, &MetadataError{URL: u, Reason: "it is larger than 1 MiB"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, &MetadataError{URL: u, Reason: "it is not a JSON object of metadata"}
	}
	return true, nil
}

// check refuses metadata that names another issuer, sends the browser or
// the tokens anywhere but https (or loopback http), or offers no PKCE.
func (m Metadata) check(at, issuer string, p Preset) error {
	// RFC 8414 §3.3: identical, since the issuer is also what an
	// authorization response's iss must be (RFC 9207).
	if m.Issuer != issuer {
		return &MetadataError{URL: at, Reason: fmt.Sprintf("it names issuer %q, not %q", m.Issuer, issuer)}
	}
	for name, raw := range map[string]string{"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint} {
		u, err := url.Parse(raw)
		if err != nil || raw == "" || u.Host == "" {
			return &MetadataError{URL: at, Reason: name + " is missing or not a URL"}
		}
		if err := secure(u); err != nil {
			return &MetadataError{URL: at, Reason: name + ": " + err.Error()}
		}
	}
	if m.DeviceAuthorizationEndpoint != "" {
		if u, err := url.Parse(m.DeviceAuthorizationEndpoint); err != nil || u.Host == "" || secure(u) != nil {
			return &MetadataError{URL: at, Reason: "device_authorization_endpoint is not an https URL"}
		}
	}
	if !slices.Contains(m.CodeChallengeMethods, "S256") && !(p.AssumeS256 && len(m.CodeChallengeMethods) == 0) {
		return &MetadataError{URL: at, Reason: "it does not offer PKCE with S256 (code_challenge_methods_supported); set idp = \"entra\" only if the issuer is Microsoft Entra ID"}
	}
	return nil
}

// secure accepts https, and http to a loopback address only.
func secure(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && config.IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s is not https (plain http is for loopback addresses only)", u.Redacted())
}
