package cli

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/sfmcp/sfmcp/internal/signin"
)

// notifyExpiry shows a desktop notification that a sign-in expires soon,
// where the platform has a notifier (notify-send, osascript). Set
// SFMCP_NO_NOTIFY=1 to keep it to the log line.
func notifyExpiry(e *Env) func(profile string, left time.Duration) {
	if e.Getenv("SFMCP_NO_NOTIFY") == "1" {
		return nil
	}
	return func(profile string, left time.Duration) {
		notify("sfmcp: sign-in expires soon", fmt.Sprintf("Profile %s expires in %d days. Run: sfmcp-token login --profile %s", profile, int(left.Hours()/24), profile))
	}
}

// notifySignIn shows a desktop notification that a profile needs a new
// sign-in the daemon did not open (over SSH, or turned off), naming the
// command; nil without a desktop.
func notifySignIn(e *Env) func(profile, command string) {
	if e.Getenv("SFMCP_NO_NOTIFY") == "1" || !signin.AtDesktop(e.Getenv) {
		return nil
	}
	return func(profile, command string) {
		notify("sfmcp: Snowflake needs a new sign-in", fmt.Sprintf("Profile %s must sign in again. Run: %s", profile, command))
	}
}

// notify shows one desktop notification where the platform has a notifier.
func notify(title, body string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.CommandContext(ctx, "osascript", "-e", fmt.Sprintf("display notification %q with title %q", body, title))
	case "linux":
		if _, err := exec.LookPath("notify-send"); err != nil {
			return
		}
		cmd = exec.CommandContext(ctx, "notify-send", "--app-name=sfmcp", title, body)
	default:
		return
	}
	_ = cmd.Run()
}
