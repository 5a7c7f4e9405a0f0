package cli

import (
	"errors"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
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
	case errors.Is(err, config.ErrHostMismatch):
		return ExitUsage, tokencmd.HostMismatchHint()
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

func keychainAdvice() string { return tokencmd.KeychainAdvice() }

// loginHint is the next step whenever a profile has no usable sign-in.
func loginHint(profile string) string { return tokencmd.LoginHint(profile) }
