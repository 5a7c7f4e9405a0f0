package patsetup

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// jobFixture is a Job as ALICE's key pair on a stand-in, with a private
// config and file store, recording what it shows and says.
type jobFixture struct {
	sf       *snowflaketest.Server
	job      *Job
	cfg      *config.File
	store    *keychain.Store
	dir      string
	approved []Plan
	changed  []string
	opened   int
	refuse   error // Approve's answer
	leaks    snowflaketest.Leaks
}

func newJobFixture(t *testing.T) *jobFixture {
	t.Helper()
	f := &jobFixture{sf: snowflaketest.New(snowflaketest.Options{}), dir: t.TempDir()}
	f.leaks.Watch(f.sf)
	t.Cleanup(func() {
		f.leaks.Assert(t)
		f.sf.Close()
	})
	var err error
	if f.cfg, err = config.Load(filepath.Join(f.dir, "config.toml")); err != nil {
		t.Fatal(err)
	}
	if f.store, err = keychain.Open(keychain.Options{Kind: keychain.KindFile, FileDir: filepath.Join(f.dir, "store")}); err != nil {
		t.Fatal(err)
	}
	f.job = &Job{Admin: keyPairAdmin(t, f.sf), HTTP: f.sf.Client(), Config: f.cfg,
		OpenStore: func() (*keychain.Store, error) { f.opened++; return f.store, nil },
		Approve: func(p Plan) error {
			f.approved = append(f.approved, p)
			f.leaks.Record("plan", p.Script())
			return f.refuse
		},
		Progress: func(s string) { f.leaks.Record("progress", s) },
		Changed:  func(_ context.Context, profile string) { f.changed = append(f.changed, profile) },
	}
	return f
}

// manifest plans ci_bot's setup on the stand-in.
func (f *jobFixture) manifest(t *testing.T, name string) *snowflake.Manifest {
	return snowflake.NewManifest(filepath.Join(f.dir, name), f.job.Admin.Host(), "ci_bot", account(t, nil))
}

func statuses(m *snowflake.Manifest) string {
	var s []string
	for _, r := range m.Resources {
		s = append(s, r.Status)
	}
	return strings.Join(s, " ")
}

// staticPAT presents a PAT to the SQL API, as the daemon does for a PAT
// profile.
type staticPAT string

func (p staticPAT) Token(context.Context, string) (string, string, error) {
	return string(p), "PROGRAMMATIC_ACCESS_TOKEN", nil
}

