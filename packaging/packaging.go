// Package packaging installs sfmcp's daemon as a per-user service with
// github.com/kardianos/service: a systemd user unit on Linux, a launchd
// agent on macOS. It also holds what a distributor needs: the unit template
// (sfmcp.service.tmpl) and the release configuration (goreleaser.yaml).
package packaging

import (
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
)

// Name is the service's name: sfmcp.service, or the launchd label.
const Name = "sfmcp"

//go:embed sfmcp.service.tmpl
var systemdUnit string

// ErrUnsupported means this OS has no per-user service sfmcp can install.
var ErrUnsupported = errors.New("a per-user service is not supported on this system")

// Options describe the service to install.
type Options struct {
	Executable string            // absolute path of sfmcp-token
	Env        map[string]string // environment the daemon runs with
	Home       string            // the user's home directory
}

type noop struct{}

func (noop) Start(service.Service) error { return nil }
func (noop) Stop(service.Service) error  { return nil }

// New returns the per-user service for this OS.
func New(o Options) (service.Service, error) {
	args := []string{"daemon"}
	if runtime.GOOS == "darwin" {
		// launchd appends stderr to a file forever; the daemon's own
		// log file is rotated by size. systemd sends stderr to journald.
		args = append(args, "--log-file")
	}
	cfg := &service.Config{
		Name:        Name,
		DisplayName: "sfmcp token daemon",
		Description: "sfmcp: Snowflake OAuth tokens for MCP clients",
		Executable:  o.Executable,
		Arguments:   args,
		Option: service.KeyValue{
			"UserService":   true,
			"SystemdScript": systemdUnit,
			"KeepAlive":     true, // launchd restarts it when it exits
			"RunAtLoad":     true,
			"LogOutput":     true,
			"LogDirectory":  filepath.Join(o.Home, "Library", "Logs", "sfmcp"),
		},
	}
	switch runtime.GOOS {
	case "linux":
		// Choose systemd even when it is not running here (containers,
		// CI): install then writes the unit and says how to enable it.
		// The environment goes into a drop-in (DropIn), quoted as systemd
		// reads it; kardianos would write Environment= lines unquoted.
		for _, sys := range service.AvailableSystems() {
			if sys.String() == "linux-systemd" {
				return sys.New(noop{}, cfg)
			}
		}
		return nil, ErrUnsupported
	case "darwin":
		cfg.EnvVars = o.Env // the plist escapes them
		return service.New(noop{}, cfg)
	default:
		return nil, fmt.Errorf("%w (%s): run `sfmcp-token daemon` from your session's startup instead, or let `sfmcp-token headers` start it on demand", ErrUnsupported, runtime.GOOS)
	}
}

// UnitPath is the file install writes.
func UnitPath(home string) string {
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "LaunchAgents", Name+".plist")
	}
	return filepath.Join(home, ".config", "systemd", "user", Name+".service")
}

// EnableHint is what to run when the service manager could not be reached
// while installing.
func EnableHint() string {
	if runtime.GOOS == "darwin" {
		return "launchctl load -w " + "~/Library/LaunchAgents/" + Name + ".plist"
	}
	return "systemctl --user daemon-reload && systemctl --user enable --now " + Name + ".service"
}

// Environment picks the variables the daemon must run with so it finds the
// same config, socket and credential store as the user's shell.
func Environment(getenv func(string) string) map[string]string {
	env := map[string]string{}
	for _, k := range []string{"SFMCP_CONFIG", "SFMCP_SYSTEM_CONFIG", "SFMCP_SOCKET", "SFMCP_KEYRING", "SFMCP_KEYCHAIN_TIMEOUT", "SFMCP_NO_AUTO_LOGIN", "SFMCP_NO_NOTIFY", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "SSL_CERT_FILE", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	return env
}
