// Package config owns sfmcp's profiles: where the TOML file lives, how a
// profile's account becomes a host and scopes, what adding or changing a
// profile may change, and how the file is rewritten without losing
// anything sfmcp does not understand. It never holds secrets: client
// secrets and tokens live in the keychain.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/BurntSushi/toml"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// ErrNoProfile is returned when a named profile (or any default) is missing.
var ErrNoProfile = errors.New("profile not found")

// File is the parsed config file. Unknown keys and tables are kept in raw and
// written back unchanged.
type File struct {
	Path           string
	DefaultProfile string
	// Keyring selects the credential store: "" or "os" for the OS keychain,
	// "file" for the explicit file store.
	Keyring string
	// CAFile is a PEM bundle trusted for Snowflake in addition to the
	// system roots (a TLS-inspecting corporate proxy's CA, say).
	CAFile string
	// HTTPSProxy is the proxy for Snowflake connections. Both live in the
	// config, not only in the environment, because the processes that
	// matter most (an auto-started daemon, the MCP bridge) do not take
	// network settings from an environment an MCP client entry can set.
	HTTPSProxy string
	Profiles   map[string]Profile

	raw map[string]any
	sys *system // the system file under this one (LoadLayered), nil if none
}

// Path returns the config file location: $SFMCP_CONFIG, else
// $XDG_CONFIG_HOME/sfmcp/config.toml, else ~/.config/sfmcp/config.toml.
func Path(getenv func(string) string) (string, error) {
	if p := getenv("SFMCP_CONFIG"); p != "" {
		return p, nil
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "sfmcp", "config.toml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the config file: set SFMCP_CONFIG or HOME: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "sfmcp", "config.toml"), nil
}

// maxConfig bounds a config file: SFMCP_CONFIG may come from an MCP
// client entry a project wrote, and a link to /dev/zero must not fill
// memory.
const maxConfig = 1 << 20

// Load reads the config file at path. A missing file is an empty config.
// The user's own file may be a symlink (dotfile managers make them).
func Load(path string) (*File, error) {
	data, err := atomicfile.ReadFile(path, maxConfig, true)
	if errors.Is(err, fs.ErrNotExist) {
		return parse(path, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data)
}

// parse makes the File at path from its contents.
func parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, Profiles: map[string]Profile{}, raw: map[string]any{}}
	if err := f.parse(data); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return f, nil
}

type fileShape struct {
	DefaultProfile string             `toml:"default_profile"`
	Keyring        string             `toml:"keyring"`
	CAFile         string             `toml:"ca_file"`
	HTTPSProxy     string             `toml:"https_proxy"`
	Profiles       map[string]Profile `toml:"profiles"`
}

// maxConfigNesting bounds how deeply a config may nest (a [profiles.x]
// table is four levels): the TOML parser's time grows with the square of
// a dotted key's length, and SFMCP_CONFIG or HOME may come from a
// project's client entry.
const maxConfigNesting = 32

// checkNesting refuses TOML nested deeper than a config ever is.
func checkNesting(data []byte) error {
	if atomicfile.NestingTOML(data) > maxConfigNesting {
		return fmt.Errorf("it nests deeper than %d levels", maxConfigNesting)
	}
	return nil
}

func (f *File) parse(data []byte) error {
	if err := checkNesting(data); err != nil {
		return err
	}
	if _, err := toml.Decode(string(data), &f.raw); err != nil {
		return err
	}
	var shape fileShape
	if _, err := toml.Decode(string(data), &shape); err != nil {
		return err
	}
	f.DefaultProfile, f.Keyring = shape.DefaultProfile, shape.Keyring
	f.CAFile, f.HTTPSProxy = shape.CAFile, shape.HTTPSProxy
	for name, p := range shape.Profiles {
		// A name ends up in commands sfmcp writes (headersHelper, unit
		// files), so a hand-edited one is checked here, not only on add.
		if !ValidProfileName(name) {
			return fmt.Errorf("profile name %q: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit); rename it in the file", truncate(name, 80))
		}
		p.Name = name
		f.Profiles[name] = p
	}
	return nil
}

// Profile returns the named profile, or the default one when name is "".
func (f *File) Profile(name string) (Profile, error) {
	if name == "" {
		name = f.DefaultProfile
	}
	if name == "" {
		if len(f.Profiles) == 1 {
			for _, p := range f.Profiles {
				return p, f.checkAllowed(p)
			}
		}
		return Profile{}, fmt.Errorf("%w: no profile given and no default_profile set", ErrNoProfile)
	}
	p, ok := f.Profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("%w: %q", ErrNoProfile, name)
	}
	if err := f.checkAllowed(p); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// Names returns the profile names in order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Put adds or replaces a profile after validating it. The first profile
// becomes the default.
func (f *File) Put(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if file, locked := f.Source("profiles." + p.Name); locked {
		return fmt.Errorf("profile %s is managed by %s and cannot be changed here", p.Name, file)
	}
	if err := f.checkAllowed(p); err != nil {
		return err
	}
	f.Profiles[p.Name] = p
	if f.DefaultProfile == "" {
		f.DefaultProfile = p.Name
	}
	return nil
}

// Remove deletes a profile; it reports whether it existed.
func (f *File) Remove(name string) bool {
	if _, ok := f.Profiles[name]; !ok || f.FromSystem(name) {
		return false
	}
	delete(f.Profiles, name)
	if f.DefaultProfile == name {
		f.DefaultProfile = ""
	}
	return true
}

// Save writes the file atomically with mode 0600, keeping unknown content.
func (f *File) Save() error {
	data, err := f.encode()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.Path, data, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

func (f *File) encode() ([]byte, error) {
	out := make(map[string]any, len(f.raw)+3)
	for k, v := range f.raw {
		out[k] = v
	}
	// Only the user's own settings: nothing the system file holds or locks.
	top, own := f.userLayer()
	for _, key := range []string{"default_profile", "keyring", "ca_file", "https_proxy"} {
		setOrDelete(out, key, top[key])
	}
	oldProfiles, _ := f.raw["profiles"].(map[string]any)
	profiles := map[string]any{}
	for name, p := range own {
		old, _ := oldProfiles[name].(map[string]any)
		profiles[name] = p.merge(old)
	} // A user's own table for a profile the system file locks is kept as
	// the user wrote it (it applies again if the lock is lifted).
	for name, old := range oldProfiles {
		if _, kept := profiles[name]; !kept && f.sys != nil && slices.Contains(f.sys.managed.Profiles, name) {
			profiles[name] = old
		}
	}

	if len(profiles) > 0 {
		out["profiles"] = profiles
	} else {
		delete(out, "profiles")
	}
	var buf bytes.Buffer
	buf.WriteString("# sfmcp configuration. Secrets are never stored here.\n")
	if err := toml.NewEncoder(&buf).Encode(out); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

func setOrDelete(m map[string]any, key, value string) {
	if value == "" {
		delete(m, key)
	} else {
		m[key] = value
	}
}

// It is checked by hand rather than with a regexp: compiling one at init
// would cost every invocation, including the hot headers path.
func ValidProfileName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}
