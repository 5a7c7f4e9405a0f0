package signin

import "runtime"

// AtDesktop reports whether this process runs in a session with a screen
// to open a browser on: a macOS login, or elsewhere an X or Wayland
// display. A session bus alone is no screen: containers, lingering user
// sessions, CI runners and dbus-run-session have one, and a browser opened
// there shows nowhere.
func AtDesktop(getenv func(string) string) bool {
	switch runtime.GOOS {
	case "darwin":
		return true
	case "windows":
		return false
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// OverSSHWithoutDisplay reports whether the environment says SSH and names
// no display: a browser opened here would be on this machine's screen, not
// in front of the user (X11 forwarding would bring it to the user's).
func OverSSHWithoutDisplay(getenv func(string) string) bool {
	return (getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "") && getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == ""
}

// WithoutDisplay reports whether this machine has no screen a browser
// could show on: Linux and the BSDs with neither DISPLAY nor
// WAYLAND_DISPLAY. macOS and Windows always have a desktop.
func WithoutDisplay(getenv func(string) string) bool {
	switch runtime.GOOS {
	case "darwin", "windows":
		return false
	}
	return !AtDesktop(getenv)
}
