package adminsetup

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/snowflake"
)

// IdP is the identity provider an External OAuth integration trusts:
// users sign in there, and Snowflake takes its tokens for the account and
// nothing else on the MCP servers bound to it.
type IdP struct {
	Kind   string // idp.Okta, idp.Entra, idp.Ping or idp.Custom; "" = the kind the issuer's host says
	Issuer string // the tokens' iss, exactly
	// Audiences are the token audiences the integration accepts; the
	// first goes into users' profiles (Okta: the account's URL; Entra ID:
	// the resource application's Application ID URI).
	Audiences []string
	// JWKSURL, UserClaim and UserAttribute default for Okta and Entra ID
	// (after Snowflake's guide for each) and are required for others.
	JWKSURL, UserClaim, UserAttribute string
	Bind                              string // snowflake.BindAccount, BindDatabase or BindSchema (default)
	// AnyRole: tokens ask for no role (session:role-any) and work as the
	// user's default role; otherwise they name the MCP role.
	AnyRole bool
	// ClientID is the client the IdP's administrator registered for sfmcp
	// (public, PKCE); "" puts PlaceholderIdPClientID in the handouts.
	ClientID string
}

// PlaceholderIdPClientID stands in the handouts for the client id only
// the identity provider's administrator can tell.
const PlaceholderIdPClientID = "<IDP_CLIENT_ID>"

// externalType is Snowflake's EXTERNAL_OAUTH_TYPE for each kind.
var externalType = map[string]string{idp.Okta: snowflake.ExternalOkta, idp.Entra: snowflake.ExternalAzure,
	idp.Ping: snowflake.ExternalPing, idp.Custom: snowflake.ExternalCustom}

// guidAppIDURI is Entra ID's default Application ID URI, api://<client id>:
// its v2 tokens carry the client id as their audience.
var guidAppIDURI = regexp.MustCompile(`^api://([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?$`)

