package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/exitcode"
)

func TestDaemonErrorsMapToExitCodesAndAdvice(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		advice string
	}{
		{&client.Error{Code: apitype.CodeLoginRequired, Profile: "prod", Message: "profile prod: a new sign-in is required"}, exitcode.LoginRequired, "run: sfmcp-token login --profile prod"},
		{&client.Error{Code: apitype.CodeUnknownProfile, Message: `profile not found: "x"`}, exitcode.Usage, "sfmcp-token profile list"},
		{&client.Error{Code: apitype.CodeKeychainUnavailable, Message: "credential store unavailable"}, exitcode.Unavailable, "SFMCP_KEYRING=file"},
		{&client.Error{Code: apitype.CodeUnavailable, Message: "Snowflake is unavailable"}, exitcode.Unavailable, "try again shortly"},
		{&client.Error{Code: apitype.CodeClientConfig, Profile: "corp", Message: "invalid_client"}, exitcode.Usage, "profile show corp"},
		{fmt.Errorf("%w (socket /x): connect: no such file", client.ErrNoDaemon), exitcode.Unavailable, "sfmcp-token daemon"},
		{errors.New("read the sfmcp daemon's answer: EOF"), exitcode.Unavailable, "sfmcp-token status"},
	} {
		err := daemonError(tc.err, client.Request{})
		var out strings.Builder
		code := report(&out, err)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if code != tc.code || !strings.Contains(out.String(), tc.advice) || len(lines) > 2 {
			t.Errorf("%v: exit %d, output %q; want exit %d mentioning %q in at most two lines", tc.err, code, out.String(), tc.code, tc.advice)
		}
	}
}
