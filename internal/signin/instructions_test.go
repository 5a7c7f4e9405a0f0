package signin

import (
	"slices"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/oauth"
)

// At a browser here, the start page only; from elsewhere, the ways around
// the loopback redirect too, naming the port to forward.
func TestInstructions(t *testing.T) {
	const start, auth = "http://127.0.0.1:53682/start", "https://acct.snowflakecomputing.com/oauth/authorize?state=s"
	for _, tc := range []struct {
		name   string
		start  string
		remote bool
		want   []string
	}{
		{"here", start, false, []string{"Opening the browser to sign in to Snowflake. If it does not open, visit:", start}},
		{"remote", start, true, []string{
			"Open this URL in a browser on this machine to sign in to Snowflake:", start,
			"From another machine, either forward the port first (ssh -L 53682:127.0.0.1:53682 <this host>) and open the URL above, or open this URL there:",
			auth,
			"then copy the address your browser shows when it cannot load 127.0.0.1:53682 after the sign-in, and paste it here:",
		}},
		{"remote, no port", "http://localhost/start", true, []string{"Open this URL in a browser on this machine to sign in to Snowflake:", "http://localhost/start"}},
	} {
		if got := Instructions(config.Profile{Name: "prod"}, tc.start, auth, tc.remote); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	corp := config.Profile{Name: "corp", Issuer: "https://example.okta.com/oauth2/aus1", ClientID: "0oa1"}
	if got := Instructions(corp, start, auth, false); got[0] != "Opening the browser to sign in at example.okta.com (your organisation's identity provider). If it does not open, visit:" {
		t.Errorf("an IdP profile: %q", got[0])
	}
}

// Over SSH an identity provider's profile is told about the device code;
// the code's instructions show the user code and never the device code.
func TestCodeInstructions(t *testing.T) {
	corp := config.Profile{Name: "corp", Issuer: "https://example.okta.com/oauth2/aus1", ClientID: "0oa1"}
	remote := Instructions(corp, "http://127.0.0.1:8000/start", "https://example.okta.com/oauth2/aus1/v1/authorize?state=s", true)
	if last := remote[len(remote)-1]; last != "Or sign in with a code on another device, if your identity provider offers it: sfmcp-token login --profile corp --device" {
		t.Errorf("last line %q", last)
	}
	got := CodeInstructions(corp, oauth.DeviceCode{VerificationURI: "https://example.okta.com/activate", UserCode: "WDJB-MJHT", VerificationURIComplete: "https://example.okta.com/activate?user_code=WDJB-MJHT"})
	want := []string{"To sign in at example.okta.com, open https://example.okta.com/activate on any device and enter the code WDJB-MJHT",
		"or open this address, which carries the code: https://example.okta.com/activate?user_code=WDJB-MJHT", "Waiting for the sign-in…"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}
