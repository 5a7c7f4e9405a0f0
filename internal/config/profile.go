package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// LocalApplication is the client id of Snowflake's built-in public client,
// SNOWFLAKE$LOCAL_APPLICATION, used when a profile names no client.
const LocalApplication = "LOCAL_APPLICATION"

// Client types as Snowflake names them in OAUTH_CLIENT_TYPE.
const (
	ClientPublic       = "public"
	ClientConfidential = "confidential"
)

// Authentication kinds of a profile.
const (
	AuthOAuth = "oauth"
	AuthPAT   = "pat"
)

// Token types as sent in X-Snowflake-Authorization-Token-Type.
const (
	TokenOAuth = "OAUTH"
	TokenPAT   = "PROGRAMMATIC_ACCESS_TOKEN"
)

// Profile is one named Snowflake sign-in configuration.
type Profile struct {
	Name        string   `toml:"-" json:"name"`
	Account     string   `toml:"account" json:"account"`
	Host        string   `toml:"host,omitempty" json:"host,omitempty"`
	ClientID    string   `toml:"client_id,omitempty" json:"client_id,omitempty"`
	ClientType  string   `toml:"client_type,omitempty" json:"client_type,omitempty"`
	RedirectURI string   `toml:"redirect_uri,omitempty" json:"redirect_uri,omitempty"`
	Role        string   `toml:"role,omitempty" json:"role,omitempty"`
	Scopes      []string `toml:"scopes,omitempty" json:"scopes,omitempty"`
	// User is informational (e.g. imported from a Snowflake CLI connection);
	// Snowflake decides who signs in.
	User string `toml:"user,omitempty" json:"user,omitempty"`
	// Auth is "oauth" (default: browser sign-in, refreshed tokens) or "pat"
	// (a programmatic access token served as it is).
	Auth string `toml:"auth,omitempty" json:"auth,omitempty"`
	// ExtraHosts are further hosts of this account (e.g. its PrivateLink
	// name) that may receive its tokens as MCP servers; nothing else does.
	ExtraHosts []string `toml:"extra_hosts,omitempty" json:"extra_hosts,omitempty"`
	// AutoLogin, when false, keeps the daemon from opening the browser
	// sign-in itself when Snowflake needs a new one (default true).
	AutoLogin *bool `toml:"auto_login,omitempty" json:"auto_login,omitempty"`
	// MCPServers are the profile's MCP servers (DB.SCHEMA.NAME) that setup
	// adds to MCP clients; a system file lists them for the organisation.
	MCPServers []string `toml:"mcp_servers,omitempty" json:"mcp_servers,omitempty"`
	// Issuer, when set, is the identity provider (an OpenID/OAuth issuer)
	// the profile signs in at, because the account takes its MCP tokens
	// through External OAuth; empty means Snowflake's own OAuth.
	Issuer string `toml:"issuer,omitempty" json:"issuer,omitempty"`
	// IdP is the kind of identity provider (okta, entra, ping, custom);
	// empty means the kind the issuer's host says (internal/idp).
	IdP string `toml:"idp,omitempty" json:"idp,omitempty"`
	// Audience is the token audience the account's integration accepts
	// (EXTERNAL_OAUTH_AUDIENCE_LIST): sent as RFC 8707's resource, or for
	// Entra the Application ID URI that prefixes its scopes.
	Audience string `toml:"audience,omitempty" json:"audience,omitempty"`
}

// DefaultIdPRedirect is the loopback redirect of an identity provider's
// client when the profile names none: IdPs match redirect URIs exactly,
// port included, so the administrator registers this one.
const DefaultIdPRedirect = "http://127.0.0.1:8000/callback"

// IsIdP reports whether p signs in at an identity provider rather than
// at Snowflake's own OAuth.
func (p Profile) IsIdP() bool { return p.Issuer != "" }

// LoginRedirect is the redirect URI of p's sign-in: its own, else an
// identity provider's default ("" lets a Snowflake sign-in pick a port).
func (p Profile) LoginRedirect() string {
	if p.RedirectURI == "" && p.IsIdP() {
		return DefaultIdPRedirect
	}
	return p.RedirectURI
}

// OpensSignIn reports whether the daemon may open a browser sign-in for p
// when Snowflake needs one: OAuth profiles, unless auto_login = false.
func (p Profile) OpensSignIn() bool { return !p.IsPAT() && (p.AutoLogin == nil || *p.AutoLogin) }

// Endpoint returns where the profile's account answers: the host override
// when set, else the normalised account.
func (p Profile) Endpoint() (Endpoint, error) {
	if p.Host != "" {
		return ParseHost(p.Host)
	}
	return NormalizeAccount(p.Account)
}

