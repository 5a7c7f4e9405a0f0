package signin

import (
	"runtime"
	"testing"
	"time"
)

// The daemon's notifications are off with SFMCP_NO_NOTIFY=1, and the one
// asking for a sign-in shows only at a desktop, where the user can act.
func TestNotifiers(t *testing.T) {
	desktop := runtime.GOOS == "darwin"
	for _, tc := range []struct {
		name             string
		env              map[string]string
		expiring, needed bool
	}{
		{"no desktop", map[string]string{}, true, desktop},
		{"desktop", map[string]string{"DISPLAY": ":0"}, true, runtime.GOOS != "windows"},
		{"turned off", map[string]string{"DISPLAY": ":0", "SFMCP_NO_NOTIFY": "1"}, false, false},
	} {
		getenv := func(k string) string { return tc.env[k] }
		if got := NotifyExpiring(getenv) != nil; got != tc.expiring {
			t.Errorf("%s: expiry notifier %v, want %v", tc.name, got, tc.expiring)
		}
		if got := NotifyNeeded(getenv) != nil; got != tc.needed {
			t.Errorf("%s: sign-in notifier %v, want %v", tc.name, got, tc.needed)
		}
	}
}

func TestNoticeTexts(t *testing.T) {
	for _, tc := range []struct {
		got  notice
		want notice
	}{
		{expiringNotice("prod", 6*24*time.Hour+23*time.Hour), notice{"sfmcp: sign-in expires soon", "Profile prod expires in 7 days. Run: sfmcp-token login --profile prod"}},
		{neededNotice("prod", "sfmcp-token login --profile prod"), notice{"sfmcp: Snowflake needs a new sign-in", "Profile prod must sign in again. Run: sfmcp-token login --profile prod"}},
	} {
		if tc.got != tc.want {
			t.Errorf("notice %+v, want %+v", tc.got, tc.want)
		}
	}
}
