package patsetup

import (
	"context"
	"fmt"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflake"
)

// PAT is one of the service user's tokens, as Snowflake lists it; the
// JSON names are pat status --json's.
type PAT struct {
	Name      string `json:"name"`
	Role      string `json:"role_restriction"`
	ExpiresAt string `json:"expires_at"`
	Status    string `json:"status"`
	DaysLeft  int    `json:"days_left"`
}

// RotateSoon reports an active token with less than a week left.
func (p PAT) RotateSoon() bool { return p.Status == "ACTIVE" && p.DaysLeft < 7 }

// snowflakeTime is how SHOW USER PROGRAMMATIC ACCESS TOKENS gives expires_at.
const snowflakeTime = "2006-01-02 15:04:05.000 -0700"

// PATs lists the manifest's service user's tokens through api (the
// admin's), with the whole days left from now.
func PATs(ctx context.Context, api snowflake.Executor, m *snowflake.Manifest, now time.Time) ([]PAT, error) {
	res, err := api.Exec(ctx, m.Account.ShowPATsSQL())
	if err != nil {
		return nil, err
	}
	var pats []PAT
	for i := range res.Rows {
		p := PAT{}
		p.Name, _ = res.Column(i, "name")
		p.Role, _ = res.Column(i, "role_restriction")
		p.ExpiresAt, _ = res.Column(i, "expires_at")
		p.Status, _ = res.Column(i, "status")
		if t, err := time.Parse(snowflakeTime, p.ExpiresAt); err == nil {
			p.DaysLeft = int(t.Sub(now).Hours() / 24)
		}
		pats = append(pats, p)
	}
	return pats, nil
}

// WrongUserError is a PAT that authenticated as another user than the
// manifest's service user.
type WrongUserError struct{ Got, Want string }

func (e *WrongUserError) Error() string {
	return fmt.Sprintf("the PAT authenticated as %q, not %q", e.Got, e.Want)
}

// Verify proves that the PAT authenticates as the manifest's service
// user: SELECT CURRENT_USER() through api, which presents the PAT. It
// returns the user Snowflake names.
func Verify(ctx context.Context, api snowflake.Executor, m *snowflake.Manifest) (string, error) {
	res, err := api.Exec(ctx, "SELECT CURRENT_USER()")
	if err != nil {
		return "", err
	}
	got, _ := res.Column(0, "CURRENT_USER()")
	if want := m.Account.UserName(); got != want {
		return "", &WrongUserError{Got: got, Want: want}
	}
	return got, nil
}
