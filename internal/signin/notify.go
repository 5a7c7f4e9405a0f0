package signin

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/sfmcp/sfmcp/internal/expiry"
)

// The daemon tells the user on the desktop when a sign-in needs them: it
// expires soon, or Snowflake needs a new one the daemon did not open.
// Notifications show where the platform has a notifier (osascript,
// notify-send); SFMCP_NO_NOTIFY=1 keeps them to the daemon's log.

// NotifyExpiring shows that profile's sign-in expires in left
// (daemon.Options.ExpiryWarning); nil with SFMCP_NO_NOTIFY=1.
func NotifyExpiring(getenv func(string) string) func(profile string, left time.Duration) {
	if getenv("SFMCP_NO_NOTIFY") == "1" {
		return nil
	}
	return func(profile string, left time.Duration) { notify(expiringNotice(profile, left)) }
}

// NotifyNeeded shows that profile needs a new sign-in the daemon did not
// open (over SSH, or turned off), naming the command that makes it
// (daemon.Options.NeedsSignIn); nil without a desktop, or with
// SFMCP_NO_NOTIFY=1.
func NotifyNeeded(getenv func(string) string) func(profile, command string) {
	if getenv("SFMCP_NO_NOTIFY") == "1" || !AtDesktop(getenv) {
		return nil
	}
	return func(profile, command string) { notify(neededNotice(profile, command)) }
}

type notice struct{ title, body string }

func expiringNotice(profile string, left time.Duration) notice {
	return notice{"sfmcp: sign-in expires soon", fmt.Sprintf("Profile %s expires in %s. Run: sfmcp-token login --profile %s", profile, expiry.InWords(left), profile)}
}

func neededNotice(profile, command string) notice {
	return notice{"sfmcp: Snowflake needs a new sign-in", fmt.Sprintf("Profile %s must sign in again. Run: %s", profile, command)}
}

// notify shows n where the platform has a notifier.
func notify(n notice) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.CommandContext(ctx, "osascript", "-e", fmt.Sprintf("display notification %q with title %q", n.body, n.title))
	case "linux":
		if _, err := exec.LookPath("notify-send"); err != nil {
			return
		}
		cmd = exec.CommandContext(ctx, "notify-send", "--app-name=sfmcp", n.title, n.body)
	default:
		return
	}
	_ = cmd.Run()
}