// IsLocalApplication reports whether the profile uses SNOWFLAKE$LOCAL_APPLICATION.
func (p Profile) IsLocalApplication() bool {
	return !p.IsIdP() && (p.ClientID == "" || strings.EqualFold(p.ClientID, LocalApplication))
}

// EffectiveClientID is the client id sent to Snowflake.
func (p Profile) EffectiveClientID() string {
	if p.IsLocalApplication() {
		return LocalApplication
	}
	return p.ClientID
}

// Confidential reports whether the client authenticates with a secret.
// A custom integration defaults to confidential, Snowflake's own default;
// an identity provider's client defaults to public (PKCE alone), as a
// native app registered at an IdP is.
func (p Profile) Confidential() bool {
	if p.IsLocalApplication() {
		return false
	}
	if p.IsIdP() {
		return p.ClientType == ClientConfidential
	}
	return p.ClientType != ClientPublic
}

// ClientKind is the client's type: public or confidential.
func (p Profile) ClientKind() string {
	if p.Confidential() {
		return ClientConfidential
	}
	return ClientPublic
}

// ClientLabel names the client as people read it: SNOWFLAKE$LOCAL_APPLICATION,
// or a custom client's id and kind.
func (p Profile) ClientLabel() string {
	if p.IsLocalApplication() {
		return "SNOWFLAKE$LOCAL_APPLICATION"
	}
	return p.ClientID + " (" + p.ClientKind() + ")"
}

// IsPAT reports whether the profile serves a programmatic access token.
func (p Profile) IsPAT() bool { return p.Auth == AuthPAT }

// TokenType returns the X-Snowflake-Authorization-Token-Type value.
func (p Profile) TokenType() string {
	if p.IsPAT() {
		return TokenPAT
	}
	return TokenOAuth
}

