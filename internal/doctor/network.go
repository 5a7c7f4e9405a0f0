package doctor

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
)

// The checks of the way to the account: its host name, TLS to it (with
// the config's ca_file) and the clock against its Date header.

func (r *runner) checkHost() {
	// No underscore to check for: config.Profile.Endpoint hyphenates the
	// account and refuses a host override with one.
	host := r.ep.Hostname()
	if !config.IsLoopback(host) {
		_, err := r.o.LookupHost(r.ctx, host)
		detail := host
		if err != nil {
			// The resolver's error names the host and a DNS server:
			// nothing to act on that the words do not say.
			detail, r.skip = host+": "+hostUnresolved, hostUnresolved
		}
		if !r.add(Check{Name: "host resolves", OK: err == nil, Detail: detail,
			Advice: "check the account identifier (SELECT CURRENT_ORGANIZATION_NAME(), CURRENT_ACCOUNT_NAME()) and your DNS/VPN"}) {
			r.skipped("TLS certificate verifies")
			return
		}
	}
	if r.ep.Scheme != "https" {
		r.add(Check{Name: "TLS", OK: true, Detail: "plain http to a loopback address"})
		return
	}
	tlsConfig := &tls.Config{ServerName: host}
	if t, ok := r.httpClient().Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		tlsConfig.RootCAs = t.TLSClientConfig.RootCAs // the config's ca_file
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tlsConfig}
	addr := r.ep.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "443")
	}
	conn, err := dialer.DialContext(r.ctx, "tcp", addr)
	if err == nil {
		conn.Close()
	}
	r.add(Check{Name: "TLS certificate verifies", OK: err == nil, Detail: addr,
		Advice: "a proxy may be intercepting TLS: set ca_file in the config to its CA bundle (" + errString(err) + ")"})
}

// hostUnresolved is what a failed lookup of the account host means.
const hostUnresolved = "the host does not resolve"

// skipped records check name as skipped, and says so, when an earlier
// check failed in a way that makes it fail too: it says why once, rather
// than failing again with the same cause in other words.
func (r *runner) skipped(name string) bool {
	if r.skip == "" {
		return false
	}
	r.add(Check{Name: name, Detail: "skipped: " + r.skip})
	return true
}

// httpClient is the client of Snowflake connections the config check
// prepared.
func (r *runner) httpClient() *http.Client {
	if r.hc != nil {
		return r.hc
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// checkClock compares the machine's clock with the server's Date header;
// sfmcp itself relies on expires_in, but Snowflake's JWTs and logs do not.
func (r *runner) checkClock() {
	const name = "clock in sync with Snowflake"
	if r.skipped(name) {
		return
	}
	req, _ := http.NewRequestWithContext(r.ctx, http.MethodGet, r.ep.URL()+"/", nil)
	resp, err := r.httpClient().Do(req)
	if err != nil {
		r.add(Check{Name: name, Detail: err.Error(), Advice: "check the network"})
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	server, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		r.add(Check{Name: name, Detail: "no Date header"})
		return
	}
	skew := r.o.Now().Sub(server).Round(time.Second)
	r.add(Check{Name: name, OK: skew < time.Minute && skew > -time.Minute, Detail: "skew " + skew.String(),
		Advice: "sync the clock (timedatectl set-ntp true / sntp); tokens are timed by expires_in, but a skewed clock confuses logs and key-pair JWTs"})
}
