package cli

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	encpem "encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// Network settings for Snowflake connections.
//
// Commands a person runs (login, doctor, pat, admin) use the config's
// ca_file and https_proxy, else the environment's proxy. A sign-in records
// the ca_file (path and digest) and https_proxy it was made with, and the
// daemon and the bridge use exactly those for that sign-in's tokens: both
// run with an environment an MCP client entry may set, which may also
// point them at another config, so neither a variable nor a config they
// read can route a token through a proxy of a project's choosing.

// configureHTTP prepares the client of a command a person runs.
func configureHTTP(e *Env, cfg *config.File) error {
	if e.HTTPClient != nil || e.userHTTP != nil {
		return nil
	}
	var ca []byte
	if cfg.CAFile != "" {
		pem, err := readCAFile(cfg.CAFile, "")
		if err != nil {
			return usagef("fix ca_file in "+cfg.Path, "%v", err)
		}
		ca = pem
	}
	if err := checkProxy(cfg.HTTPSProxy); err != nil {
		return usagef("e.g. https_proxy = \"http://proxy.example.com:3128\"", "%v in %s", err, cfg.Path)
	}
	t, err := newTransport(ca, cfg.HTTPSProxy, !e.networkFromConfigOnly)
	if err != nil {
		return usagef("fix ca_file in "+cfg.Path, "%v", err)
	}
	e.userHTTP = &http.Client{Transport: t, Timeout: 30 * time.Second}
	return nil
}

// snowflakeHTTP is the client for a command's Snowflake connections.
func (e *Env) snowflakeHTTP() *http.Client {
	if e.HTTPClient != nil {
		return e.HTTPClient
	}
	return e.userHTTP
}

// recordNetwork stores the config's network settings with a sign-in.
func recordNetwork(cfg *config.File, cred *keychain.Credential) error {
	cred.NetworkRecorded = true
	cred.CAFile, cred.CAFileSHA256, cred.HTTPSProxy = "", "", cfg.HTTPSProxy
	if cfg.CAFile == "" {
		return nil
	}
	pem, err := readCAFile(cfg.CAFile, "")
	if err != nil {
		return usagef("fix ca_file in "+cfg.Path, "%v", err)
	}
	cred.CAFile, cred.CAFileSHA256 = cfg.CAFile, caDigest(pem)
	return nil
}

// errCAChanged: the ca_file holds other certificates than at sign-in.
var errCAChanged = errors.New("ca_file holds other certificates than when this profile signed in")

// caDigest identifies the set of certificates in a PEM bundle, whatever
// their order and whatever comments surround them.
func caDigest(pem []byte) string {
	var sums []string
	for rest := pem; ; {
		var block *encpem.Block
		block, rest = encpem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			s := sha256.Sum256(block.Bytes)
			sums = append(sums, hex.EncodeToString(s[:]))
		}
	}
	sort.Strings(sums)
	all := sha256.Sum256([]byte(strings.Join(sums, "\n")))
	return hex.EncodeToString(all[:])
}

// signInHTTP is the client for a stored sign-in's tokens: the network
// recorded with it. envProxy lets the environment's proxy apply when the
// sign-in recorded none (a daemon the user started; never the bridge).
func signInHTTP(cred keychain.Credential, envProxy bool) (*http.Client, error) {
	var ca []byte
	if cred.CAFile != "" {
		pem, err := readCAFile(cred.CAFile, cred.CAFileSHA256)
		if err != nil {
			return nil, err
		}
		ca = pem
	}
	t, err := newTransport(ca, cred.HTTPSProxy, envProxy)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

// maxCAFile bounds a CA bundle (a system bundle is about 200 KiB).
const maxCAFile = 8 << 20

// readCAFile reads a CA bundle, which must be an absolute path (a relative
// one would resolve in a project's directory) and, when sum is given, still
// hold what it held at sign-in.
func readCAFile(path, sum string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("ca_file %q must be an absolute path", path)
	}
	pem, err := atomicfile.ReadFile(path, maxCAFile, true)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	if sum != "" && caDigest(pem) != sum {
		return nil, fmt.Errorf("%w (%s); sign in again to trust the new ones", errCAChanged, path)
	}
	return pem, nil
}

func checkProxy(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("https_proxy %q is not an http(s) URL", raw)
	}
	return nil
}

// newTransport trusts the system roots plus ca, and uses proxy, else (when
// envProxy) the environment's proxy, read now rather than through
// http.ProxyFromEnvironment, which caches the first environment it saw.
func newTransport(ca []byte, proxy string, envProxy bool) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 20 * time.Second
	if len(ca) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("ca_file holds no PEM certificate")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	switch {
	case proxy != "":
		if err := checkProxy(proxy); err != nil {
			return nil, err
		}
		u, _ := url.Parse(proxy)
		t.Proxy = http.ProxyURL(u)
	case envProxy:
		fromEnv := httpproxy.FromEnvironment().ProxyFunc()
		t.Proxy = func(r *http.Request) (*url.URL, error) { return fromEnv(r.URL) }
	default:
		t.Proxy = nil
	}
	return t, nil
}

// networkEnv names the variables that steer Snowflake connections from
// outside the config: proxies and extra TLS roots.
var networkEnv = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// dropNetworkEnv removes networkEnv from this process before any
// connection is made (Go reads SSL_CERT_FILE lazily, once). The bridge
// runs with an environment an MCP client entry sets.
func dropNetworkEnv() error {
	for _, k := range networkEnv {
		if err := os.Unsetenv(k); err != nil {
			return fmt.Errorf("unset %s: %w", k, err)
		}
	}
	return nil
}

// legacyNetwork annotates certificate and proxy failures of a sign-in made
// before sfmcp recorded network settings: the cure is a new sign-in.
type legacyNetwork struct {
	rt     http.RoundTripper
	advice string
}

func (l legacyNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	return resp, explainLegacyNetwork(err, l.advice)
}

func explainLegacyNetwork(err error, advice string) error {
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if err != nil && (errors.As(err, &unknown) || errors.As(err, &verify)) {
		return fmt.Errorf("%w (this sign-in was made before sfmcp recorded ca_file and https_proxy with it; if you use either, %s)", err, advice)
	}
	return err
}
