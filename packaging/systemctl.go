package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// DropIn is a unit drop-in that sets env for the service.
func DropIn(env map[string]string) string {
	var b strings.Builder
	b.WriteString("# Written by sfmcp-token service install: this user's sfmcp settings for\n# the sfmcp unit. sfmcp-token service uninstall removes it.\n[Service]\n")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		b.WriteString(environmentLine(k, env[k]) + "\n")
	}
	return b.String()
}

// environmentLine is a unit's Environment= line setting k to v, quoted as
// systemd unquotes it: a newline cannot start another directive, and %
// is doubled so systemd expands no specifier (%h, %u) in the value.
func environmentLine(k, v string) string {
	var b strings.Builder
	b.WriteString(`Environment="`)
	for _, c := range []byte(k + "=" + v) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '%':
			b.WriteString("%%")
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
