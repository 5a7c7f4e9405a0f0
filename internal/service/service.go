// Package service runs sfmcp's daemon as a per-user service: a systemd
// user unit on Linux, asked through systemctl so that every answer keeps
// its own reason, and a launchd agent on macOS through
// github.com/kardianos/service. It decides what the unit runs, which of
// the user's environment goes with it (in a drop-in, quoted as systemd
// reads it), and when the unit a package installed is used instead of
// writing a second one. It never prints: it returns what happened (a
// failure with its advice and exit code), and the CLI words it. The release files (the packaged unit, nfpm and
// GoReleaser configuration) are in packaging/.
package service

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	kservice "github.com/kardianos/service"
)

// Name is the service's name: sfmcp.service, or the launchd label.
const Name = "sfmcp"

// systemdUnit is the user unit's template (kardianos/service renders it);
// packaging/sfmcp.service is it rendered for the packages' /usr/bin.
//
//go:embed sfmcp.service.tmpl
var systemdUnit string

// ErrUnsupported means this OS has no per-user service sfmcp can install.
var ErrUnsupported = errors.New("a per-user service is not supported on this system")

// Options describe the service.
type Options struct {
	Executable string // absolute path of sfmcp-token
	// Home is the user's home directory; "" for Getenv's HOME, else the
	// OS's idea of it.
	Home   string
	Getenv func(string) string // the user's environment (see Environment)
}

// Service is sfmcp's per-user service for one user.
type Service struct {
	// Unit is the file that defines the service: the user's own unit or
	// agent (UnitPath), or, when Packaged, the unit a package installed.
	Unit     string
	Packaged bool
	own      string
	svc      kservice.Service
	home     string
	getenv   func(string) string
}

// Open describes the service that runs o.Executable for this user. A
// package's unit is used when the user has none of their own.
func Open(o Options) (*Service, error) {
	if o.Home == "" {
		o.Home = o.Getenv("HOME")
	}
	if o.Home == "" {
		o.Home, _ = os.UserHomeDir()
	}
	svc, err := newService(o.Executable, Environment(o.Getenv), o.Home)
	if err != nil {
		return nil, err
	}
	s := &Service{Unit: UnitPath(o.Home), own: UnitPath(o.Home), svc: svc, home: o.Home, getenv: o.Getenv}
	if packaged(s.own) {
		s.Unit, s.Packaged = PackagedUnit, true
	}
	return s, nil
}

// packaged: a package installed the unit and the user has none of their
// own, so install enables that one rather than writing a second.
func packaged(userUnit string) bool {
	if !systemd() {
		return false
	}
	if _, err := os.Stat(userUnit); err == nil {
		return false
	}
	_, err := os.Stat(PackagedUnit)
	return err == nil
}

// systemd is whether the service is a systemd user unit, which sfmcp asks
// systemctl about directly so every answer keeps its own reason.
func systemd() bool { return runtime.GOOS == "linux" }

type noop struct{}

func (noop) Start(kservice.Service) error { return nil }
func (noop) Stop(kservice.Service) error  { return nil }

// newService is kardianos' service for this OS, running `exe daemon`.
func newService(exe string, env map[string]string, home string) (kservice.Service, error) {
	args := []string{"daemon"}
	if runtime.GOOS == "darwin" {
		// launchd appends stderr to a file forever; the daemon's own
		// log file is rotated by size. systemd sends stderr to journald.
		args = append(args, "--log-file")
	}
	cfg := &kservice.Config{
		Name:        Name,
		DisplayName: "sfmcp token daemon",
		Description: "sfmcp: Snowflake OAuth tokens for MCP clients",
		Executable:  exe,
		Arguments:   args,
		Option: kservice.KeyValue{
			"UserService":   true,
			"SystemdScript": systemdUnit,
			"KeepAlive":     true, // launchd restarts it when it exits
			"RunAtLoad":     true,
			"LogOutput":     true,
			"LogDirectory":  filepath.Join(home, "Library", "Logs", "sfmcp"),
		},
	}
	switch runtime.GOOS {
	case "linux":
		// Choose systemd even when it is not running here (containers,
		// CI): install then writes the unit and says how to enable it.
		// The environment goes into a drop-in (DropIn), quoted as systemd
		// reads it; kardianos would write Environment= lines unquoted.
		for _, sys := range kservice.AvailableSystems() {
			if sys.String() == "linux-systemd" {
				return sys.New(noop{}, cfg)
			}
		}
		return nil, ErrUnsupported
	case "darwin":
		cfg.EnvVars = env // the plist escapes them
		return kservice.New(noop{}, cfg)
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
