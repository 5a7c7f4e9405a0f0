package signin

import (
	"fmt"
	"net/url"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/oauth"
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
	if u, err := url.Parse(startURL); err == nil && u.Port() != "" {
		lines = append(lines,
			fmt.Sprintf("From another machine, either forward the port first (ssh -L %s:127.0.0.1:%s <this host>) and open the URL above, or open this URL there:", u.Port(), u.Port()),
			authURL,
			fmt.Sprintf("then copy the address your browser shows when it cannot load %s after the sign-in, and paste it here:", u.Host))
	}
	if p.IsIdP() {
		lines = append(lines, "Or sign in with a code on another device, if your identity provider offers it: sfmcp-token login --profile "+p.Name+" --device")
	}
	return lines
}

// CodeInstructions say where to sign in with a device code and which code
// to enter (the device code the client polls with is never shown).
func CodeInstructions(p config.Profile, c oauth.DeviceCode) []string {
	// The address and the code come from the provider: shown only as text.
	lines := []string{fmt.Sprintf("To sign in at %s, open %s on any device and enter the code %s", issuerHost(p.Issuer),
		mcpclients.Printable(c.VerificationURI), mcpclients.Printable(c.UserCode))}
	if c.VerificationURIComplete != "" {
		lines = append(lines, "or open this address, which carries the code: "+mcpclients.Printable(c.VerificationURIComplete))
	}
	return append(lines, "Waiting for the sign-in…")
}