// OAuthScopes returns the scopes to request: refresh_token, the role scope,
// then any extras. Generic scopes such as offline_access or openid are never
// added: Snowflake rejects unknown scopes before the user signs in.
func (p Profile) OAuthScopes() []string {
	scopes := []string{"refresh_token"}
	if s := RoleScope(p.Role); s != "" {
		scopes = append(scopes, s)
	}
	for _, s := range p.Scopes {
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// RoleScope returns session:role:ROLE, or session:role-encoded:… for role
// names that need quoting. Unquoted names are upper-cased as Snowflake does
// for unquoted identifiers; "Quoted Names" keep their case.
func RoleScope(role string) string {
	role = strings.TrimSpace(role)
	if role == "" {
		return ""
	}
	if len(role) >= 2 && role[0] == '"' && role[len(role)-1] == '"' {
		role = strings.ReplaceAll(role[1:len(role)-1], `""`, `"`)
	} else if ident.Plain(role) {
		role = strings.ToUpper(role)
	}
	if ident.Plain(role) {
		return "session:role:" + role
	}
	return "session:role-encoded:" + percentEncode(role)
}

// percentEncode escapes everything but RFC 3986 unreserved characters, so a
// space becomes %20 (as in Snowflake's session:role-encoded:AUTH%20SNOWFLAKE).
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Validate checks a profile and explains what to change.
func (p Profile) Validate() error {
	if !ValidProfileName(p.Name) {
		return fmt.Errorf("profile name %q: use letters, digits, '.', '_' or '-' (at most 64)", p.Name)
	}
	if p.Account == "" && p.Host == "" {
		return fmt.Errorf("profile %s: account is required (--account orgname-accountname)", p.Name)
	}
	if p.Account != "" {
		if _, err := NormalizeAccount(p.Account); err != nil {
			return fmt.Errorf("profile %s: account: %w", p.Name, err)
		}
	}
	if p.Host != "" {
		if _, err := ParseHost(p.Host); err != nil {
			return fmt.Errorf("profile %s: host: %w", p.Name, err)
		}
	}
	switch p.ClientType {
	case "", ClientPublic, ClientConfidential:
	default:
		return fmt.Errorf("profile %s: client_type %q: use public or confidential", p.Name, p.ClientType)
	}
	switch p.Auth {
	case "", AuthOAuth, AuthPAT:
	default:
		return fmt.Errorf("profile %s: auth %q: use %s or %s", p.Name, p.Auth, AuthOAuth, AuthPAT)
	}
	if err := p.validateIdP(); err != nil {
		return err
	}
	if p.IsLocalApplication() && p.ClientType == ClientConfidential {
		return fmt.Errorf("profile %s: SNOWFLAKE$LOCAL_APPLICATION is a public client; drop --client-type or give --client-id", p.Name)
	}
	if p.RedirectURI != "" {
		if err := validateRedirect(p.RedirectURI, p.IsLocalApplication()); err != nil {
			return fmt.Errorf("profile %s: redirect_uri: %w", p.Name, err)
		}
	} else if !p.IsLocalApplication() && !p.IsPAT() && !p.IsIdP() {
		return fmt.Errorf("profile %s: a custom OAuth integration needs --redirect-uri, the integration's OAUTH_REDIRECT_URI (e.g. http://127.0.0.1:3000/oauth/callback)", p.Name)
	}
	for _, h := range p.ExtraHosts {
		if ep, err := ParseHost(h); err != nil {
			return fmt.Errorf("profile %s: extra_hosts: %w", p.Name, err)
		} else if ep.Scheme != "https" {
			return fmt.Errorf("profile %s: extra_hosts: %q must be an https host", p.Name, h)
		}
	}
	for _, s := range p.Scopes {
		if strings.ContainsAny(s, " \t") || s == "" {
			return fmt.Errorf("profile %s: scope %q: one scope per entry, without spaces", p.Name, s)
		}
		if !p.IsIdP() && (s == "offline_access" || s == "openid") {
			return fmt.Errorf("profile %s: scope %q is not a Snowflake scope; Snowflake rejects unknown scopes", p.Name, s)
		}
	}
	return nil
}

// validateRedirect requires a loopback http URL: sfmcp listens for the
// callback itself, so the browser must be sent back to this machine.
func validateRedirect(raw string, localApp bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" || !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%q must be http://127.0.0.1:<port>[/path] (sfmcp receives the callback on this machine)", raw)
	}
	if u.Port() == "" && !localApp {
		return fmt.Errorf("%q needs a fixed port: custom integrations match the redirect URI exactly", raw)
	}
	if u.Port() != "" {
		if n, err := parsePort(u.Port()); err != nil || n == 0 {
			return fmt.Errorf("%q: port is not valid", raw)
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: a query or fragment is not allowed", raw)
	}
	return nil
}

// merge writes the known fields over old (a raw TOML table), keeping
// unknown keys as they were.
func (p Profile) merge(old map[string]any) map[string]any {
	out := make(map[string]any, len(old))
	for k, v := range old {
		out[k] = v
	}
	set := map[string]string{
		"account": p.Account, "host": p.Host, "client_id": p.ClientID, "client_type": p.ClientType,
		"redirect_uri": p.RedirectURI, "role": p.Role, "user": p.User, "auth": p.Auth,
		"issuer": p.Issuer, "idp": p.IdP, "audience": p.Audience,
	}
	for k, v := range set {
		setOrDelete(out, k, v)
	}
	if len(p.Scopes) > 0 {
		out["scopes"] = p.Scopes
	} else {
		delete(out, "scopes")
	}
	if len(p.ExtraHosts) > 0 {
		out["extra_hosts"] = p.ExtraHosts
	} else {
		delete(out, "extra_hosts")
	}
	if len(p.MCPServers) > 0 {
		out["mcp_servers"] = p.MCPServers
	} else {
		delete(out, "mcp_servers")
	}
	return out
}

// validateIdP checks what any identity provider's profile needs: an https
// issuer (http only to a loopback address), its own client, OAuth (not a
// PAT).
func (p Profile) validateIdP() error {
	if !p.IsIdP() {
		if p.IdP != "" || p.Audience != "" {
			return fmt.Errorf("profile %s: idp and audience need an issuer (--issuer)", p.Name)
		}
		return nil
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || !printableASCII(p.Issuer) || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && IsLoopback(u.Hostname())) {
		return fmt.Errorf("profile %s: issuer %q must be an https URL without query or fragment (plain http only to a loopback address)", p.Name, p.Issuer)
	}
	switch {
	case p.IsPAT():
		return fmt.Errorf("profile %s: a PAT profile signs in at no identity provider; drop the issuer", p.Name)
	case p.ClientID == "" || strings.EqualFold(p.ClientID, LocalApplication):
		return fmt.Errorf("profile %s: an identity provider's profile needs the client id its administrator registered (--client-id)", p.Name)
	}
	// The kind of IdP and what it needs are internal/idp's to check.
	return nil
}

// SecretBinding names what a confidential client's secret is for: the
// authorization server (the identity provider's issuer, else the
// account's host) and the client. A stored secret serves only a profile
// with the same binding.
func (p Profile) SecretBinding() string {
	at := p.Issuer
	if at == "" {
		ep, _ := p.Endpoint()
		at = "https://" + ep.Host
	}
	return at + " " + p.EffectiveClientID()
}

// printableASCII reports whether s is printable ASCII without spaces: an
// issuer is shown to people who must be able to read it as it is.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
