package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// ErrHostMismatch means a token was asked for a server URL that is not on
// the profile's own host: the token must not go there.
var ErrHostMismatch = errors.New("the server is not on the profile's host")

// HostMismatchError names both hosts, so the person reading it can tell a
// typo from a hostile project file.
type HostMismatchError struct {
	Profile     string // the profile named or selected ("" if none matched)
	ProfileHost string // that profile's host, or the default profile's
	ServerHost  string // the host the URL really names (after normalising)
	Reason      string // why the URL is refused, when not simply another host
}

func (e *HostMismatchError) Error() string {
	server := e.ServerHost
	if server == "" {
		server = "(none)"
	}
	var s string
	switch {
	case e.Profile == "":
		s = fmt.Sprintf("no profile serves the MCP server host %s", server)
		if e.ProfileHost != "" {
			s += fmt.Sprintf(" (the default profile's host is %s)", e.ProfileHost)
		}
	default:
		s = fmt.Sprintf("the MCP server host %s is not profile %s's host %s", server, e.Profile, e.ProfileHost)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s + "; no token was sent"
}

func (e *HostMismatchError) Unwrap() error { return ErrHostMismatch }

// Select picks the profile for a token request. Without a server URL it is
// the named profile, else the default. With one (Claude Code passes the MCP
// server URL to a headersHelper), the token may only go to that URL if it is
// https on the profile's own host: the named profile must serve it, or the
// profile is the one whose host it is. A URL no profile serves is refused;
// it never falls back to the default profile. Several profiles on one host
// (different roles) resolve to the default one if it is among them, else
// the first by name.
func (f *File) Select(name, serverURL string) (Profile, error) {
	if serverURL == "" {
		return f.Profile(name)
	}
	if name != "" {
		p, err := f.Profile(name)
		if err != nil {
			return Profile{}, err
		}
		return p, p.CheckServerURL(serverURL)
	}
	var match []Profile
	for _, n := range f.Names() {
		if p := f.Profiles[n]; p.CheckServerURL(serverURL) == nil && f.checkAllowed(p) == nil {
			match = append(match, p)
		}
	}
	for _, p := range match {
		if p.Name == f.DefaultProfile {
			return p, nil
		}
	}
	if len(match) > 0 {
		return match[0], nil
	}
	refusal := &HostMismatchError{}
	if host, _, err := serverOrigin(serverURL); err == nil {
		refusal.ServerHost = host
	} else {
		refusal.Reason = err.Error()
	}
	if def, err := f.Profile(""); err == nil {
		if ep, err := def.Endpoint(); err == nil {
			refusal.ProfileHost = ep.Host
		}
	}
	return Profile{}, refusal
}

// CheckServerURL allows a token of p to go to raw only if raw is https on
// the profile's own host (or one of its extra_hosts), or the profile's own
// loopback http endpoint. Case, a trailing dot, the default port and IDNA
// forms are normalised before comparing; user info is refused outright.
func (p Profile) CheckServerURL(raw string) error {
	ep, err := p.Endpoint()
	if err != nil {
		return fmt.Errorf("profile %s: %w", p.Name, err)
	}
	refusal := &HostMismatchError{Profile: p.Name, ProfileHost: ep.Host}
	host, scheme, err := serverOrigin(raw)
	if err != nil {
		refusal.Reason = err.Error()
		return refusal
	}
	refusal.ServerHost = host
	if scheme != ep.Scheme {
		refusal.Reason = fmt.Sprintf("a token goes only over %s", ep.Scheme)
		return refusal
	}
	allowed := []string{canonicalHost(ep.Host, ep.Scheme)}
	for _, h := range p.ExtraHosts {
		if xep, err := ParseHost(h); err == nil && xep.Scheme == scheme {
			allowed = append(allowed, canonicalHost(xep.Host, scheme))
		}
	}
	if slices.Contains(allowed, host) {
		return nil
	}
	return refusal
}

// serverOrigin parses a server URL into its canonical host[:port] (the
// port only when not the scheme's default) and scheme, as an HTTP client
// would connect to it.
func serverOrigin(raw string) (host, scheme string, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", "", fmt.Errorf("%q is not an absolute URL", truncate(raw, 200))
	}
	if u.User != nil {
		return "", "", fmt.Errorf("a URL with user info (%s@…) is refused", truncate(u.User.Username(), 64))
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", "", fmt.Errorf("scheme %q is not https", truncate(scheme, 32))
	}
	return canonicalHost(u.Host, scheme), scheme, nil
}

// canonicalHost lower-cases, drops a trailing dot and the scheme's default
// port, and maps IDNA forms to ASCII the way Go's HTTP client does before
// it connects, so two spellings of one host compare equal.
func canonicalHost(hostport, scheme string) string {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ascii, err := idna.Lookup.ToASCII(host); err == nil {
		host = ascii
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return host
	}
	return host + ":" + port
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// SameHost reports whether two host[:port] values of https endpoints name
// the same server once normalised.
func SameHost(a, b string) bool {
	return canonicalHost(a, "https") == canonicalHost(b, "https")
}
