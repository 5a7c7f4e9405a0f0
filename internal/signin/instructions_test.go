package signin

import (
	"slices"
	"testing"
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
		if got := Instructions(tc.start, auth, tc.remote); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
