package cli

import (
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
)

func TestDurationsInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		719*time.Hour + 59*time.Minute + 57*time.Second: "30 days",
		9*time.Minute + 31*time.Second:                  "10 minutes",
		time.Hour:                                       "1 hour",
		47 * time.Hour:                                  "47 hours",
		45 * time.Second:                                "45 seconds",
		89 * 24 * time.Hour:                             "89 days",
	} {
		if got := inWords(d); got != want {
			t.Errorf("inWords(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSecretLeft(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		p    apitype.ProfileStatus
		want string
	}{
		{apitype.ProfileStatus{State: apitype.CodeLoginRequired}, "not signed in"},
		{apitype.ProfileStatus{State: "idle"}, "expiry not reported"},
		{apitype.ProfileStatus{State: "ok", SecretExpiresAt: now.Add(90*24*time.Hour - time.Second)}, "90 days left"},
		{apitype.ProfileStatus{State: "ok", SecretExpiresAt: now.Add(-time.Second)}, "expired"},
	} {
		if got := secretLeft(tc.p, now); got != tc.want {
			t.Errorf("secretLeft(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
