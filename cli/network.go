package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/sfmcp/sfmcp/config"
)

// configureHTTP sets e.HTTPClient, the client every Snowflake connection of
// this command uses, from the config: the system roots plus ca_file, and
// https_proxy (else the environment's proxy, where the environment is the
// user's own). Tests set e.HTTPClient themselves.
func configureHTTP(e *Env, cfg *config.File) error {
	if e.HTTPClient != nil {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 20 * time.Second
	if cfg.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return usagef("fix ca_file in "+cfg.Path, "ca_file: %v", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return usagef("fix ca_file in "+cfg.Path, "ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	switch {
	case cfg.HTTPSProxy != "":
		u, err := url.Parse(cfg.HTTPSProxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("e.g. https_proxy = \"http://proxy.example.com:3128\"", "https_proxy %q in %s is not an http(s) URL", cfg.HTTPSProxy, cfg.Path)
		}
		t.Proxy = http.ProxyURL(u)
	case e.networkFromConfigOnly:
		t.Proxy = nil
	default:
		// Read now, not through http.ProxyFromEnvironment, which caches
		// the environment of whenever it was first called.
		proxy := httpproxy.FromEnvironment().ProxyFunc()
		t.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	}
	e.HTTPClient = &http.Client{Transport: t, Timeout: 30 * time.Second}
	return nil
}

// networkEnv names the variables that steer Snowflake connections from
// outside the config: proxies and extra TLS roots.
var networkEnv = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// dropNetworkEnv removes networkEnv from this process before any
// connection is made (Go reads both lazily, once). The bridge runs with an
// environment an MCP client entry sets, and a proxy plus a CA of a
// project's choosing would see every token it sends.
func dropNetworkEnv() error {
	for _, k := range networkEnv {
		if err := os.Unsetenv(k); err != nil {
			return fmt.Errorf("unset %s: %w", k, err)
		}
	}
	return nil
}
