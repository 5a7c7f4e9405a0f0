package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"unicode/utf8"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/packaging"
)

func newServiceCommand(e *Env) *cobra.Command {
	var subs []*cobra.Command
	for _, a := range []struct{ name, short string }{
		{"install", "Install and enable the per-user service (systemd user unit or launchd agent)"},
		{"uninstall", "Disable and remove the per-user service"},
		{"start", "Start the service"},
		{"stop", "Stop the service"},
		{"restart", "Restart the service"},
		{"status", "Say whether the service is installed and running"},
	} {
		var exe string
		c := &cobra.Command{
			Use:     a.name,
			Short:   a.short,
			Example: "  sfmcp-token service " + a.name,
			Args:    noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runService(e, cmd.Name(), exe)
			},
		}
		c.Flags().StringVar(&exe, "executable", "", "path of sfmcp-token the service runs (default: this binary)")
		subs = append(subs, c)
	}
	c := group("service COMMAND", "Run the daemon as a per-user service", subs...)
	c.Long = `Run the token daemon as a systemd user unit (Linux) or a launchd agent
(macOS), so it starts at login with the session's keychain. Without it the
daemon starts on demand.`
	return c
}

func runService(e *Env, action, exe string) error {
	svc, unit, err := userService(e, exe)
	if err != nil {
		return err
	}
	if packaged(unit) {
		return packagedService(e, action)
	}
	switch action {
	case "install":
		_, err := serviceInstall(e, svc, unit)
		return err
	case "uninstall":
		return serviceUninstall(e, svc, unit)
	case "start", "stop", "restart":
		return serviceControl(e, svc, unit, action)
	case "status":
		return serviceStatus(e, svc, unit)
	}
	return fmt.Errorf("service: unknown action %q", action)
}

// userService is the per-user service running exe (default: this binary)
// and the file that defines it.
func userService(e *Env, exe string) (service.Service, string, error) {
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if exe == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, "", fmt.Errorf("find this program's path (pass --executable): %w", err)
		}
		exe = p
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return nil, "", err
	}
	svc, err := packaging.New(packaging.Options{Executable: abs, Env: packaging.Environment(e.Getenv), Home: home})
	if err != nil {
		return nil, "", withAdvice(err, exitcode.Usage, "")
	}
	return svc, packaging.UnitPath(home), nil
}

// installService installs the service for setup and says, in one line,
// what that achieved.
func installService(e *Env) (string, error) {
	svc, unit, err := userService(e, "")
	if err != nil {
		return "", err
	}
	if packaged(unit) {
		if err := packagedService(e, "install"); err != nil {
			return "", err
		}
		return "service: the packaged unit " + packaging.PackagedUnit + " is enabled", nil
	}
	return serviceInstall(e, svc, unit)
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
	_, err := os.Stat(packaging.PackagedUnit)
	return err == nil
}

// packagedService manages the unit a package installed.
func packagedService(e *Env, action string) error {
	unit := packaging.PackagedUnit
	switch action {
	case "install", "uninstall":
		enable, verb := action == "install", "enable"
		if !enable {
			verb = "disable"
		}
		// The packaged unit carries no environment: the settings a user
		// unit would carry (SFMCP_CONFIG, SFMCP_SYSTEM_CONFIG, proxies, …)
		// go into a drop-in beside it, removed again on uninstall.
		if err := environmentDropIn(e, enable); err != nil {
			return err
		}
		if err := packaging.EnableUnit(enable); err != nil {
			advice := "run in your desktop session: systemctl --user " + verb + " --now sfmcp.service"
			if !packaging.SystemdRunning() {
				advice = packaging.NoSystemdAdvice
			} else if !packaging.UserManagerRunning(e.Getenv) {
				advice = packaging.NoUserManagerAdvice
			}
			return withAdvice(fmt.Errorf("service %s: the packaged unit %s: %w", action, unit, err), exitcode.Unavailable, advice)
		}
		fmt.Fprintf(e.Stdout, "sfmcp service: the packaged unit %s is %sd for you.\n", unit, verb)
		return nil
	case "start", "stop", "restart":
		return serviceControl(e, nil, unit, action)
	}
	return serviceStatus(e, nil, unit)
}

// environmentDropIn writes (or removes) the drop-in that gives the unit,
// the packaged one or the user's own, this user's sfmcp environment.
func environmentDropIn(e *Env, write bool) error {
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	dropIn := filepath.Join(home, ".config", "systemd", "user", packaging.Name+".service.d", "sfmcp-environment.conf")
	env := packaging.Environment(e.Getenv)
	if !write || len(env) == 0 {
		if err := os.Remove(dropIn); err != nil && !errors.Is(err, os.ErrNotExist) {
			return withAdvice(fmt.Errorf("remove %s: %w", dropIn, err), exitcode.Error, "remove it by hand")
		}
		return nil
	}
	for k, v := range env {
		// systemd drops an assignment that is not UTF-8, with only a
		// journal line: the service would run without it.
		if !utf8.ValidString(v) {
			return usagef("set "+k+" to a UTF-8 value, then run this again", "%s is not UTF-8 text, which systemd would drop from the service", k)
		}
	}
	if err := atomicfile.Write(dropIn, []byte(packaging.DropIn(env)), 0o600); err != nil {
		return withAdvice(fmt.Errorf("write %s: %w", dropIn, err), exitcode.Error, "check that you can write "+filepath.Dir(dropIn))
	}
	return nil
}

// systemd is whether the service is a systemd user unit, which sfmcp asks
// systemctl about directly so every answer keeps its own reason.
func systemd() bool { return runtime.GOOS == "linux" }

