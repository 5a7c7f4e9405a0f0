package mcpclients

import (
	"encoding/json"
	"errors"
	"fmt"
)

// store is one client's file format, being edited: JSON or JSONC
// (*mcpjson.File) or Codex's TOML (*tomlFile). Entries read as JSON in
// either; an entry to set is what the client's stdio or headers made.
type store interface {
	Entries() ([]string, map[string]json.RawMessage, error)
	Set(name string, entry any) error
	Remove(name string) (bool, error)
	Save() error
}

// ErrNoScope: the client has no configuration file for that scope.
var ErrNoScope = errors.New("this client has no configuration file for that scope")

// Config is one client's configuration file, being edited.
type Config struct {
	Client Client
	Path   string
	Scope  Scope // "" for a file the user named
	// Force lets an edit replace or remove an entry that is not sfmcp's;
	// without it such an edit is a *NotOursError and changes nothing.
	Force bool
	// shared: a project's file, which anyone may have written. sfmcp's
	// entry there is rewritten whole, keeping no key beside what sfmcp
	// writes (an env with LD_PRELOAD, a GODEBUG), where a user's own
	// file keeps the user's.
	shared bool
	file   store
}

// NotOursError: the entry is another program's MCP server, which sfmcp
// changes only when forced.
type NotOursError struct{ Name string }

func (e *NotOursError) Error() string {
	return fmt.Sprintf("MCP server %q is not sfmcp's; nothing was changed", e.Name)
}

// Open reads the client's file for scope (missing is empty).
func (c Client) Open(e Env, s Scope, project string) (*Config, error) {
	path := c.Path(e, s, project)
	if path == "" {
		return nil, fmt.Errorf("%s: %w (%s)", c.Name, ErrNoScope, s)
	}
	// A user's own file may be a symlink into their dotfiles; a project's
	// file is anyone's and is never followed.
	cfg, err := c.openAt(path, s == User, s != User)
	if err != nil {
		return nil, err
	}
	cfg.Scope = s
	return cfg, nil
}

// OpenFile reads the client's configuration at path, which the user named
// (a symlink there is followed). It may be a project's file, so sfmcp's
// entry there is rewritten whole (see Config.shared).
func (c Client) OpenFile(path string) (*Config, error) { return c.openAt(path, true, true) }

func (c Client) openAt(path string, follow, shared bool) (*Config, error) {
	f, err := c.open(path, c.Key, follow)
	if err != nil {
		return nil, err
	}
	return &Config{Client: c, Path: path, shared: shared, file: f}, nil
}

// SetStdio adds the entry name that runs bin with args, or updates
// sfmcp's entry of that name (another program's only with Force).
func (cfg *Config) SetStdio(name, bin string, args []string) error {
	return cfg.set(name, cfg.Client.stdio(bin, args))
}

// SetHeaders adds or updates, as SetStdio does, an HTTP entry whose
// headers come from the command helper.
func (cfg *Config) SetHeaders(name, url, helper string) error {
	if cfg.Client.headers == nil {
		return fmt.Errorf("%s runs no command for HTTP headers; use the stdio bridge (--mode proxy)", cfg.Client.Name)
	}
	return cfg.set(name, cfg.Client.headers(url, helper))
}

// Set adds or updates, as SetStdio does, the entry s describes.
func (cfg *Config) Set(name string, s Spec) error {
	if s.Mode == Headers {
		return cfg.SetHeaders(name, s.URL, s.Helper())
	}
	return cfg.SetStdio(name, s.Bin, s.Args())
}

func (cfg *Config) set(name string, entry any) error {
	foreign, err := cfg.foreign(name)
	if err != nil {
		return err
	}
	if foreign || cfg.shared {
		// Forced: another program's entry is replaced whole, so nothing of
		// it (an env holding its secret, headers, a sub-table) goes to
		// sfmcp's. sfmcp's own entry keeps the user's other keys, but only
		// in the user's own file: in a project's, they are the project's
		// (an env with LD_PRELOAD beside a ./sfmcp-token of its own).
		if _, err := cfg.file.Remove(name); err != nil {
			return err
		}
	}
	return cfg.file.Set(name, entry)
}

// foreign reports whether name is an entry that is not sfmcp's, which
// only Force lets an edit touch (else a *NotOursError). Entry.Ours
// decides, as it does for mcp list.
func (cfg *Config) foreign(name string) (bool, error) {
	_, entries, err := cfg.Entries()
	if err != nil {
		return false, err
	}
	raw, exists := entries[name]
	if _, ours := ParseEntry(raw).Ours(); !exists || ours {
		return false, nil
	}
	if !cfg.Force {
		return true, &NotOursError{Name: name}
	}
	return true, nil
}

// MayEdit returns a *NotOursError when name is another program's entry
// and Force is not set: what SetStdio, SetHeaders and Remove would refuse.
func (cfg *Config) MayEdit(name string) error {
	_, err := cfg.foreign(name)
	return err
}

// Remove deletes the entry name; it reports whether there was one.
func (cfg *Config) Remove(name string) (bool, error) {
	if err := cfg.MayEdit(name); err != nil {
		return false, err
	}
	return cfg.file.Remove(name)
}

// Entries returns every server entry, as JSON, by name.
func (cfg *Config) Entries() ([]string, map[string]json.RawMessage, error) {
	return cfg.file.Entries()
}

// Entry is name's entry, as JSON (nil when there is none).
func (cfg *Config) Entry(name string) json.RawMessage {
	_, entries, _ := cfg.Entries()
	return entries[name]
}

// Save writes the file.
func (cfg *Config) Save() error { return cfg.file.Save() }
