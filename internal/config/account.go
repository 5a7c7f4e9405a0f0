package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Snowflake's public domains. Hosts under them are accepted as given; anything
// else is an account identifier that gets the default domain appended.
var snowflakeDomains = []string{".snowflakecomputing.com", ".snowflakecomputing.cn"}

const defaultDomain = ".snowflakecomputing.com"

// Endpoint is where a profile's Snowflake account answers: a scheme and a
// host[:port]. Only loopback hosts may use plain http.
type Endpoint struct {
	Scheme string // "https", or "http" for loopback only
	Host   string // host or host:port, lower case
}

// URL returns the base URL, e.g. https://myorg-acct.snowflakecomputing.com.
func (e Endpoint) URL() string { return e.Scheme + "://" + e.Host }

// SnowflakeHost reports whether the host is under one of Snowflake's
// public domains (privatelink names included).
func (e Endpoint) SnowflakeHost() bool {
	h := strings.ToLower(e.Hostname())
	for _, d := range snowflakeDomains {
		if strings.HasSuffix(h, d) {
			return true
		}
	}
	return false
}

// Hostname returns the host without a port.
func (e Endpoint) Hostname() string {
	if h, _, err := net.SplitHostPort(e.Host); err == nil {
		return h
	}
	return e.Host
}

// NormalizeAccount turns any of the forms Snowflake documents for an account
// into an endpoint:
//
//	myorg-myaccount, myorg_myaccount, myorg.my_account (SQL form)
//	xy12345, xy12345.us-east-2.aws, xy12345.fhplus.us-gov-west-1.aws
//	myorg-myaccount.privatelink, xy12345.eu-west-1.privatelink
//	https://myorg-myaccount.snowflakecomputing.com/ (any URL or bare host)
//
// Underscores in the account label become hyphens because Snowflake's MCP
// endpoints misbehave with underscores in the host name.
func NormalizeAccount(account string) (Endpoint, error) {
	s := strings.TrimSpace(account)
	if s == "" {
		return Endpoint{}, fmt.Errorf("account is empty: give it as orgname-accountname (see SELECT CURRENT_ORGANIZATION_NAME(), CURRENT_ACCOUNT_NAME())")
	}
	if strings.Contains(s, "://") {
		return ParseHost(s)
	}
	s = strings.ToLower(strings.TrimSuffix(s, "/"))
	if strings.ContainsAny(s, ":/") {
		// host:port without a scheme
		return ParseHost(s)
	}
	for _, d := range snowflakeDomains {
		if strings.HasSuffix(s, d) {
			return checkedEndpoint("https", hyphenateFirstLabel(s), account)
		}
	}
	labels := strings.Split(s, ".")
	if len(labels) == 2 && !strings.Contains(labels[1], "-") && labels[1] != "privatelink" && !isCloud(labels[1]) {
		// orgname.account_name: the SQL / data-sharing form.
		s = labels[0] + "-" + labels[1]
	}
	return checkedEndpoint("https", hyphenateFirstLabel(s)+defaultDomain, account)
}

// ParseHost accepts a host[:port] or a URL (https, or http to a loopback
// address) and returns the endpoint. It is used for the host override and
// for accounts given as URLs.
func ParseHost(raw string) (Endpoint, error) {
	s := strings.TrimSpace(raw)
	scheme := "https"
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		u, err := url.Parse(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%q is not a valid URL: %v", raw, err)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return Endpoint{}, fmt.Errorf("%q: give only the scheme and host, e.g. https://myorg-myaccount.snowflakecomputing.com", raw)
		}
		s = u.Host
	}
	s = strings.ToLower(strings.TrimSuffix(s, "/"))
	switch scheme {
	case "https":
		s = strings.TrimSuffix(s, ":443")
	case "http":
	default:
		return Endpoint{}, fmt.Errorf("%q: scheme %q is not supported; use https", raw, scheme)
	}
	ep, err := checkedEndpoint(scheme, s, raw)
	if err != nil {
		return Endpoint{}, err
	}
	if ep.Scheme == "http" && !IsLoopback(ep.Hostname()) {
		return Endpoint{}, fmt.Errorf("%q: plain http is allowed only for loopback addresses (127.0.0.0/8, ::1); use https", raw)
	}
	return ep, nil
}

// IsLoopback reports whether host (no port) is a loopback IP literal.
// Names such as "localhost" are not trusted: they resolve through DNS and
// /etc/hosts, which is exactly what https is there to protect against.
func IsLoopback(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func checkedEndpoint(scheme, hostport, original string) (Endpoint, error) {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
		if port == "" {
			return Endpoint{}, fmt.Errorf("%q: the port after ':' is empty", original)
		}
	}
	if strings.HasPrefix(hostport, "[") && net.ParseIP(strings.Trim(host, "[]")) == nil {
		return Endpoint{}, fmt.Errorf("%q: only IPv6 addresses go in brackets", original)
	}
	if port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return Endpoint{}, fmt.Errorf("%q: port %q is not valid", original, port)
		}
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.To4() == nil && port == "" {
		// A bare IPv6 literal: bracket it so it can stand in a URL.
		hostport = "[" + strings.Trim(host, "[]") + "]"
	}
	if IsLoopback(host) {
		return Endpoint{Scheme: scheme, Host: hostport}, nil
	}
	if len(host) > 253 {
		return Endpoint{}, fmt.Errorf("%q: host name is too long", original)
	}
	for _, label := range strings.Split(host, ".") {
		if !validLabel(label) {
			return Endpoint{}, fmt.Errorf("%q is not a valid Snowflake account or host: %q must be 1-63 letters, digits or hyphens", original, label)
		}
	}
	return Endpoint{Scheme: scheme, Host: hostport}, nil
}

func parsePort(p string) (int, error) {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, fmt.Errorf("out of range")
		}
	}
	return n, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func hyphenateFirstLabel(host string) string {
	first, rest, _ := strings.Cut(host, ".")
	first = strings.ReplaceAll(first, "_", "-")
	if rest == "" {
		return first
	}
	return first + "." + rest
}

func isCloud(s string) bool { return s == "aws" || s == "gcp" || s == "azure" }
