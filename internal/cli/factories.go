package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/paths"
	"github.com/sfmcp/sfmcp/keychain"
)

func loadConfig(e *Env) (*config.File, error) {
	path, err := config.Path(e.Getenv)
	if err != nil {
		return nil, usagef("", "%v", err)
	}
	f, err := config.LoadLayered(config.SystemPath(e.Getenv), path)
	var sysErr *config.SystemFileError
	if errors.As(err, &sysErr) {
		return nil, usagef("this is your organisation's file: tell your administrator (or whoever manages "+sysErr.Path+")", "%v", err)
	}
	if err != nil {
		return nil, usagef("fix the file or move it aside", "%v", err)
	}
	if err := configureHTTP(e, f); err != nil {
		return nil, err
	}
	return f, nil
}

// openStore opens the credential store: $SFMCP_KEYRING, else the config's
// keyring, else the OS keychain. The file store is never chosen silently.
func openStore(e *Env, cfg *config.File) (*keychain.Store, error) {
	kind := e.Getenv("SFMCP_KEYRING")
	if kind == "" && cfg != nil {
		kind = cfg.Keyring
	}
	if cfg != nil && cfg.Locked("keyring") && kind != cfg.Keyring {
		file, _ := cfg.Source("keyring")
		return nil, usagef("unset SFMCP_KEYRING; your organisation chose the credential store", "%s sets keyring = %q for everyone; SFMCP_KEYRING=%s is not allowed", file, cfg.Keyring, kind)
	}
	timeout := 5 * time.Second
	if v := e.Getenv("SFMCP_KEYCHAIN_TIMEOUT"); v != "" {
		// Bounded both ways: too short fails every read, too long hangs
		// a helper that MCP clients give 10 s.
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 30*time.Second {
			return nil, usagef("e.g. SFMCP_KEYCHAIN_TIMEOUT=10s", "SFMCP_KEYCHAIN_TIMEOUT=%q is not a duration from 1s to 30s", v)
		}
		timeout = d
	}
	opts := keychain.Options{Kind: kind, FileDir: dataDir(e), Timeout: timeout, LockDir: lockDir(e)}
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		bus := paths.SessionBus(e.Getenv)
		opts.SessionBus = &bus
	}
	s, err := keychain.Open(opts)
	if err != nil {
		return nil, usagef("set SFMCP_KEYRING (or keyring in the config) to os or file", "%v", err)
	}
	return s, nil
}

// warnFileStore reminds the user, every time, that secrets are in a file.
func warnFileStore(e *Env, s *keychain.Store) {
	if s.Kind() == keychain.KindFile {
		fmt.Fprintf(e.Stderr, "sfmcp: warning: credentials are kept in a plain file (%s, mode 0600), not the OS keychain\n", s.Where())
	}
}

// dataDir is $XDG_DATA_HOME/sfmcp, else ~/.local/share/sfmcp.
// lockDir holds the credential store's write lock. It does not follow
// XDG_DATA_HOME: an auto-started daemon never sees that variable, and it
// must take the same lock as a login run from the user's shell.
func lockDir(e *Env) string {
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".local", "share", "sfmcp")
}

func dataDir(e *Env) string {
	if d := e.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "sfmcp")
	}
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".local", "share", "sfmcp")
}

// selectProfile picks the profile: --profile, else $SFMCP_PROFILE, else the
// one matching $CLAUDE_CODE_MCP_SERVER_URL, else the default.
func selectProfile(e *Env, cfg *config.File, flagValue string) (config.Profile, error) {
	name := flagValue
	if name == "" {
		name = e.Getenv("SFMCP_PROFILE")
	}
	return cfg.Select(name, e.Getenv("CLAUDE_CODE_MCP_SERVER_URL"))
}

// profileAndServer resolves the profile and the MCP server URL built on its
// host (for mcp-proxy and mcp add).
func profileAndServer(e *Env, profileName, server string) (config.Profile, string, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return config.Profile{}, "", err
	}
	p, err := selectProfile(e, cfg, profileName)
	if err != nil {
		return config.Profile{}, "", err
	}
	ep, err := p.Endpoint()
	if err != nil {
		return config.Profile{}, "", usagef("", "profile %s: %v", p.Name, err)
	}
	serverURL, err := config.MCPServerURL(ep, server)
	if err != nil {
		return config.Profile{}, "", usagef("", "%v", err)
	}
	if err := p.CheckServerURL(serverURL); err != nil {
		return config.Profile{}, "", err
	}
	return p, serverURL, nil
}
