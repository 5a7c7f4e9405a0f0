package signin

import (
	"fmt"
	"net/url"

	"github.com/sfmcp/sfmcp/internal/config"
)

// Instructions say, one line each, how to reach the sign-in page: the
// loopback start page startURL, which sends the browser on to p's
// authorization server (Snowflake, or its identity provider) at authURL. With the browser elsewhere (remote: over SSH), they also say
// how to sign in from another machine: forward the loopback port and open
// startURL, or open authURL there and paste back the address the browser
// lands on (Flow.Paste). authURL carries the sign-in's state, so it is
// shown only then.
func Instructions(p config.Profile, startURL, authURL string, remote bool) []string {
	at := "to Snowflake"
	if p.IsIdP() {
		at = "at " + issuerHost(p.Issuer) + " (your organisation's identity provider)"
	}
	if !remote {
		return []string{"Opening the browser to sign in " + at + ". If it does not open, visit:", startURL}
	}
	lines := []string{"Open this URL in a browser on this machine to sign in " + at + ":", startURL}
	u, err := url.Parse(startURL)
	if err != nil || u.Port() == "" {
		return lines
	}
	return append(lines,
		fmt.Sprintf("From another machine, either forward the port first (ssh -L %s:127.0.0.1:%s <this host>) and open the URL above, or open this URL there:", u.Port(), u.Port()),
		authURL,
		fmt.Sprintf("then copy the address your browser shows when it cannot load %s after the sign-in, and paste it here:", u.Host))
}