// serviceStatus shows installed, enabled and running separately, each
// with its reason when it cannot be told.
func serviceStatus(e *Env, svc service.Service, unit string) error {
	_, err := os.Stat(unit)
	installed := err == nil
	fmt.Fprintf(e.Stdout, "sfmcp service (%s)\n", unit)
	fmt.Fprintf(e.Stdout, "  installed: %s\n", yesNo(installed))
	if !installed {
		fmt.Fprintln(e.Stdout, "  → install it: sfmcp-token service install (the daemon starts on demand without it)")
		return nil
	}
	if !systemd() {
		// launchd loads an installed agent at login (RunAtLoad).
		st, err := svc.Status()
		running := map[service.Status]string{service.StatusRunning: "yes", service.StatusStopped: "no"}[st]
		if running == "" {
			running = "unknown (" + errString(err) + ")"
		}
		fmt.Fprintf(e.Stdout, "  enabled:   yes (launchd loads it at login)\n  running:   %s\n", running)
		return nil
	}
	enabled, active := packaging.UnitEnabled(), packaging.UnitActive()
	fmt.Fprintf(e.Stdout, "  enabled:   %s\n", answerText(enabled))
	fmt.Fprintf(e.Stdout, "  running:   %s\n", answerText(active))
	switch {
	case active.Err == nil:
	case !packaging.SystemdRunning():
		fmt.Fprintf(e.Stdout, "  → %s\n", packaging.NoSystemdAdvice)
	case !packaging.UserManagerRunning(e.Getenv):
		fmt.Fprintf(e.Stdout, "  → %s\n", packaging.NoUserManagerAdvice)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// answerText is systemctl's answer, or "unknown" with its reason.
func answerText(a packaging.Answer) string {
	if a.Err != nil {
		return "unknown: " + a.Err.Error()
	}
	return a.State
}

func serviceControl(e *Env, svc service.Service, unit, action string) error {
	if _, err := os.Stat(unit); err != nil {
		return withAdvice(fmt.Errorf("service %s: the sfmcp service is not installed (%s)", action, unit), exitcode.Usage, "install it: sfmcp-token service install")
	}
	var err error
	if systemd() {
		err = packaging.ControlUnit(action)
	} else {
		err = service.Control(svc, action)
	}
	if err != nil {
		advice := "see the service's log: journalctl --user -u " + packaging.Name
		if systemd() && !packaging.SystemdRunning() {
			advice = packaging.NoSystemdAdvice
		} else if systemd() && !packaging.UserManagerRunning(e.Getenv) {
			advice = packaging.NoUserManagerAdvice
		} else if !systemd() {
			advice = "see ~/Library/Logs/sfmcp/"
		}
		return withAdvice(fmt.Errorf("service %s: %w", action, err), exitcode.Unavailable, advice)
	}
	fmt.Fprintf(e.Stdout, "sfmcp service: %s done\n", action)
	return nil
}

// serviceInstall writes the unit (replacing an older one, so an upgrade or
// a moved binary is picked up) and enables it. Without a reachable service
// manager the unit is still written, and the user is told what is and is
// not done. It returns that in one line, for setup's summary.
func serviceInstall(e *Env, svc service.Service, unit string) (string, error) {
	if _, err := os.Stat(unit); err == nil {
		_ = svc.Uninstall()
		_ = os.Remove(unit)
	}
	if systemd() {
		if err := environmentDropIn(e, true); err != nil {
			return "", err
		}
	}
	err := svc.Install()
	if _, statErr := os.Stat(unit); statErr != nil {
		if err == nil {
			err = statErr
		}
		return "", withAdvice(fmt.Errorf("install the sfmcp service: %w", err), exitcode.Error, "")
	}
	if err == nil {
		fmt.Fprintf(e.Stdout, "Installed and enabled the sfmcp service (%s). It starts at login and restarts on failure.\n", unit)
		return "service: installed and enabled (" + unit + ")", nil
	}
	if systemd() {
		if rerr := packaging.DaemonReload(); rerr != nil {
			err = rerr // systemctl's own words beat "exit status 1"
		}
		if !packaging.SystemdRunning() {
			fmt.Fprintf(e.Stdout, "Wrote %s, but %s.\n", unit, packaging.NoSystemdAdvice)
			return "service: unit written, but this machine does not run systemd; the daemon starts on demand", nil
		}
		if en := packaging.UnitEnabled(); en.State == "enabled" {
			fmt.Fprintf(e.Stdout, "Installed and enabled the sfmcp service (%s): it starts at your next login.\nThe service manager could not be told now (%v).\n", unit, err)
			if !packaging.UserManagerRunning(e.Getenv) {
				fmt.Fprintf(e.Stdout, "%s\n", packaging.NoUserManagerAdvice)
			}
			return "service: installed and enabled; it starts at your next login", nil
		}
	}
	fmt.Fprintf(e.Stdout, "Wrote %s, but the service manager could not enable it here (%v).\nEnable it in your desktop session with:\n  %s\n", unit, err, packaging.EnableHint())
	return "service: unit written but not enabled (run: " + packaging.EnableHint() + ")", nil
}

// serviceUninstall disables and removes the unit; without a service manager
// it still removes the file, so nothing is left behind.
func serviceUninstall(e *Env, svc service.Service, unit string) error {
	err := svc.Uninstall()
	if systemd() {
		if rmErr := environmentDropIn(e, false); rmErr != nil {
			return rmErr
		}
	}
	if rmErr := os.Remove(unit); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		return withAdvice(fmt.Errorf("remove %s: %w", unit, rmErr), exitcode.Error, "")
	}
	if err != nil {
		fmt.Fprintf(e.Stdout, "Removed %s (the service manager could not be reached to disable it: %v).\n", unit, err)
		return nil
	}
	fmt.Fprintf(e.Stdout, "Uninstalled the sfmcp service (%s).\n", unit)
	return nil
}
