package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// Connection is what sfmcp takes from a Snowflake CLI connection.
type Connection struct {
	Name          string
	Account       string
	Host          string
	User          string
	Role          string
	Authenticator string // e.g. SNOWFLAKE_JWT for key-pair authentication
	PrivateKey    string // private_key_file (or private_key_path)
}

// SnowflakeCLIConnection reads a named connection the way the Snowflake CLI
// does: connections.toml (top-level tables) takes precedence over
// config.toml ([connections.NAME]); both live in $SNOWFLAKE_HOME, else
// ~/.snowflake, else the platform config dir. An empty name means
// $SNOWFLAKE_DEFAULT_CONNECTION_NAME, then config.toml's
// default_connection_name.
func SnowflakeCLIConnection(name string, getenv func(string) string) (Connection, error) {
	dir := snowflakeHome(getenv)
	type connFields struct {
		Account        string `toml:"account"`
		Host           string `toml:"host"`
		User           string `toml:"user"`
		Role           string `toml:"role"`
		Authenticator  string `toml:"authenticator"`
		PrivateKeyFile string `toml:"private_key_file"`
		PrivateKeyPath string `toml:"private_key_path"`
	}
	var cfg struct {
		DefaultConnectionName string                `toml:"default_connection_name"`
		Connections           map[string]connFields `toml:"connections"`
	}
	if err := decodeIfExists(filepath.Join(dir, "config.toml"), &cfg); err != nil {
		return Connection{}, err
	}
	conns := map[string]connFields{}
	if err := decodeIfExists(filepath.Join(dir, "connections.toml"), &conns); err != nil {
		return Connection{}, err
	}
	if name == "" {
		name = getenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME")
	}
	if name == "" {
		name = cfg.DefaultConnectionName
	}
	if name == "" {
		return Connection{}, fmt.Errorf("no Snowflake CLI connection named: pass --connection NAME or set SNOWFLAKE_DEFAULT_CONNECTION_NAME")
	}
	c, ok := conns[name]
	if !ok {
		c, ok = cfg.Connections[name]
	}
	if !ok {
		return Connection{}, fmt.Errorf("no Snowflake CLI connection %q in %s (connections.toml or config.toml)", name, dir)
	}
	if c.Account == "" && c.Host == "" {
		return Connection{}, fmt.Errorf("the Snowflake CLI connection %q has no account", name)
	}
	key := c.PrivateKeyFile
	if key == "" {
		key = c.PrivateKeyPath
	}
	return Connection{Name: name, Account: c.Account, Host: c.Host, User: c.User, Role: c.Role, Authenticator: c.Authenticator, PrivateKey: key}, nil
}

func snowflakeHome(getenv func(string) string) string {
	if d := getenv("SNOWFLAKE_HOME"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	dot := filepath.Join(home, ".snowflake")
	if st, err := os.Stat(dot); err == nil && st.IsDir() {
		return dot
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "snowflake")
	}
	return dot
}

func decodeIfExists(path string, v any) error {
	data, err := atomicfile.ReadFile(path, maxConfig, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the Snowflake CLI's connections: %w", err)
	}
	if err := checkNesting(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := toml.Decode(string(data), v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
