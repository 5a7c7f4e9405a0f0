package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// The organisation's system-wide configuration: profiles and defaults IT
// ships (MDM, Ansible, a package), which each user's file overlays, and a
// [managed] table of settings users cannot override.
//
//	# /etc/sfmcp/config.toml
//	default_profile = "corp"
//	[profiles.corp]
//	account = "myorg-myaccount"
//	client_id = "…"
//	role = "MCP_USERS"
//	mcp_servers = ["DB.PUBLIC.GONG_MCP"]  # what setup adds
//	[managed]
//	keyring = "os"                        # the file store is not allowed
//	allowed_hosts = ["myorg-myaccount.snowflakecomputing.com"]
//	allowed_issuers = ["https://example.okta.com/oauth2/aus123"]  # the only identity providers to sign in at
//	auto_login = false                    # the daemon never opens a sign-in itself
//	ca_file = "/etc/ssl/certs/corp-ca.pem"
//	profiles = ["corp"]                   # users cannot change these profiles

// Managed are the settings a system file locks.
type Managed struct {
	Keyring        string   `toml:"keyring"`
	CAFile         string   `toml:"ca_file"`
	HTTPSProxy     string   `toml:"https_proxy"`
	DefaultProfile string   `toml:"default_profile"`
	AllowedHosts   []string `toml:"allowed_hosts"`
	// AllowedIssuers are the identity providers (issuers) profiles may
	// sign in at: one an MCP server's metadata names is trusted without
	// asking, and any other is refused.
	AllowedIssuers []string `toml:"allowed_issuers"`
	AutoLogin      *bool    `toml:"auto_login"`
	Profiles       []string `toml:"profiles"`
}

// SystemPath is where the system file is read: the OS's place for it; only
// where there is none there, $SFMCP_SYSTEM_CONFIG (for organisations that
// keep it elsewhere, and tests). A file IT installed in the standard place
// is not overridden by a variable.
func SystemPath(getenv func(string) string) string {
	std := SystemPathFor(runtime.GOOS)
	if dir := getenv("ProgramData"); runtime.GOOS == "windows" && dir != "" {
		std = filepath.Join(dir, "sfmcp", "config.toml")
	}
	if _, err := os.Stat(std); err == nil {
		return std
	}
	if p := getenv("SFMCP_SYSTEM_CONFIG"); p != "" {
		return p
	}
	if dir := getenv("ProgramData"); runtime.GOOS == "windows" && dir != "" {
		return filepath.Join(dir, "sfmcp", "config.toml")
	}
	return SystemPathFor(runtime.GOOS)
}

// ErrHostNotAllowed: the system file's allowed_hosts does not list a
// profile's host.
var ErrHostNotAllowed = errors.New("host not allowed by the system configuration")

// ErrIssuerNotAllowed: the system file's allowed_issuers does not list a
// profile's issuer. It is an ErrHostNotAllowed too: what the system file
// allows, it allows by host and by identity provider alike.
var ErrIssuerNotAllowed error = notAllowed("identity provider not allowed by the system configuration")

type notAllowed string

func (e notAllowed) Error() string { return string(e) }
func (notAllowed) Unwrap() error   { return ErrHostNotAllowed }

// SystemFileError is a system file that cannot be used: the user cannot
// fix it, an administrator can.
type SystemFileError struct {
	Path string
	Err  error
}

func (e *SystemFileError) Error() string { return e.Err.Error() }
func (e *SystemFileError) Unwrap() error { return e.Err }

// system is what the system file said, kept to tell where each setting
// came from and to write only the user's own settings back.
type system struct {
	path     string
	top      map[string]string // default_profile, keyring, ca_file, https_proxy
	profiles map[string]Profile
	managed  Managed
}

// maxSystemFile bounds the system file, like a user's.
const maxSystemFile = maxConfig

// readSystemFile reads the system file once, through one descriptor that
// the write check is made on, so no link or other file can be swapped in
// between the check and the read.
func readSystemFile(path string) ([]byte, error) {
	return atomicfile.ReadChecked(path, maxSystemFile, false, func(st fs.FileInfo) error { return checkSystemFile(path, st) })
}

