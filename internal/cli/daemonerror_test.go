package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
)

func TestDaemonErrorsMapToExitCodesAndAdvice(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		advice string
	}{
		{&client.Error{Code: apitype.CodeLoginRequired, Profile: "prod", Message: "profile prod: a new sign-in is required"}, ExitLoginRequired, "run: sfmcp-token login --profile prod"},
		{&client.Error{Code: apitype.CodeUnknownProfile, Message: `profile not found: "x"`}, ExitUsage, "sfmcp-token profile list"},
		{&client.Error{Code: apitype.CodeKeychainUnavailable, Message: "credential store unavailable"}, ExitUnavailable, "SFMCP_KEYRING=file"},
		{&client.Error{Code: apitype.CodeUnavailable, Message: "Snowflake is unavailable"}, ExitUnavailable, "try again shortly"},
		{&client.Error{Code: apitype.CodeClientConfig, Profile: "corp", Message: "invalid_client"}, ExitUsage, "profile show corp"},
		{fmt.Errorf("%w (socket /x): connect: no such file", client.ErrNoDaemon), ExitUnavailable, "sfmcp-token daemon"},
		{errors.New("read the sfmcp daemon's answer: EOF"), ExitUnavailable, "sfmcp-token status"},
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
