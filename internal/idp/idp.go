// Package idp owns what sfmcp knows of an identity provider that issues
// the tokens a Snowflake account accepts through External OAuth (Okta,
// Microsoft Entra ID, PingFederate, any OpenID/OAuth issuer): the presets
// that decide how to ask one for a token (scope strings, whether to send
// RFC 8707's resource, what to assume of PKCE when its metadata is
// silent), the discovery of an issuer's endpoints, and what an MCP server
// says of where it takes its tokens from (its Protected Resource Metadata,
// RFC 9728): Snowflake's own OAuth or an identity provider, found from the
// server's URL when a profile is set up, and after a 401 when the server's
// binding changed.
//
// It never holds a token or a secret, and reaches no URL but an issuer's
// well-known metadata and an MCP server's (an initialize without a token,
// then its metadata), over the client it is given, following no redirect
// of the server's.
package idp

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sfmcp/sfmcp/internal/config"
)

// Kinds of identity provider, as the --idp flag and the config's idp key
// name them; Snowflake's EXTERNAL_OAUTH_TYPE says OKTA, AZURE,
// PING_FEDERATE or CUSTOM.
const (
	Okta   = "okta"
	Entra  = "entra"
	Ping   = "ping"
	Custom = "custom"
)

// Kinds lists every kind, for validation and help.
var Kinds = []string{Okta, Entra, Ping, Custom}

// Preset is how sfmcp asks one kind of IdP for a Snowflake token.
type Preset struct {
	Kind string
	// SendsResource: the RFC 8707 resource parameter goes with the
	// authorization and token requests when the profile names an
	// audience. Entra v2 refuses it (AADSTS9010010): its audience is in
	// the scope strings instead.
	SendsResource bool
	// AssumeS256: PKCE with S256 is used even when the metadata does not
	// list code_challenge_methods_supported (Entra omits it though it
	// supports S256). Otherwise a server that does not list S256 is
	// refused, as the MCP authorization spec requires.
	AssumeS256 bool
}

// PresetOf returns the preset of kind ("" = the kind the issuer's host
// says, else custom).
func PresetOf(kind, issuer string) (Preset, error) {
	if kind == "" {
		kind = KindOf(issuer)
	}
	switch kind {
	case Entra:
		return Preset{Kind: Entra, AssumeS256: true}, nil
	case Okta, Ping, Custom:
		return Preset{Kind: kind, SendsResource: true}, nil
	}
	return Preset{}, fmt.Errorf("identity provider %q: use one of %s", kind, strings.Join(Kinds, ", "))
}

// KindOf guesses the kind of IdP from its issuer's host.
func KindOf(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return Custom
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "login.microsoftonline.com" || host == "sts.windows.net" || strings.HasSuffix(host, ".ciamlogin.com"):
		return Entra
	case hasSuffix(host, "okta.com", "oktapreview.com", "okta-emea.com"):
		return Okta
	case hasSuffix(host, "pingidentity.com", "pingone.com", "pingone.eu", "pingone.asia", "pingone.ca"):
		return Ping
	}
	return Custom
}

func hasSuffix(host string, domains ...string) bool {
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// Scopes are the scopes to request for role: Snowflake's role scope in
// the IdP's form, offline_access (so the IdP issues a refresh token),
// then extra. For Entra the role scope is the resource application's
// delegated scope, prefixed with its Application ID URI (audience):
// api://<app>/session:scope:ROLE. Without a role, the user's default role
// applies (session:role-any), which the integration must allow
// (EXTERNAL_OAUTH_ANY_ROLE_MODE).
func (p Preset) Scopes(role, audience string, extra []string) []string {
	var scopes []string
	switch {
	case p.Kind == Entra && role != "":
		scopes = append(scopes, strings.TrimSuffix(audience, "/")+"/session:scope:"+role)
	case p.Kind == Entra:
		scopes = append(scopes, strings.TrimSuffix(audience, "/")+"/session:role-any")
	case role != "":
		scopes = append(scopes, "session:role:"+role)
	default:
		scopes = append(scopes, "session:role-any")
	}
	scopes = append(scopes, "offline_access")
	for _, s := range extra {
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// Check says what the preset needs that audience does not give: Entra's
// scopes are its resource application's, named by the Application ID URI.
func (p Preset) Check(audience string) error {
	if p.Kind == Entra && audience == "" {
		return errors.New("an Entra ID issuer needs the resource application's Application ID URI as the audience (e.g. api://<app id>)")
	}
	return nil
}

// Resource is the RFC 8707 resource to send for audience ("" = none).
func (p Preset) Resource(audience string) string {
	if !p.SendsResource {
		return ""
	}
	return audience
}

// ProfilePreset is the preset of p's identity provider, checked against
// what p gives it: the one place a profile's kind and needs are judged.
func ProfilePreset(p config.Profile) (Preset, error) {
	preset, err := PresetOf(p.IdP, p.Issuer)
	if err == nil {
		err = preset.Check(p.Audience)
	}
	return preset, err
}
