// Package netconf owns the network sfmcp reaches Snowflake over: the
// config's ca_file (pinned by a digest of its certificates) and
// https_proxy, the network recorded with each sign-in, and the HTTP clients
// built from them.
//
// Commands a person runs (login, doctor, pat, admin) use the config's
// ca_file and https_proxy, else the environment's proxy. A sign-in records
// the ca_file (path and digest) and https_proxy it was made with, and the
// daemon and the bridge use exactly those for that sign-in's tokens: both
// run with an environment an MCP client entry may set, which may also
// point them at another config, so neither a variable nor a config they
// read can route a token through a proxy of a project's choosing.
//
// It never prints and never speaks in flags: its errors name the setting
// (SettingError), and the caller says where to fix it.
package netconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// Network is how a sign-in reaches Snowflake, as recorded with it. It is
// comparable, so it keys one HTTP client per network.
type Network struct {
	CAFile       string // an absolute path to a PEM bundle trusted besides the system roots
	CAFileSHA256 string // CADigest of its certificates at sign-in; "" does not pin them
	HTTPSProxy   string
}

// EnvProxy says whether the environment's proxy applies where the config
// or the sign-in names none.
type EnvProxy bool

const (
	// WithEnvProxy: a process the user started (a command, the daemon; an
	// auto-started daemon has no proxy in its allow-listed environment).
	WithEnvProxy EnvProxy = true
	// NoEnvProxy: a process whose environment an MCP client entry sets
	// (the bridge).
	NoEnvProxy EnvProxy = false
)

// SettingError is a network setting that cannot be used. Setting names it
// as the config does ("ca_file" or "https_proxy"); Err says what is wrong,
// in words that name the setting.
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// Of is the network recorded with a stored sign-in.
func Of(cred keychain.Credential) Network {
	return Network{CAFile: cred.CAFile, CAFileSHA256: cred.CAFileSHA256, HTTPSProxy: cred.HTTPSProxy}
}

// FromConfig is the network the config names now, its ca_file pinned to
// the certificates the file holds.
func FromConfig(cfg *config.File) (Network, error) {
	n := Network{HTTPSProxy: cfg.HTTPSProxy}
	if cfg.CAFile == "" {
		return n, nil
	}
	pem, err := readCAFile(cfg.CAFile, "")
	if err != nil {
		return n, err
	}
	n.CAFile, n.CAFileSHA256 = cfg.CAFile, CADigest(pem)
	return n, nil
}

// Record stores n with a sign-in (cred).
func (n Network) Record(cred *keychain.Credential) {
	cred.NetworkRecorded = true
	cred.CAFile, cred.CAFileSHA256, cred.HTTPSProxy = n.CAFile, n.CAFileSHA256, n.HTTPSProxy
}

// Record stores the config's network with a sign-in (cred).
func Record(cfg *config.File, cred *keychain.Credential) error {
	n, err := FromConfig(cfg)
	if err != nil {
		return err
	}
	n.Record(cred)
	return nil
}

// Client is the client for the tokens of a sign-in made over n: its
// ca_file must still hold the certificates it held at sign-in (else
// ErrCAChanged). env lets the environment's proxy apply when n names none.
func (n Network) Client(env EnvProxy) (*http.Client, error) {
	var ca []byte
	if n.CAFile != "" {
		pem, err := readCAFile(n.CAFile, n.CAFileSHA256)
		if err != nil {
			return nil, err
		}
		ca = pem
	}
	return client(ca, n.HTTPSProxy, env)
}

// CommandClient is the client of a command a person runs: the config's
// ca_file and https_proxy, else (env) the environment's proxy.
func CommandClient(cfg *config.File, env EnvProxy) (*http.Client, error) {
	var ca []byte
	if cfg.CAFile != "" {
		pem, err := readCAFile(cfg.CAFile, "")
		if err != nil {
			return nil, err
		}
		ca = pem
	}
	if err := CheckProxy(cfg.HTTPSProxy); err != nil {
		return nil, err
	}
	return client(ca, cfg.HTTPSProxy, env)
}

// CheckProxy refuses an https_proxy that is not an http(s) URL.
func CheckProxy(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &SettingError{Setting: "https_proxy", Err: fmt.Errorf("https_proxy %q is not an http(s) URL", raw)}
	}
	return nil
}

func client(ca []byte, proxy string, env EnvProxy) (*http.Client, error) {
	t, err := newTransport(ca, proxy, env)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

// newTransport trusts the system roots plus ca, and uses proxy, else (when
// env) the environment's proxy, read now rather than through
// http.ProxyFromEnvironment, which caches the first environment it saw.
func newTransport(ca []byte, proxy string, env EnvProxy) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 20 * time.Second
	if len(ca) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(ca) {
			return nil, &SettingError{Setting: "ca_file", Err: errors.New("ca_file holds no PEM certificate")}
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	switch {
	case proxy != "":
		if err := CheckProxy(proxy); err != nil {
			return nil, err
		}
		u, _ := url.Parse(proxy)
		t.Proxy = http.ProxyURL(u)
	case env == WithEnvProxy:
		fromEnv := httpproxy.FromEnvironment().ProxyFunc()
		t.Proxy = func(r *http.Request) (*url.URL, error) { return fromEnv(r.URL) }
	default:
		t.Proxy = nil
	}
	return t, nil
}