// LoadLayered reads the system file (if there is one) and the user's file
// over it: the user's settings win, except those the system file manages.
func LoadLayered(systemPath, userPath string) (*File, error) {
	f, err := Load(userPath)
	if err != nil {
		return nil, err
	}
	if systemPath == "" {
		return f, nil
	}
	data, err := readSystemFile(systemPath)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, &SystemFileError{systemPath, err}
	}
	sys, err := parse(systemPath, data)
	if err != nil {
		return nil, &SystemFileError{systemPath, err}
	}
	var shape struct {
		Managed Managed `toml:"managed"`
	}
	md, err := toml.Decode(string(data), &shape)
	if err != nil {
		return nil, &SystemFileError{systemPath, fmt.Errorf("system configuration %s: %w", systemPath, err)}
	}
	// A misspelt lock must not look like one that holds.
	for _, key := range md.Undecoded() {
		if len(key) > 1 && key[0] == "managed" {
			return nil, &SystemFileError{systemPath, fmt.Errorf("system configuration %s: unknown managed setting %q", systemPath, key.String())}
		}
	}
	s := &system{path: systemPath, profiles: sys.Profiles, managed: shape.Managed,
		top: map[string]string{"default_profile": sys.DefaultProfile, "keyring": sys.Keyring, "ca_file": sys.CAFile, "https_proxy": sys.HTTPSProxy}}
	f.sys = s
	for _, t := range f.topLevel() {
		if *t.value == "" {
			*t.value = s.top[t.key]
		}
		if v := s.managedTop(t.key); v != "" {
			*t.value = v
		}
	}
	for name, sp := range s.profiles {
		up, mine := f.Profiles[name]
		if !mine || slices.Contains(s.managed.Profiles, name) {
			f.Profiles[name] = sp
			continue
		}
		f.Profiles[name] = overlay(sp, up)
	}
	if s.managed.AutoLogin != nil {
		for name, p := range f.Profiles {
			p.AutoLogin = s.managed.AutoLogin
			f.Profiles[name] = p
		}
	}
	return f, nil
}

type topSetting struct {
	key   string
	value *string
}

func (f *File) topLevel() []topSetting {
	return []topSetting{{"default_profile", &f.DefaultProfile}, {"keyring", &f.Keyring}, {"ca_file", &f.CAFile}, {"https_proxy", &f.HTTPSProxy}}
}

func (s *system) managedTop(key string) string {
	switch key {
	case "default_profile":
		return s.managed.DefaultProfile
	case "keyring":
		return s.managed.Keyring
	case "ca_file":
		return s.managed.CAFile
	case "https_proxy":
		return s.managed.HTTPSProxy
	}
	return ""
}

