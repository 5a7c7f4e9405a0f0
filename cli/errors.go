package cli

import (
	"errors"
	"runtime"

	"github.com/sfmcp/sfmcp/config"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// classify maps an error to its exit code and the next step to suggest.
func classify(err error) (int, string) {
	var (
		adv  *adviceError
		use  usageError
		port *oauth.PortInUseError
	)
	switch {
	case errors.As(err, &adv):
		return adv.code, adv.hint
	case errors.As(err, &use):
		return ExitUsage, use.hint
	case errors.Is(err, config.ErrNoProfile):
		return ExitUsage, "run: sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME (or sfmcp-token profile list)"
	case errors.Is(err, keychain.ErrUnavailable):
		return ExitUnavailable, keychainAdvice()
	case errors.Is(err, oauth.ErrUnavailable):
		return ExitUnavailable, "check the network connection and the account host, then try again"
	case errors.Is(err, oauth.ErrClientConfig):
		return ExitUsage, "fix the profile (sfmcp-token profile show) or ask your Snowflake administrator to check the integration"
	case errors.As(err, &port):
		return ExitUsage, ""
	}
	return ExitError, ""
}

func keychainAdvice() string {
	switch runtime.GOOS {
	case "darwin":
		return "unlock the login keychain (Keychain Access) and try again, or opt in to the file store: SFMCP_KEYRING=file"
	case "windows":
		return "make sure Windows Credential Manager is available, or opt in to the file store: SFMCP_KEYRING=file"
	default:
		return "start and unlock a Secret Service in your session (e.g. install gnome-keyring and run: gnome-keyring-daemon --start --components=secrets), or opt in to the file store: SFMCP_KEYRING=file"
	}
}

// loginHint is the next step whenever a profile has no usable sign-in.
func loginHint(profile string) string {
	return "run: sfmcp-token login --profile " + profile
}
