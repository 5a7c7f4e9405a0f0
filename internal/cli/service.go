package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

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
	home := e.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if exe == "" {
		p, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this program's path (pass --executable): %w", err)
		}
		exe = p
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return err
	}
	svc, err := packaging.New(packaging.Options{Executable: abs, Env: packaging.Environment(e.Getenv), Home: home})
	if err != nil {
		return withAdvice(err, exitcode.Usage, "")
	}
	unit := packaging.UnitPath(home)
	switch action {
	case "install":
		return serviceInstall(e, svc, unit)
	case "uninstall":
		return serviceUninstall(e, svc, unit)
	case "start", "stop", "restart":
		if err := service.Control(svc, action); err != nil {
			return withAdvice(fmt.Errorf("service %s: %w", action, err), exitcode.Unavailable, "is it installed? run: sfmcp-token service install")
		}
		fmt.Fprintf(e.Stdout, "sfmcp service: %s done\n", action)
		return nil
	case "status":
		st, err := svc.Status()
		state := map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped"}[st]
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			state = "not installed"
		case err != nil && state == "":
			state = "unknown (" + err.Error() + ")"
		}
		fmt.Fprintf(e.Stdout, "sfmcp service: %s (%s)\n", state, unit)
		return nil
	}
	return fmt.Errorf("service: unknown action %q", action)
}

// serviceInstall writes the unit (replacing an older one, so an upgrade or
// a moved binary is picked up) and enables it. Without a reachable service
// manager the unit is still written and the user is told how to enable it.
func serviceInstall(e *Env, svc service.Service, unit string) error {
	if _, err := os.Stat(unit); err == nil {
		_ = svc.Uninstall()
		_ = os.Remove(unit)
	}
	err := svc.Install()
	if _, statErr := os.Stat(unit); statErr != nil {
		if err == nil {
			err = statErr
		}
		return withAdvice(fmt.Errorf("install the sfmcp service: %w", err), exitcode.Error, "")
	}
	if err != nil {
		fmt.Fprintf(e.Stdout, "Wrote %s, but the service manager could not enable it here (%v).\nEnable it in your desktop session with:\n  %s\n", unit, err, packaging.EnableHint())
		return nil
	}
	fmt.Fprintf(e.Stdout, "Installed and enabled the sfmcp service (%s). It starts at login and restarts on failure.\n", unit)
	return nil
}

// serviceUninstall disables and removes the unit; without a service manager
// it still removes the file, so nothing is left behind.
func serviceUninstall(e *Env, svc service.Service, unit string) error {
	err := svc.Uninstall()
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
