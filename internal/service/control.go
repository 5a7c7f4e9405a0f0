package service

import (
	"errors"
	"fmt"
	"os"

	kservice "github.com/kardianos/service"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// Kind says what failed.
type Kind int

const (
	Files          Kind = iota // sfmcp's own files: the unit, the drop-in
	Manager                    // the service manager (systemd, launchd)
	NotInstalled               // there is no unit to act on
	BadEnvironment             // the user's environment holds a value the unit cannot carry
)

// Error is a step that failed, with what the user can do about it.
type Error struct {
	Kind   Kind
	Err    error
	Advice string // "" when there is nothing to add
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the exit code of a command that failed so: the service
// command and setup, which installs the service, end alike.
func (e *Error) ExitCode() int {
	switch e.Kind {
	case Manager:
		return exitcode.Unavailable // try again when it runs
	case NotInstalled, BadEnvironment:
		return exitcode.Usage // the user can fix it
	}
	return exitcode.Error
}

// ErrNotInstalled: there is no unit to start, stop or restart.
var ErrNotInstalled = errors.New("the sfmcp service is not installed")

// InstallState is how far Install got.
type InstallState int

const (
	Enabled           InstallState = iota // installed and enabled: it starts at login and restarts on failure
	EnabledNextLogin                      // enabled, but the service manager could not be told now: it starts at the next login
	WrittenNoSystemd                      // the unit is written, but this machine does not run systemd
	WrittenNotEnabled                     // the unit is written, but the service manager could not enable it
	PackagedEnabled                       // the unit a package installed is enabled
)

// Installed is what Install did.
type Installed struct {
	State InstallState
	// Err is why the service manager could not be told, when it could not.
	Err error
	// NoUserManager: EnabledNextLogin because no systemd user manager
	// runs for this user here.
	NoUserManager bool
}

// Install writes the unit (replacing an older one, so an upgrade or a
// moved binary is picked up) and enables it, or enables the packaged
// unit. Without a reachable service manager the unit is still written,
// and Installed says what is and is not done.
func (s *Service) Install() (Installed, error) {
	if s.Packaged {
		return Installed{State: PackagedEnabled}, s.enablePackaged(true)
	}
	if _, err := os.Stat(s.own); err == nil {
		_ = s.svc.Uninstall()
		_ = os.Remove(s.own)
	}
	if systemd() {
		if err := s.writeDropIn(true); err != nil {
			return Installed{}, err
		}
	}
	err := s.svc.Install()
	if _, statErr := os.Stat(s.own); statErr != nil {
		if err == nil {
			err = statErr
		}
		return Installed{}, &Error{Kind: Files, Err: fmt.Errorf("install the sfmcp service: %w", err)}
	}
	switch {
	case err == nil:
		return Installed{State: Enabled}, nil
	case !systemd():
		return Installed{State: WrittenNotEnabled, Err: err}, nil
	}
	if rerr := DaemonReload(); rerr != nil {
		err = rerr // systemctl's own words beat "exit status 1"
	}
	switch {
	case !SystemdRunning():
		return Installed{State: WrittenNoSystemd, Err: err}, nil
	case UnitEnabled().State == "enabled":
		return Installed{State: EnabledNextLogin, Err: err, NoUserManager: !UserManagerRunning(s.getenv)}, nil
	}
	return Installed{State: WrittenNotEnabled, Err: err}, nil
}

// Uninstall disables and removes the unit and the environment drop-in, or
// disables the packaged unit. Without a service manager it still removes
// the files, so nothing is left behind; unreachable is why the manager
// could not be told.
func (s *Service) Uninstall() (unreachable, err error) {
	if s.Packaged {
		return nil, s.enablePackaged(false)
	}
	unreachable = s.svc.Uninstall()
	if systemd() {
		if err := s.writeDropIn(false); err != nil {
			return nil, err
		}
	}
	if err := os.Remove(s.own); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, &Error{Kind: Files, Err: fmt.Errorf("remove %s: %w", s.own, err)}
	}
	return unreachable, nil
}

// enablePackaged enables (and starts) or disables the packaged unit. That
// unit carries no environment: the settings a user unit would carry
// (SFMCP_CONFIG, SFMCP_SYSTEM_CONFIG, proxies, …) go into the drop-in
// beside it, removed again when it is disabled.
func (s *Service) enablePackaged(enable bool) error {
	action, verb := "install", "enable"
	if !enable {
		action, verb = "uninstall", "disable"
	}
	if err := s.writeDropIn(enable); err != nil {
		return err
	}
	if err := EnableUnit(enable); err != nil {
		advice := whyNoManager(s.getenv)
		if advice == "" {
			advice = "run in your desktop session: systemctl --user " + verb + " --now " + Name + ".service"
		}
		return &Error{Kind: Manager, Err: fmt.Errorf("service %s: the packaged unit %s: %w", action, PackagedUnit, err), Advice: advice}
	}
	return nil
}

// Control starts, stops or restarts the service.
func (s *Service) Control(action string) error {
	if _, err := os.Stat(s.Unit); err != nil {
		return &Error{Kind: NotInstalled, Err: fmt.Errorf("service %s: %w (%s)", action, ErrNotInstalled, s.Unit), Advice: "install it: sfmcp-token service install"}
	}
	var err error
	if systemd() {
		err = ControlUnit(action)
	} else {
		err = kservice.Control(s.svc, action)
	}
	if err != nil {
		return &Error{Kind: Manager, Err: fmt.Errorf("service %s: %w", action, err), Advice: s.controlAdvice()}
	}
	return nil
}

// controlAdvice is where to look when the service manager failed a start,
// stop or restart.
func (s *Service) controlAdvice() string {
	if !systemd() {
		return "see ~/Library/Logs/sfmcp/"
	}
	if why := whyNoManager(s.getenv); why != "" {
		return why
	}
	return "see the service's log: journalctl --user -u " + Name
}

// Status is what can be told about the service, each answer separately.
type Status struct {
	Installed bool
	// Systemd: Enabled and Running are systemctl's answers. Else (launchd,
	// which loads an installed agent at login) Running is "yes" or "no",
	// or empty with Err when it cannot be told.
	Systemd          bool
	Enabled, Running Answer
	// Why is why systemctl could not tell whether the unit runs, when the
	// reason is that no service manager is reachable here.
	Why string
}

// Status asks the service manager about the service.
func (s *Service) Status() Status {
	st := Status{Systemd: systemd()}
	if _, err := os.Stat(s.Unit); err != nil {
		return st
	}
	st.Installed = true
	if !st.Systemd {
		state, err := s.svc.Status()
		st.Running = Answer{State: map[kservice.Status]string{kservice.StatusRunning: "yes", kservice.StatusStopped: "no"}[state], Err: err}
		return st
	}
	st.Enabled, st.Running = UnitEnabled(), UnitActive()
	if st.Running.Err != nil {
		st.Why = whyNoManager(s.getenv)
	}
	return st
}
