package cli

import (
	"context"
	"errors"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
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
	case errors.Is(err, context.Canceled):
		return exitcode.Interrupted, ""
	case errors.As(err, &adv):
		return adv.code, adv.hint
	case errors.As(err, &use):
		return exitcode.Usage, use.hint
	case errors.Is(err, config.ErrHostMismatch):
		return exitcode.Usage, exitcode.HostMismatchHint()
	case errors.Is(err, config.ErrHostNotAllowed):
		return exitcode.Usage, "your organisation's system configuration allows only the hosts it names; ask your administrator if this profile should work"
	case errors.Is(err, config.ErrNoProfile):
		return exitcode.Usage, "run: sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME (or sfmcp-token profile list)"
	case errors.Is(err, keychain.ErrUnavailable):
		return exitcode.Unavailable, exitcode.KeychainAdvice()
	case errors.Is(err, oauth.ErrUnavailable):
		return exitcode.Unavailable, "check the network connection and the account host, then try again"
	case errors.Is(err, oauth.ErrClientConfig):
		return exitcode.Usage, "fix the profile (sfmcp-token profile show) or ask your Snowflake administrator to check the integration"
	case errors.As(err, &port):
		return exitcode.Usage, ""
	}
	return exitcode.Error, ""
}
