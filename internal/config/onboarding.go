package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// Onboarding is what an administrator hands users: the profile to create
// and the MCP server to add. `admin setup --onboarding-file` writes it and
// `setup --from` reads it. It is data only (no commands, no secrets), and
// may come from anywhere: it is checked as strictly as the flags it stands
// for, unknown keys are refused, and so are placeholders ("<…>") an
// administrator did not fill in.
type Onboarding struct {
	Profile     string `toml:"profile"`
	Account     string `toml:"account"`
	Host        string `toml:"host,omitempty"`
	ClientID    string `toml:"client_id,omitempty"`
	ClientType  string `toml:"client_type,omitempty"`
	RedirectURI string `toml:"redirect_uri,omitempty"`
	Role        string `toml:"role,omitempty"`
	MCPServer   string `toml:"mcp_server,omitempty"`
	// Issuer, IdP and Audience make the profile sign in at an identity
	// provider (see Profile): when the account takes its MCP tokens
	// through External OAuth.
	Issuer   string `toml:"issuer,omitempty"`
	IdP      string `toml:"idp,omitempty"`
	Audience string `toml:"audience,omitempty"`
}

// maxOnboarding bounds what is read: the file has a handful of short keys.
const maxOnboarding = 64 << 10

// maxOnboardingNesting allows a [table] of a few parts, no more.
const maxOnboardingNesting = 16

// LoadOnboarding reads and checks an onboarding file.
func LoadOnboarding(path string) (Onboarding, error) {
	var o Onboarding
	// It comes with a project or a message: a bounded read of a regular
	// file, never through a link (a FIFO would hang, /dev/zero fill memory).
	data, err := atomicfile.ReadFile(path, maxOnboarding, false)
	if err != nil {
		return o, fmt.Errorf("read onboarding file: %w", err)
	}
	// The file is flat; a deep nest or a long dotted key only slows the
	// TOML parser down (its time grows with the square of a key's length).
	if atomicfile.NestingTOML(data) > maxOnboardingNesting {
		return o, fmt.Errorf("onboarding file %s nests deeper than %d levels", path, maxOnboardingNesting)
	}
	md, err := toml.Decode(string(data), &o)
	if err != nil {
		return o, fmt.Errorf("onboarding file %s: %w", path, err)
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		return o, fmt.Errorf("onboarding file %s: unknown key %q", path, extra[0].String())
	}
	if err := o.checkValues(); err != nil {
		return o, fmt.Errorf("onboarding file %s: %w", path, err)
	}
	if o.Profile != "" && !ValidProfileName(o.Profile) {
		return o, fmt.Errorf("onboarding file %s: profile %q is not a valid profile name", path, truncate(o.Profile, 80))
	}
	if o.Account == "" && o.Host == "" {
		return o, fmt.Errorf("onboarding file %s: no account", path)
	}
	p := o.AsProfile("x")
	if err := p.Validate(); err != nil {
		return o, fmt.Errorf("onboarding file %s: %w", path, err)
	}
	ep, err := p.Endpoint()
	if err != nil {
		return o, fmt.Errorf("onboarding file %s: %w", path, err)
	}
	if o.MCPServer != "" {
		if _, err := MCPServerURL(ep, o.MCPServer); err != nil {
			return o, fmt.Errorf("onboarding file %s: mcp_server: %w", path, err)
		}
	}
	return o, nil
}

// IsPlaceholder reports whether v stands for a value someone has yet to
// fill in, as the handouts write them: "<OAUTH_CLIENT_ID>".
func IsPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>'
}

// Placeholders are the keys of o whose values are still placeholders.
func (o Onboarding) Placeholders() []string {
	var keys []string
	for _, f := range o.values() {
		if IsPlaceholder(f.value) {
			keys = append(keys, f.key)
		}
	}
	return keys
}

// onboardingValue is one key of the file, and what a value of its kind
// looks like (nil: checked with the profile it makes).
type onboardingValue struct {
	key, value string
	check      func(string) error
}