// overlay lays the user's non-empty settings of a profile over the
// system's.
func overlay(sys, user Profile) Profile {
	p := sys
	for _, f := range []struct {
		dst *string
		v   string
	}{{&p.Account, user.Account}, {&p.Host, user.Host}, {&p.ClientID, user.ClientID}, {&p.ClientType, user.ClientType},
		{&p.RedirectURI, user.RedirectURI}, {&p.Role, user.Role}, {&p.User, user.User}, {&p.Auth, user.Auth},
		{&p.Issuer, user.Issuer}, {&p.IdP, user.IdP}, {&p.Audience, user.Audience}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if user.Account != "" && user.Host == "" {
		p.Host = "" // a host override belongs to the account it was set for
	}
	if len(user.Scopes) > 0 {
		p.Scopes = user.Scopes
	}
	if len(user.ExtraHosts) > 0 {
		p.ExtraHosts = user.ExtraHosts
	}
	if len(user.MCPServers) > 0 {
		p.MCPServers = user.MCPServers
	}
	if user.AutoLogin != nil {
		p.AutoLogin = user.AutoLogin
	}
	return p
}

// SystemPath is the system file this configuration was layered on, "" if
// none.
func (f *File) SystemPath() string {
	if f.sys == nil {
		return ""
	}
	return f.sys.path
}

// Managed is what the system file locks (empty without one).
func (f *File) Managed() Managed {
	if f.sys == nil {
		return Managed{}
	}
	return f.sys.managed
}

// Source says which file a setting comes from and whether the system file
// locks it. key is a top-level key (keyring, ca_file, …) or
// "profiles.NAME" / "profiles.NAME.FIELD".
func (f *File) Source(key string) (file string, locked bool) {
	if f.sys == nil {
		return f.Path, false
	}
	if parts := strings.SplitN(key, ".", 3); parts[0] == "profiles" && len(parts) >= 2 {
		name := parts[1]
		if slices.Contains(f.sys.managed.Profiles, name) {
			return f.sys.path, true
		}
		if len(parts) == 3 && name != "" {
			if user, _ := f.raw["profiles"].(map[string]any); user != nil {
				if mine, _ := user[name].(map[string]any); mine != nil {
					if _, set := mine[parts[2]]; set {
						return f.Path, false
					}
				}
			}
		}
		if _, ok := f.sys.profiles[name]; ok {
			if user, _ := f.raw["profiles"].(map[string]any); user == nil || user[name] == nil || len(parts) == 3 {
				return f.sys.path, false
			}
		}
		return f.Path, false
	}
	if f.sys.managedTop(key) != "" || key == "allowed_hosts" && len(f.sys.managed.AllowedHosts) > 0 ||
		key == "allowed_issuers" && len(f.sys.managed.AllowedIssuers) > 0 ||
		key == "auto_login" && f.sys.managed.AutoLogin != nil {
		return f.sys.path, true
	}
	if _, mine := f.raw[key]; !mine && f.sys.top[key] != "" {
		return f.sys.path, false
	}
	return f.Path, false
}

// Locked reports whether the system file locks key (see Source).
func (f *File) Locked(key string) bool {
	_, locked := f.Source(key)
	return locked
}

// FromSystem reports whether the profile is defined by the system file.
func (f *File) FromSystem(name string) bool {
	if f.sys == nil {
		return false
	}
	_, ok := f.sys.profiles[name]
	return ok
}

// checkAllowed refuses a profile whose hosts, or identity provider, the
// system file does not allow.
func (f *File) checkAllowed(p Profile) error {
	if p.IsIdP() {
		if _, err := f.IssuerAllowed(p.Issuer); err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
	}
	if f.sys == nil || len(f.sys.managed.AllowedHosts) == 0 {
		return nil
	}
	ep, err := p.Endpoint()
	if err != nil {
		return nil // the endpoint error is reported where it is used
	}
	hosts := append([]string{ep.Hostname()}, p.ExtraHosts...)
	for _, h := range hosts {
		if !slices.ContainsFunc(f.sys.managed.AllowedHosts, func(a string) bool { return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(h, ".")) }) {
			return fmt.Errorf("%w: profile %s uses %s, and %s allows only %s", ErrHostNotAllowed, p.Name, h, f.sys.path, strings.Join(f.sys.managed.AllowedHosts, ", "))
		}
	}
	return nil
}

// IssuerAllowed is what the system file says of signing in at issuer:
// allowed (its allowed_issuers lists it), refused (an error wrapping
// ErrIssuerNotAllowed: the list is set and does not), or neither (false,
// nil: no list, so the user decides).
func (f *File) IssuerAllowed(issuer string) (bool, error) {
	if f.sys == nil || len(f.sys.managed.AllowedIssuers) == 0 {
		return false, nil
	}
	// Issuers compare as strings (RFC 8414 §3.3), a trailing slash aside.
	same := func(a string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(issuer, "/") }
	if slices.ContainsFunc(f.sys.managed.AllowedIssuers, same) {
		return true, nil
	}
	return false, fmt.Errorf("%w: %s allows signing in only at %s, not at %s", ErrIssuerNotAllowed, f.sys.path,
		strings.Join(f.sys.managed.AllowedIssuers, ", "), issuer)
}