// resolve fills in the kind's defaults and checks what the integration
// and users' profiles need. An invalid field is a *snowflake.FieldError.
func (d IdP) resolve() (IdP, error) {
	if d.Issuer == "" {
		return d, &snowflake.FieldError{Field: "issuer", Err: errors.New("the identity provider's issuer is required")}
	}
	if d.Kind = strings.ToLower(d.Kind); d.Kind == "" {
		d.Kind = idp.KindOf(d.Issuer)
	}
	preset, err := idp.PresetOf(d.Kind, d.Issuer)
	if err != nil {
		return d, &snowflake.FieldError{Field: "idp", Err: err}
	}
	if len(d.Audiences) == 0 || d.Audiences[0] == "" {
		return d, &snowflake.FieldError{Field: "audience", Err: errors.New("the token audience is required (Okta: the account's URL; Entra ID: the Application ID URI)")}
	}
	if err := preset.Check(d.Audiences[0]); err != nil {
		return d, &snowflake.FieldError{Field: "audience", Err: err}
	}
	if err := d.defaults(); err != nil {
		return d, err
	}
	if d.ClientID != "" && (len(d.ClientID) > 256 || strings.ContainsFunc(d.ClientID, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
		return d, &snowflake.FieldError{Field: "client_id", Err: fmt.Errorf("%.40q is not a client id", d.ClientID)}
	}
	return d, nil
}

// defaults fills in the keys URL, the user claim and the attribute for
// Okta and Entra ID, and says which of them others must give.
func (d *IdP) defaults() error {
	d.UserAttribute = strings.ToUpper(d.UserAttribute)
	switch d.Kind {
	case idp.Okta:
		if !strings.HasPrefix(mustPath(d.Issuer), "/oauth2/") {
			return &snowflake.FieldError{Field: "issuer", Err: fmt.Errorf("%q: use an Okta custom authorization server's issuer, https://<org>.okta.com/oauth2/<id> (the org authorization server issues no tokens for Snowflake)", d.Issuer)}
		}
		setDefault(&d.JWKSURL, strings.TrimSuffix(d.Issuer, "/")+"/v1/keys")
		setDefault(&d.UserClaim, "sub")
		setDefault(&d.UserAttribute, snowflake.AttributeLoginName)
	case idp.Entra:
		setDefault(&d.JWKSURL, entraKeys(d.Issuer))
		setDefault(&d.UserClaim, "upn")
		setDefault(&d.UserAttribute, snowflake.AttributeLoginName)
		if m := guidAppIDURI.FindStringSubmatch(d.Audiences[0]); m != nil && !slices.Contains(d.Audiences, m[1]) {
			d.Audiences = append(slices.Clone(d.Audiences), m[1])
		}
	}
	for _, f := range []struct{ field, value, what string }{
		{"jwks_url", d.JWKSURL, "the URL of its signing keys (jwks_uri in <issuer>/.well-known/openid-configuration)"},
		{"user_claim", d.UserClaim, "the token claim that holds the user (e.g. sub, upn or email)"},
		{"user_attribute", d.UserAttribute, "the Snowflake user attribute that claim matches (LOGIN_NAME or EMAIL_ADDRESS)"},
	} {
		if f.value == "" {
			return &snowflake.FieldError{Field: f.field, Err: fmt.Errorf("a %s identity provider needs %s", d.Kind, f.what)}
		}
	}
	return nil
}

func setDefault(v *string, def string) {
	if *v == "" {
		*v = def
	}
}

func mustPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

// entraKeys is the keys URL of the Entra ID tenant an issuer names
// (https://login.microsoftonline.com/<tenant>/v2.0 or
// https://sts.windows.net/<tenant>/), "" for another issuer.
func entraKeys(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	if host := strings.ToLower(u.Hostname()); host != "login.microsoftonline.com" && host != "sts.windows.net" {
		return ""
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if tenant == "" {
		return ""
	}
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/discovery/v2.0/keys"
}

// external is the integration for d, with the scopes users of role (as
// Snowflake stores it) request.
func (d IdP) external(role string) (*snowflake.ExternalOAuth, []string, error) {
	if d.AnyRole {
		role = ""
	} else if strings.ContainsFunc(role, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`,"\`, r) }) {
		return nil, nil, &snowflake.FieldError{Field: "role", Err: fmt.Errorf("%q cannot be named in an OAuth scope (session:role:<role>): use a role without spaces, commas, quotes or backslashes", role)}
	}
	preset, _ := idp.PresetOf(d.Kind, d.Issuer) // checked by resolve
	scopes := preset.Scopes(role, d.Audiences[0], nil)
	return &snowflake.ExternalOAuth{Type: externalType[d.Kind], Issuer: d.Issuer, JWKSURL: d.JWKSURL, Audiences: d.Audiences,
		UserClaim: d.UserClaim, UserAttribute: d.UserAttribute, AnyRole: d.AnyRole, Bind: d.Bind, Scopes: scopes}, scopes, nil
}

// guide is the page of sfmcp's documentation for the IdP's administrator.
func (d IdP) guide() string {
	switch d.Kind {
	case idp.Okta, idp.Entra:
		return "docs/idp-" + d.Kind + ".md"
	}
	return "docs/idp-custom.md"
}

// header is what the printed script says first: who signs users in, what
// the IdP's administrator registers, and what Snowflake does not document
// yet. Every value in it was checked to hold no line break.
func (p *Plan) header() string {
	d := p.IdP
	lines := []string{
		fmt.Sprintf("Users sign in at %s (%s); Snowflake takes its tokens through External OAuth.", d.Issuer, d.Kind),
		"At the identity provider, register for sfmcp (" + d.guide() + " in sfmcp's documentation): a native app, public client with PKCE (S256);",
		fmt.Sprintf("the redirect URI %s; the authorization code and refresh token grants;", p.Setup.RedirectURI),
		fmt.Sprintf("the scopes %s; tokens whose audience is %s.", strings.Join(p.Scopes, " "), strings.Join(p.Setup.External.Audiences, " or ")),
		"[UNVERIFIED] the form of OAUTH_AUTHORIZATION_SERVER's and OAUTH_SCOPES_SUPPORTED's values: see the notes above",
		"the ALTER statements, and the check at the end.",
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("-- " + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}