func (o Onboarding) values() []onboardingValue {
	localApp := o.AsProfile("x").IsLocalApplication()
	return []onboardingValue{
		{"profile", o.Profile, nil},
		{"account", o.Account, func(v string) error { _, err := NormalizeAccount(v); return err }},
		{"host", o.Host, nil},
		{"client_id", o.ClientID, checkClientID},
		{"client_type", o.ClientType, nil},
		{"redirect_uri", o.RedirectURI, func(v string) error { return validateRedirect(v, localApp) }},
		{"role", o.Role, ident.Check},
		{"mcp_server", o.MCPServer, checkMCPServerName},
		{"issuer", o.Issuer, checkIssuer},
		{"idp", o.IdP, nil},
		{"audience", o.Audience, nil},
	}
}

// checkValues refuses, key by key, a placeholder an administrator left in
// and a value not shaped like its kind, so a file handed out unedited
// fails here rather than at the sign-in page.
func (o Onboarding) checkValues() error {
	for _, f := range o.values() {
		switch {
		case f.value == "":
		case IsPlaceholder(f.value):
			return fmt.Errorf("%s is a placeholder, %q, that the administrator did not fill in", f.key, truncate(f.value, 80))
		case f.check != nil:
			if err := f.check(f.value); err != nil {
				return fmt.Errorf("%s: %w", f.key, err)
			}
		}
	}
	return nil
}

// checkClientID accepts what OAuth servers issue as client ids: Snowflake's
// (base64, SNOWFLAKE$LOCAL_APPLICATION), Okta's, Entra ID's GUIDs, URLs.
func checkClientID(v string) error {
	ok := len(v) <= 256 && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.$+/=:~@", r))
	}) < 0
	if !ok {
		return fmt.Errorf("%q is not a client id (letters, digits and - _ . $ + / = : ~ @, at most 256)", truncate(v, 80))
	}
	return nil
}

// checkMCPServerName accepts DATABASE.SCHEMA.SERVER or a server's URL
// (any account's: the account is checked on its own).
func checkMCPServerName(v string) error {
	_, err := MCPServerURL(Endpoint{Scheme: "https", Host: "x.snowflakecomputing.com"}, v)
	return err
}

// checkIssuer accepts an identity provider's issuer: an https URL without
// query or fragment (plain http only to a loopback address).
func checkIssuer(v string) error {
	u, err := url.Parse(v)
	if err != nil || !printableASCII(v) || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && IsLoopback(u.Hostname())) {
		return fmt.Errorf("%q is not an issuer: an https URL without query or fragment (plain http only to a loopback address)", truncate(v, 80))
	}
	return nil
}

// AsProfile is the profile the file describes, named name.
func (o Onboarding) AsProfile(name string) Profile {
	return Profile{Name: name, Account: o.Account, Host: o.Host, ClientID: o.ClientID, ClientType: strings.ToLower(o.ClientType),
		RedirectURI: o.RedirectURI, Role: o.Role, Issuer: o.Issuer, IdP: strings.ToLower(o.IdP), Audience: o.Audience}
}

// Encode is the file's text, with a comment saying what to do with it.
func (o Onboarding) Encode() ([]byte, error) {
	if o.Profile == "" || !ValidProfileName(o.Profile) {
		return nil, errors.New("onboarding: a valid profile name is required")
	}
	var b bytes.Buffer
	b.WriteString("# sfmcp onboarding, from your Snowflake administrator. Run once:\n#   sfmcp-token setup --from THIS_FILE\n")
	if o.Issuer != "" {
		b.WriteString("# You sign in at your organisation's identity provider (issuer below), not at Snowflake.\n")
	}
	if strings.EqualFold(o.ClientType, ClientConfidential) {
		b.WriteString("# The client secret is not in this file; your administrator gives it to you separately, and setup asks for it.\n")
	}
	if err := toml.NewEncoder(&b).Encode(o); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
