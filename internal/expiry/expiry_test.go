package expiry

import (
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
)

func TestInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		719*time.Hour + 59*time.Minute + 57*time.Second: "30 days",
		9*time.Minute + 31*time.Second:                  "10 minutes",
		time.Hour:                                       "1 hour",
		47 * time.Hour:                                  "47 hours",
		48 * time.Hour:                                  "2 days",
		45 * time.Second:                                "45 seconds",
		time.Second:                                     "1 second",
		89 * 24 * time.Hour:                             "89 days",
		6*24*time.Hour + 13*time.Hour:                   "7 days",
	} {
		if got := InWords(d); got != want {
			t.Errorf("InWords(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestAccess(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Time{}, "-"},
		{now.Add(-time.Second), "expired"},
		{now.Add(9*time.Minute + 50*time.Second), "expires in 10 minutes"},
	} {
		if got := Access(tc.at, now); got != tc.want {
			t.Errorf("Access(%v) = %q, want %q", tc.at, got, tc.want)
		}
	}
}

func TestSecret(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		p    apitype.ProfileStatus
		want string
	}{
		{apitype.ProfileStatus{State: apitype.CodeLoginRequired}, "not signed in"},
		{apitype.ProfileStatus{State: apitype.CodeLoginRequired, SecretExpiresAt: now.Add(time.Hour)}, "not signed in"},
		{apitype.ProfileStatus{State: "idle"}, "expiry not reported"},
		{apitype.ProfileStatus{State: "ok", SecretExpiresAt: now.Add(90*24*time.Hour - time.Second)}, "90 days left"},
		{apitype.ProfileStatus{State: "ok", SecretExpiresAt: now.Add(-time.Second)}, "expired"},
	} {
		if got := Secret(tc.p, now); got != tc.want {
			t.Errorf("Secret(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestExpiresSoon(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Time{}, false},           // not known
		{now.Add(-time.Minute), false}, // already expired: another message
		{now.Add(time.Hour), true},
		{now.Add(Soon - time.Second), true},
		{now.Add(Soon), false}, // a full week left
		{now.Add(30 * 24 * time.Hour), false},
	} {
		if got := ExpiresSoon(tc.at, now); got != tc.want {
			t.Errorf("ExpiresSoon(now%+v) = %v, want %v", tc.at.Sub(now), got, tc.want)
		}
	}
}
