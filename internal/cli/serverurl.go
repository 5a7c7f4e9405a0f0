package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/onboard"
	"github.com/sfmcp/sfmcp/internal/shellword"
)

// What `profile add --url` and `setup --url` share: the MCP server found
// from its URL (internal/idp reads its metadata), the question before a
// sign-in at an identity provider the user did not name, and the words
// for a refusal.

// discoverServer reads where the MCP server at raw is and where it takes
// its tokens from, over the command's network.
func discoverServer(ctx context.Context, e *Env, raw string) (*onboard.FromURL, error) {
	a, err := config.ParseMCPServerURL(raw)
	if err != nil {
		return nil, usagef("give the URL your administrator gave you, as MCP clients use it", "--url: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := idp.DiscoverResource(ctx, e.snowflakeHTTP(), a.URL)
	var bad *idp.MetadataError
	switch {
	case errors.As(err, &bad), errors.Is(err, idp.ErrNoResourceMetadata):
		return nil, usagef("check the URL with your administrator; or give the account instead (--account, and --issuer for an identity provider)", "%v", err)
	case err != nil:
		return nil, withAdvice(err, exitcode.Unavailable, "check the network connection and the URL's host; behind a proxy, set https_proxy in the config")
	}
	return &onboard.FromURL{Address: a, Resource: r}, nil
}

// trustQuestion is what the user is asked before signing in at issuer.
func trustQuestion(issuer string) string {
	return fmt.Sprintf("The MCP server sends the sign-in to %s (%s). Sign in there only if it is your organisation's identity provider. Continue? [y/N]",
		onboard.IssuerHost(issuer), issuer)
}

// issuerRefusal words a sign-in at an identity provider refused before
// anything changed (ok is false for any other error).
func issuerRefusal(err error) (hint string, ok bool) {
	var untrusted *onboard.UntrustedIssuerError
	switch {
	case errors.As(err, &untrusted):
		return fmt.Sprintf("if %s is your organisation's identity provider, name it yourself: --issuer %s (or run this on a terminal and answer y); an administrator can allow it for everyone with allowed_issuers in the system file",
			onboard.IssuerHost(untrusted.Issuer), shellword.Quote(untrusted.Issuer)), true
	case errors.Is(err, config.ErrIssuerNotAllowed):
		return "your organisation allows only the identity providers its system file lists; ask your administrator whether this MCP server is one of yours", true
	}
	return "", false
}

// terminalQuestion asks on the command's terminal; without one it is nil
// (nobody to ask).
func terminalQuestion(e *Env) func(ctx context.Context, prompt string) (string, error) {
	f, ok := terminalStdin(e)
	if !ok {
		return nil
	}
	lines := newLineReader(f)
	return func(ctx context.Context, prompt string) (string, error) {
		fmt.Fprintf(e.Stderr, "%s: ", prompt)
		line, err := lines.next(ctx)
		return line, err
	}
}

// trustURLHost asks before a profile from a URL signs in at a host outside
// Snowflake's domains (a look-alike in a cloned repository's URL would get
// the user's Snowflake password): a yes on a terminal, else refused.
func trustURLHost(ctx context.Context, e *Env, ep config.Endpoint) error {
	if ep.SnowflakeHost() || config.IsLoopback(ep.Hostname()) {
		return nil
	}
	if ask := terminalQuestion(e); ask != nil {
		answer, err := ask(ctx, fmt.Sprintf("The sign-in will go to %s, which is not a Snowflake host (*.snowflakecomputing.com). Continue? [y/N]", ep.Host))
		if err != nil || yes(strings.TrimSpace(answer)) {
			return err
		}
	}
	return usagef("if "+ep.Host+" really is your Snowflake account (e.g. its PrivateLink name), run this on a terminal and answer y, or give it yourself: --host "+ep.Host,
		"profile add: %s is not a Snowflake host; nothing was changed", ep.Host)
}
