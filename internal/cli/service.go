package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/service"
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
	svc, err := userService(e, exe)
	if err != nil {
		return err
	}
	switch action {
	case "install":
		_, err := serviceInstall(e, svc)
		return err
	case "uninstall":
		return serviceUninstall(e, svc)
	case "start", "stop", "restart":
		if err := svc.Control(action); err != nil {
			return serviceError(err)
		}
		fmt.Fprintf(e.Stdout, "sfmcp service: %s done\n", action)
		return nil
	case "status":
		serviceStatus(e, svc)
		return nil
	}
	return fmt.Errorf("service: unknown action %q", action)
}

// userService is the per-user service running exe (default: this binary).
func userService(e *Env, exe string) (*service.Service, error) {
	if exe == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this program's path (pass --executable): %w", err)
		}
		exe = p
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return nil, err
	}
	svc, err := service.Open(service.Options{Executable: abs, Getenv: e.Getenv})
	if err != nil {
		return nil, withAdvice(err, exitcode.Usage, "")
	}
	return svc, nil
}

// installService installs the service for setup and says, in one line,
// what that achieved.
func installService(e *Env) (string, error) {
	svc, err := userService(e, "")
	if err != nil {
		return "", err
	}
	return serviceInstall(e, svc)
}

// serviceError gives a service failure its exit code and next step.
func serviceError(err error) error {
	var se *service.Error
	if !errors.As(err, &se) {
		return err
	}
	return withAdvice(err, se.ExitCode(), se.Advice)
}

// serviceStatus shows installed, enabled and running separately, each
// with its reason when it cannot be told.
func serviceStatus(e *Env, svc *service.Service) {
	st := svc.Status()
	fmt.Fprintf(e.Stdout, "sfmcp service (%s)\n", svc.Unit)
	fmt.Fprintf(e.Stdout, "  installed: %s\n", yesNo(st.Installed))
	switch {
	case !st.Installed:
		fmt.Fprintln(e.Stdout, "  → install it: sfmcp-token service install (the daemon starts on demand without it)")
	case !st.Systemd:
		running := st.Running.State
		if running == "" {
			running = "unknown (" + errString(st.Running.Err) + ")"
		}
		fmt.Fprintf(e.Stdout, "  enabled:   yes (launchd loads it at login)\n  running:   %s\n", running)
	default:
		fmt.Fprintf(e.Stdout, "  enabled:   %s\n", answerText(st.Enabled))
		fmt.Fprintf(e.Stdout, "  running:   %s\n", answerText(st.Running))
		if st.Why != "" {
			fmt.Fprintf(e.Stdout, "  → %s\n", st.Why)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// answerText is systemctl's answer, or "unknown" with its reason.
func answerText(a service.Answer) string {
	if a.Err != nil {
		return "unknown: " + a.Err.Error()
	}
	return a.State
}

// serviceInstall installs the service and says what that did, and then
// in one line for setup's summary.
func serviceInstall(e *Env, svc *service.Service) (string, error) {
	done, err := svc.Install()
	if err != nil {
		return "", serviceError(err)
	}
	unit := svc.Unit
	switch done.State {
	case service.PackagedEnabled:
		fmt.Fprintf(e.Stdout, "sfmcp service: the packaged unit %s is enabled for you.\n", unit)
		return "service: the packaged unit " + unit + " is enabled", nil
	case service.Enabled:
		fmt.Fprintf(e.Stdout, "Installed and enabled the sfmcp service (%s). It starts at login and restarts on failure.\n", unit)
		return "service: installed and enabled (" + unit + ")", nil
	case service.WrittenNoSystemd:
		fmt.Fprintf(e.Stdout, "Wrote %s, but %s.\n", unit, service.NoSystemdAdvice)
		return "service: unit written, but this machine does not run systemd; the daemon starts on demand", nil
	case service.EnabledNextLogin:
		fmt.Fprintf(e.Stdout, "Installed and enabled the sfmcp service (%s): it starts at your next login.\nThe service manager could not be told now (%v).\n", unit, done.Err)
		if done.NoUserManager {
			fmt.Fprintf(e.Stdout, "%s\n", service.NoUserManagerAdvice)
		}
		return "service: installed and enabled; it starts at your next login", nil
	}
	fmt.Fprintf(e.Stdout, "Wrote %s, but the service manager could not enable it here (%v).\nEnable it in your desktop session with:\n  %s\n", unit, done.Err, service.EnableHint())
	return "service: unit written but not enabled (run: " + service.EnableHint() + ")", nil
}

// serviceUninstall disables and removes the unit; without a service
// manager the files are still removed.
func serviceUninstall(e *Env, svc *service.Service) error {
	unreachable, err := svc.Uninstall()
	switch {
	case err != nil:
		return serviceError(err)
	case svc.Packaged:
		fmt.Fprintf(e.Stdout, "sfmcp service: the packaged unit %s is disabled for you.\n", svc.Unit)
	case unreachable != nil:
		fmt.Fprintf(e.Stdout, "Removed %s (the service manager could not be reached to disable it: %v).\n", svc.Unit, unreachable)
	default:
		fmt.Fprintf(e.Stdout, "Uninstalled the sfmcp service (%s).\n", svc.Unit)
	}
	return nil
}