// userLayer returns what of f belongs in the user's file: its settings
// where they differ from the system file's, never what the system locks.
func (f *File) userLayer() (top map[string]string, profiles map[string]Profile) {
	top = map[string]string{}
	for _, t := range f.topLevel() {
		_, mine := f.raw[t.key]
		switch {
		case f.sys != nil && f.sys.managedTop(t.key) != "":
		case f.sys != nil && !mine && *t.value == f.sys.top[t.key]:
		default:
			top[t.key] = *t.value
		}
	}
	profiles = map[string]Profile{}
	for name, p := range f.Profiles {
		if f.sys == nil {
			profiles[name] = p
			continue
		}
		sp, fromSys := f.sys.profiles[name]
		if !fromSys {
			profiles[name] = p
			continue
		}
		if slices.Contains(f.sys.managed.Profiles, name) {
			continue
		}
		if d, changed := diff(sp, p); changed {
			profiles[name] = d
		} else if user, _ := f.raw["profiles"].(map[string]any); user != nil && user[name] != nil {
			profiles[name] = d
		}
	}
	return top, profiles
}

// diff is the user's override of a system profile: the fields of p that
// differ from sys (an empty profile of that name if none).
func diff(sys, p Profile) (Profile, bool) {
	d := Profile{Name: p.Name}
	changed := false
	for _, f := range []struct {
		dst       *string
		sys, mine string
	}{{&d.Account, sys.Account, p.Account}, {&d.Host, sys.Host, p.Host}, {&d.ClientID, sys.ClientID, p.ClientID},
		{&d.ClientType, sys.ClientType, p.ClientType}, {&d.RedirectURI, sys.RedirectURI, p.RedirectURI},
		{&d.Role, sys.Role, p.Role}, {&d.User, sys.User, p.User}, {&d.Auth, sys.Auth, p.Auth},
		{&d.Issuer, sys.Issuer, p.Issuer}, {&d.IdP, sys.IdP, p.IdP}, {&d.Audience, sys.Audience, p.Audience}} {
		if f.mine != f.sys {
			*f.dst, changed = f.mine, true
		}
	}
	if !slices.Equal(sys.Scopes, p.Scopes) {
		d.Scopes, changed = p.Scopes, true
	}
	if !slices.Equal(sys.ExtraHosts, p.ExtraHosts) {
		d.ExtraHosts, changed = p.ExtraHosts, true
	}
	if !slices.Equal(sys.MCPServers, p.MCPServers) {
		d.MCPServers, changed = p.MCPServers, true
	}
	return d, changed
}

// SystemFileFor is a system file that gives every user the profile o
// describes, as their default, with its MCP server, and allows only its
// host (and its identity provider, when it signs in at one). It holds no secret: a confidential client's secret is handed out
// separately.
func SystemFileFor(o Onboarding) ([]byte, error) {
	p := o.AsProfile(o.Profile)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	ep, err := p.Endpoint()
	if err != nil {
		return nil, err
	}
	if o.MCPServer != "" {
		p.MCPServers = []string{o.MCPServer}
	}
	managed := map[string]any{"allowed_hosts": []string{ep.Hostname()}}
	if p.IsIdP() {
		// The organisation's identity provider is the one place users sign
		// in: no URL or file from elsewhere can name another.
		managed["allowed_issuers"] = []string{p.Issuer}
	}
	doc := map[string]any{
		"default_profile": p.Name,
		"profiles":        map[string]any{p.Name: p.merge(nil)},
		"managed":         managed,
	}
	var b strings.Builder
	b.WriteString("# sfmcp system configuration (" + SystemPathFor("linux") + ", /Library/Application Support/sfmcp/config.toml,\n# %ProgramData%\\sfmcp\\config.toml). Users run: sfmcp-token setup\n")
	if err := toml.NewEncoder(&b).Encode(doc); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// SystemPathFor is the system file's place on goos.
func SystemPathFor(goos string) string {
	switch goos {
	case "darwin":
		return "/Library/Application Support/sfmcp/config.toml"
	case "windows":
		return `C:\ProgramData\sfmcp\config.toml`
	}
	return "/etc/sfmcp/config.toml"
}
