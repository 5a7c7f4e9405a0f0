package tokencmd

import "testing"

// The hot path parses headers' and token's flags as the full binary's
// command tree does, and hands everything else to it.
func TestParseHot(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Options
		ok   bool
	}{
		{nil, Options{}, true},
		{[]string{"--profile", "prod"}, Options{Profile: "prod"}, true},
		{[]string{"--profile=prod", "--force"}, Options{Profile: "prod", Force: true}, true},
		{[]string{"-profile", "prod", "-force=false"}, Options{Profile: "prod"}, true},
		{[]string{"--profile"}, Options{}, false},
		{[]string{"--force=maybe"}, Options{}, false},
		{[]string{"--help"}, Options{}, false},
		{[]string{"extra"}, Options{}, false},
	} {
		got, ok := parseHot(tc.args)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseHot(%q) = %+v, %v; want %+v, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}
