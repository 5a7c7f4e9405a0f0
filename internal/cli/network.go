package cli

import (
	"errors"
	"net/http"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/netconf"
	"github.com/sfmcp/sfmcp/keychain"
)

// The network of Snowflake connections is netconf's: the config's
// ca_file and https_proxy for a command a person runs, the one recorded
// with a sign-in for its tokens. This file builds a command's client and
// says where to fix a setting netconf refuses.

// configureHTTP prepares the client of a command a person runs.
func configureHTTP(e *Env, cfg *config.File) error {
	if e.HTTPClient != nil || e.userHTTP != nil {
		return nil
	}
	hc, err := netconf.CommandClient(cfg, netconf.EnvProxy(!e.networkFromConfigOnly))
	if err != nil {
		return networkError(cfg, err)
	}
	e.userHTTP = hc
	return nil
}

// snowflakeHTTP is the client for a command's Snowflake connections.
func (e *Env) snowflakeHTTP() *http.Client {
	if e.HTTPClient != nil {
		return e.HTTPClient
	}
	return e.userHTTP
}

// recordNetwork stores the config's network settings with a sign-in.
func recordNetwork(cfg *config.File, cred *keychain.Credential) error {
	if err := netconf.Record(cfg, cred); err != nil {
		return networkError(cfg, err)
	}
	return nil
}

// networkError says where to fix a network setting of cfg.
func networkError(cfg *config.File, err error) error {
	var bad *netconf.SettingError
	if errors.As(err, &bad) && bad.Setting == "https_proxy" {
		return usagef("e.g. https_proxy = \"http://proxy.example.com:3128\"", "%v in %s", err, cfg.Path)
	}
	return usagef("fix ca_file in "+cfg.Path, "%v", err)
}
