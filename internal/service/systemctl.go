package service

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Answer is what systemctl said about the sfmcp user unit: a state in its
// own words ("enabled", "disabled", "active", "inactive", "failed"), or,
// when it could not tell, why (Err, with systemctl's message).
type Answer struct {
	State string
	Err   error
}

// UnitEnabled asks whether the unit starts at login. systemctl answers
// this from the unit files, without the user's service manager.
func UnitEnabled() Answer { return systemctlQuery("is-enabled") }

// UnitActive asks whether the unit runs now; only the user's service
// manager knows.
func UnitActive() Answer { return systemctlQuery("is-active") }

func systemctlQuery(verb string) Answer {
	var out, errOut bytes.Buffer
	cmd := exec.Command("systemctl", "--user", verb, Name+".service")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	// A state on stdout is an answer even with a non-zero exit
	// ("disabled", "inactive").
	if state := strings.TrimSpace(out.String()); state != "" {
		return Answer{State: state}
	}
	return Answer{Err: systemctlError(err, errOut.String())}
}

// ControlUnit starts, stops or restarts the unit and returns systemctl's
// own words when it fails.
func ControlUnit(action string) error {
	var errOut bytes.Buffer
	cmd := exec.Command("systemctl", "--user", action, Name+".service")
	cmd.Stderr = &errOut
	return systemctlError(cmd.Run(), errOut.String())
}

func systemctlError(err error, stderr string) error {
	if err == nil {
		return nil
	}
	if msg := strings.TrimSpace(stderr); msg != "" {
		return errors.New(strings.Join(strings.Fields(msg), " "))
	}
	return err
}

// UserManagerRunning reports whether this user has a systemd user
// instance to talk to: its private socket under the runtime directory.
// Without one, systemctl --user can read unit files but cannot start,
// stop or report on a unit.
func UserManagerRunning(getenv func(string) string) bool {
	dirs := []string{filepath.Join("/run/user", strconv.Itoa(os.Getuid()))}
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, "systemd", "private")); err == nil && st.Mode().Type() == os.ModeSocket {
			return true
		}
	}
	return false
}

// NoUserManagerAdvice says how to get a systemd user instance.
const NoUserManagerAdvice = "no systemd user manager runs for you here (no systemd/private socket in your runtime directory, as in containers and some SSH or su sessions): log in through a session that starts one, or keep one running without a login: sudo loginctl enable-linger $USER. Until then the daemon starts on demand."

// DaemonReload makes the user's service manager read the unit files again.
func DaemonReload() error {
	var errOut bytes.Buffer
	cmd := exec.Command("systemctl", "--user", "daemon-reload")
	cmd.Stderr = &errOut
	return systemctlError(cmd.Run(), errOut.String())
}

// SystemdRunning reports whether systemd is this machine's init (as
// sd_booted(3) decides): without it no unit ever starts, whatever
// systemctl can write.
func SystemdRunning() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// NoSystemdAdvice says what a unit means on a machine without systemd.
const NoSystemdAdvice = "this machine does not run systemd (no /run/systemd/system, as in most containers), so nothing will start the unit here; the daemon starts on demand instead"

// PackagedUnit is where the .deb and .rpm install the user unit.
const PackagedUnit = "/usr/lib/systemd/user/" + Name + ".service"

// EnableUnit enables (and starts) the unit, as systemctl --user enable
// --now does; disable undoes it.
func EnableUnit(enable bool) error {
	verb := "enable"
	if !enable {
		verb = "disable"
	}
	var errOut bytes.Buffer
	cmd := exec.Command("systemctl", "--user", verb, "--now", Name+".service")
	cmd.Stderr = &errOut
	return systemctlError(cmd.Run(), errOut.String())
}

// whyNoManager is why systemctl could not reach a service manager here,
// when that is the reason: no systemd, or no user manager for this user.
func whyNoManager(getenv func(string) string) string {
	switch {
	case !SystemdRunning():
		return NoSystemdAdvice
	case !UserManagerRunning(getenv):
		return NoUserManagerAdvice
	}
	return ""
}