// The whole life of a setup: create keeps the PAT as the manifest's
// profile, status lists it, the PAT signs in as the service user, rotate
// replaces it, remove takes everything down and the profile with it.
func TestJobLifecycle(t *testing.T) {
	f := newJobFixture(t)
	ctx := context.Background()
	m := f.manifest(t, "m.json")
	secret, err := f.job.Create(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := f.store.Credential("ci_bot")
	if err != nil || cred.Secret != secret || cred.Kind != keychain.CredentialPAT || cred.User != "CI_BOT" {
		t.Fatalf("kept PAT: %v", err)
	}
	if p, ok := f.cfg.Profiles["ci_bot"]; !ok || !p.IsPAT() || statuses(m) != "created created created created created" || len(f.approved) != 0 || !slices.Equal(f.changed, []string{"ci_bot"}) {
		t.Fatalf("after create: profile %+v, %s, %d plans shown, changed %v", p, statuses(m), len(f.approved), f.changed)
	}

	admin := f.job.Admin.Client(f.sf.Client(), m.Account.AdminRoleName())
	pats, err := PATs(ctx, admin, m, time.Now())
	if err != nil || len(pats) != 1 || pats[0].Name != "CI_BOT_PAT" || pats[0].Status != "ACTIVE" || pats[0].DaysLeft < 29 || pats[0].RotateSoon() {
		t.Fatalf("PATs: %+v %v", pats, err)
	}
	if soon, _ := PATs(ctx, admin, m, time.Now().Add(25*24*time.Hour)); len(soon) != 1 || !soon[0].RotateSoon() {
		t.Fatalf("25 days on: %+v", soon)
	}
	asPAT := Admin{Endpoint: f.job.Admin.Endpoint, Creds: staticPAT(secret)}.Client(f.sf.Client(), "")
	if user, err := Verify(ctx, asPAT, m); err != nil || user != "CI_BOT" {
		t.Fatalf("Verify: %q %v", user, err)
	}
	other := snowflake.NewManifest("o.json", m.AccountHost, "o", account(t, func(a *snowflake.ServiceAccount) { a.User = "other_bot" }))
	var wrong *WrongUserError
	if _, err := Verify(ctx, asPAT, other); !errors.As(err, &wrong) || wrong.Got != "CI_BOT" || wrong.Want != "OTHER_BOT" {
		t.Fatalf("Verify for another user: %v", err)
	}

	rotated, err := f.job.Rotate(ctx, m, 0)
	if err != nil || rotated == secret || len(f.approved) != 1 || !strings.Contains(f.approved[0].Then, "gets the new PAT secret") {
		t.Fatalf("rotate: %v, plans %+v", err, f.approved)
	}
	if cred, _ := f.store.Credential("ci_bot"); cred.Secret != rotated {
		t.Fatal("the rotated secret was not kept")
	}

	ours, err := f.job.Remove(ctx, m)
	if err != nil || !ours || statuses(m) != "removed removed removed removed removed" || !strings.Contains(f.approved[1].Then, "is removed from the config") {
		t.Fatalf("remove: %v %v %s", ours, err, statuses(m))
	}
	if _, err := f.store.Credential("ci_bot"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("credential after remove: %v", err)
	}
	if _, ok := f.sf.UserInfo("CI_BOT"); ok || len(f.changed) != 3 {
		t.Fatalf("user left behind (%v), profile changes %v", ok, f.changed)
	}
}

// Nothing runs that a person did not approve, and nothing runs as an
// admin of another account or over someone else's profile.
func TestJobRefusesBeforeRunning(t *testing.T) {
	f := newJobFixture(t)
	ctx := context.Background()
	m := f.manifest(t, "m.json")
	if _, err := f.job.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	ran := len(f.sf.Statements())
	f.refuse = errors.New("not confirmed")
	if _, err := f.job.Rotate(ctx, m, 24); err != f.refuse {
		t.Errorf("rotate: %v", err)
	}
	if _, err := f.job.Remove(ctx, m); err != f.refuse {
		t.Errorf("remove: %v", err)
	}
	if _, err := f.job.Replay(ctx, Replay(m, m.AccountHost, "copy")); err != f.refuse {
		t.Errorf("replay: %v", err)
	}
	f.refuse = nil

	elsewhere := snowflake.NewManifest(filepath.Join(f.dir, "e.json"), "myorg-other.snowflakecomputing.com", "ci_bot", m.Account)
	opened := f.opened
	var he *HostError
	if err := f.job.Resume(ctx, elsewhere); !errors.As(err, &he) || f.opened != opened {
		t.Errorf("resume on another account: %v (store opened %d times more)", err, f.opened-opened)
	}
	if _, err := f.job.Rotate(ctx, elsewhere, 24); !errors.As(err, &he) {
		t.Errorf("rotate on another account: %v", err)
	}

	f.cfg.Profiles["someone"] = config.Profile{Name: "someone", Account: "myorg-acct"}
	taken := snowflake.NewManifest(filepath.Join(f.dir, "t.json"), m.AccountHost, "someone", account(t, func(a *snowflake.ServiceAccount) { a.User = "new_bot" }))
	var conflict *patprofile.ConflictError
	if _, err := f.job.Create(ctx, taken); !errors.As(err, &conflict) || conflict.What != "is an OAuth profile" {
		t.Errorf("create over an OAuth profile: %v", err)
	}
	if got := len(f.sf.Statements()); got != ran {
		t.Fatalf("%d statements ran after refusals", got-ran)
	}
}

// A setup that stopped part-way is a RunError; resume finishes it (the
// plan shown checks the user first), and remove of a setup whose
// profile is not its own leaves profiles alone.
func TestJobResumeAndRemoveWithoutProfile(t *testing.T) {
	f := newJobFixture(t)
	ctx := context.Background()
	m := f.manifest(t, "m.json")
	f.sf.FailSQLAfter(3, 400)
	var run *RunError
	if _, err := f.job.Create(ctx, m); !errors.As(err, &run) || statuses(m) != "created created planned planned planned" {
		t.Fatalf("interrupted create: %v, %s", err, statuses(m))
	}
	if err := f.job.Resume(ctx, m); err != nil || statuses(m) != "created created created created created" {
		t.Fatalf("resume: %v, %s", err, statuses(m))
	}
	if len(f.approved) != 1 || !strings.HasPrefix(f.approved[0].Statements[0].SQL, "DESCRIBE USER") || f.approved[0].Then != "the new PAT is stored as profile ci_bot (new)" {
		t.Fatalf("resume plan: %+v", f.approved)
	}
	if err := patprofile.Remove(f.cfg, f.store, m); err != nil {
		t.Fatal(err)
	}
	if ours, err := f.job.Remove(ctx, m); err != nil || ours || f.approved[1].Then != "" {
		t.Fatalf("remove without a profile: %v %v %q", ours, err, f.approved[1].Then)
	}
}
