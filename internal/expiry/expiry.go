// Package expiry owns how sfmcp judges and tells how long a sign-in, a
// PAT or an access token stays valid: when one counts as expiring soon,
// and the one rounding rule for the time left in words. status, the
// daemon's warning and doctor use it, so they never disagree on "N days
// left". It never prints.
package expiry

import (
	"math"
	"strconv"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
)

// Soon: a sign-in or PAT with less than this left is due for renewal by
// its user, and sfmcp says so.
const Soon = 7 * 24 * time.Hour

// ExpiresSoon reports whether something valid until at (zero: not known)
// is still valid at now, but for less than Soon.
func ExpiresSoon(at, now time.Time) bool {
	return !at.IsZero() && at.After(now) && at.Sub(now) < Soon
}

// InWords says a duration as people do: "45 seconds", "9 minutes",
// "5 hours", "30 days", rounded to the nearest unit.
func InWords(d time.Duration) string {
	unit := func(n float64, name string) string {
		v := int(math.Round(n))
		if v == 1 {
			return "1 " + name
		}
		return strconv.Itoa(v) + " " + name + "s"
	}
	switch {
	case d < time.Minute:
		return unit(d.Seconds(), "second")
	case d < time.Hour:
		return unit(d.Minutes(), "minute")
	case d < 48*time.Hour:
		return unit(d.Hours(), "hour")
	}
	return unit(d.Hours()/24, "day")
}

// Access says how long an access token valid until at (zero: none) has
// left at now.
func Access(at, now time.Time) string {
	switch {
	case at.IsZero():
		return "-"
	case at.Before(now):
		return "expired"
	}
	return "expires in " + InWords(at.Sub(now))
}

// Secret says how long a profile's sign-in or PAT stays valid at now.
func Secret(p apitype.ProfileStatus, now time.Time) string {
	switch {
	case p.State == apitype.CodeLoginRequired:
		return "not signed in"
	case p.SecretExpiresAt.IsZero():
		return "expiry not reported"
	case p.SecretExpiresAt.Before(now):
		return "expired"
	}
	return InWords(p.SecretExpiresAt.Sub(now)) + " left"
}
