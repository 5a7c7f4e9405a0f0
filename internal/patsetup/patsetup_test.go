package patsetup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/snowflake"
)

const host = "myorg-acct.snowflakecomputing.com"

// account is a normalized service account; change adjusts it first.
func account(t *testing.T, change func(*snowflake.ServiceAccount)) snowflake.ServiceAccount {
	t.Helper()
	a := snowflake.ServiceAccount{User: "ci_bot", Role: "ci_read", Database: "ops", AllowIPs: []string{"203.0.113.0/24"}}
	if change != nil {
		change(&a)
	}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	return a
}

// saved writes a manifest for account at dir/name, each resource in the
// status statuses gives (planned for the rest).
func saved(t *testing.T, path string, a snowflake.ServiceAccount, statuses ...string) *snowflake.Manifest {
	t.Helper()
	m := snowflake.NewManifest(path, host, "ci", a)
	for i, s := range statuses {
		m.Resources[i].Status = s
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProfileFor(t *testing.T) {
	for _, tc := range []struct{ user, named, want string }{
		{"ci_bot", "", "ci_bot"},
		{`"Mixed_Case"`, "", "mixed_case"},
		{"ci_bot", "deploy", "deploy"},
	} {
		if got := ProfileFor(account(t, func(a *snowflake.ServiceAccount) { a.User = tc.user }), tc.named); got != tc.want {
			t.Errorf("ProfileFor(%s, %q) = %q, want %q", tc.user, tc.named, got, tc.want)
		}
	}
}

// pat create never writes over a manifest that records something created;
// anything else at that path is no setup.
func TestCheckNew(t *testing.T) {
	dir := t.TempDir()
	a := account(t, nil)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("{"), 0o600)
	saved(t, filepath.Join(dir, "planned.json"), a)
	saved(t, filepath.Join(dir, "removed.json"), a, snowflake.Removed)
	saved(t, filepath.Join(dir, "created.json"), a, snowflake.Created, snowflake.Created)
	for _, name := range []string{"missing.json", "garbage.json", "planned.json", "removed.json"} {
		if err := CheckNew(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var exists *SetupExistsError
	if err := CheckNew(filepath.Join(dir, "created.json")); !errors.As(err, &exists) || exists.User != "ci_bot" || !strings.Contains(err.Error(), "already records a setup for ci_bot") {
		t.Fatalf("created: %v", err)
	}
}

func TestResumePlan(t *testing.T) {
	dir := t.TempDir()
	m := saved(t, filepath.Join(dir, "half.json"), account(t, nil), snowflake.Created, snowflake.Created)
	plan, err := ResumePlan(m)
	if err != nil || plan.Admin != "the admin profile" || len(plan.Statements) != len(m.CreateStatements()) || !strings.HasPrefix(plan.Statements[0].SQL, "DESCRIBE USER") {
		t.Fatalf("resume plan: %+v %v", plan, err)
	}
	// A setup pat remove took down is not resumed: that would undo it.
	m = saved(t, filepath.Join(dir, "removed.json"), account(t, nil), snowflake.Removed, snowflake.Created)
	var removed *RemovedError
	if _, err := ResumePlan(m); !errors.As(err, &removed) || removed.Resource.ID != snowflake.StepUser || !strings.Contains(err.Error(), "pat remove removed (USER CI_BOT)") {
		t.Fatalf("removed: %v", err)
	}
	// What sfmcp never creates is refused, whoever wrote the manifest.
	for _, change := range []func(*snowflake.ServiceAccount){
		func(a *snowflake.ServiceAccount) { a.Role = "accountadmin" },
		func(a *snowflake.ServiceAccount) { a.AllowIPs = []string{"0.0.0.0/0"} },
	} {
		m := saved(t, filepath.Join(dir, "bad.json"), account(t, change))
		var refused *RefusedError
		if _, err := ResumePlan(m); !errors.As(err, &refused) || !strings.HasSuffix(err.Error(), "; nothing was run") {
			t.Errorf("refused: %v", err)
		}
		if err := CheckManifest(m); err == nil {
			t.Error("CheckManifest took it")
		}
	}
}

func TestReplay(t *testing.T) {
	old := saved(t, filepath.Join(t.TempDir(), "sfmcp-manifest.json"), account(t, nil), snowflake.Created)
	dir := filepath.Dir(old.Path())
	for _, tc := range []struct{ host, named, path, profile string }{
		{host, "", "sfmcp-manifest-" + host + ".json", "ci"},
		{"myorg-staging.snowflakecomputing.com", "", "sfmcp-manifest-myorg-staging.snowflakecomputing.com.json", "ci-myorg-staging"},
		{"myorg-staging.snowflakecomputing.com", "staging", "sfmcp-manifest-myorg-staging.snowflakecomputing.com.json", "staging"},
		{"127.0.0.1:8443", "", "sfmcp-manifest-127.0.0.1_8443.json", "ci-127"},
	} {
		m := Replay(old, tc.host, tc.named)
		if m.Path() != filepath.Join(dir, tc.path) || m.Profile != tc.profile || m.AccountHost != tc.host {
			t.Errorf("Replay onto %s (%q): %s, profile %s", tc.host, tc.named, m.Path(), m.Profile)
		}
		if m.Resources[0].Status != snowflake.Planned || m.Account.UserName() != "CI_BOT" {
			t.Errorf("Replay onto %s: not a fresh plan of the same account: %+v", tc.host, m.Resources[0])
		}
	}
}

func TestCheckHost(t *testing.T) {
	m := snowflake.NewManifest("m.json", host, "ci", account(t, nil))
	if err := CheckHost(m, host); err != nil {
		t.Fatal(err)
	}
	var he *HostError
	if err := CheckHost(m, "other.snowflakecomputing.com"); !errors.As(err, &he) || err.Error() != "the manifest is for "+host+", the admin profile for other.snowflakecomputing.com" {
		t.Fatalf("other host: %v", err)
	}
}

func TestPlanScript(t *testing.T) {
	m := snowflake.NewManifest("m.json", host, "ci", account(t, func(a *snowflake.ServiceAccount) { a.AdminRole = `"Admins"` }))
	if got := (Plan{Manifest: m, Admin: "admin"}).Script(); got != "-- Nothing to run on "+host+".\n" {
		t.Errorf("empty plan: %q", got)
	}
	stmts := m.RemoveStatements()
	stmts = append(stmts, snowflake.Statement{What: "drop", SQL: "DROP USER X"})
	got := Plan{Manifest: m, Statements: stmts, Admin: "connection kp", Then: "profile ci is removed"}.Script()
	want := "-- On " + host + `, as role "Admins" (connection kp), these statements run:` + "\n\n" + snowflake.Script(stmts) + "-- Then profile ci is removed.\n"
	if got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestProfileChanges(t *testing.T) {
	m := snowflake.NewManifest("m.json", host, "ci", account(t, nil))
	for _, tc := range []struct {
		got, want string
	}{
		{Keeping(m, patprofile.Free), "the new PAT is stored as profile ci (new)"},
		{Keeping(m, patprofile.Ours), "profile ci gets the new PAT secret (it holds the PAT of CI_BOT on " + host + ")"},
		{Removing(m, patprofile.Free, "the keychain"), ""},
		{Removing(m, patprofile.Ours, "the keychain"), "profile ci (the PAT of CI_BOT on " + host + ") is removed from the config and the keychain"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.json")
	saved(t, path, account(t, nil))
	m, err := Open(path, `"CI_BOT"`, "sysadmin")
	if err != nil || m.Account.AdminRoleName() != "SYSADMIN" || m.Path() != path {
		t.Fatalf("open: %v %v", m, err)
	}
	if m, err := Open(path, "", ""); err != nil || m.Account.AdminRoleName() != "ACCOUNTADMIN" {
		t.Fatalf("without overrides: %v", err)
	}
	badProfile := filepath.Join(dir, "profile.json")
	data, _ := os.ReadFile(path)
	os.WriteFile(badProfile, []byte(strings.Replace(string(data), `"profile": "ci"`, `"profile": "bad name"`, 1)), 0o600)
	var (
		pe *ProfileNameError
		ou *OtherUserError
		ae *AdminRoleError
	)
	for _, tc := range []struct {
		path, user, role string
		ok               func(error) bool
	}{
		{badProfile, "", "", func(err error) bool { return errors.As(err, &pe) && pe.Profile == "bad name" }},
		{path, "someone", "", func(err error) bool { return errors.As(err, &ou) && ou.User == "CI_BOT" && ou.Asked == "someone" }},
		{path, "", "db.role", func(err error) bool { return errors.As(err, &ae) && strings.Contains(err.Error(), "give one name") }},
		{filepath.Join(dir, "missing.json"), "", "", func(err error) bool { return err != nil && !errors.As(err, &pe) && !errors.As(err, &ou) }},
	} {
		if _, err := Open(tc.path, tc.user, tc.role); !tc.ok(err) {
			t.Errorf("Open(%s, %q, %q): %v", filepath.Base(tc.path), tc.user, tc.role, err)
		}
	}
}
