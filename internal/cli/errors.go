package cli

import (
	"context"
	"errors"

	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/oauth"
)

// classify maps an error to its exit code and the next step to suggest:
// the CLI's own usage errors and advice first, then the error's code in
// the one vocabulary (errcode.Of, exitcode.ForCode).
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
	case errors.As(err, &port):
		return exitcode.Usage, ""
	}
	return exitcode.ForCode(errcode.Of(err), errcode.ProfileOf(err))
}
