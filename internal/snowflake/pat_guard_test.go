package snowflake

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckCreate: a PAT never carries a privileged system role (compared
// as Snowflake stores the name), and no allow-ip is wider than a /8.
func TestCheckCreate(t *testing.T) {
	for _, c := range []struct {
		role string
		ips  []string
		want error
	}{
		{"ACCOUNTADMIN", nil, ErrPrivilegedRole},
		{"accountadmin", nil, ErrPrivilegedRole},
		{`"ACCOUNTADMIN"`, nil, ErrPrivilegedRole},
		{"SecurityAdmin", nil, ErrPrivilegedRole},
		{"useradmin", nil, ErrPrivilegedRole},
		{"SYSADMIN", nil, ErrPrivilegedRole},
		{"orgadmin", nil, ErrPrivilegedRole},
		{"GLOBALORGADMIN", nil, ErrPrivilegedRole},
		{`"accountadmin"`, nil, nil}, // quoted lower case: another role
		{"MCP_USERS", nil, nil},
		{"R", []string{"0.0.0.0/0"}, ErrOpenNetwork},
		{"R", []string{"203.0.113.7", "1.2.3.4/0"}, ErrOpenNetwork},
		{"R", []string{"0.0.0.0/1", "128.0.0.0/1"}, ErrOpenNetwork},
		{"R", []string{"10.0.0.0/7"}, ErrOpenNetwork},
		{"R", []string{"10.0.0.0/8", "0.0.0.0", "198.51.100.0/24"}, nil},
	} {
		a := ServiceAccount{User: "svc", Role: c.role, Database: "db", AllowIPs: c.ips}
		if a.AllowIPs == nil {
			a.AllowIPs = []string{"203.0.113.7"}
		}
		if err := a.Normalize(); err != nil {
			t.Fatalf("%s %v: %v", c.role, c.ips, err)
		}
		err := a.CheckCreate()
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s %v: %v, want %v", c.role, c.ips, err, c.want)
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || !strings.Contains(err.Error(), "PAT")) {
			t.Errorf("%s %v: %v is no FieldError that says why", c.role, c.ips, err)
		}
	}
}

// account is an Executor for an account where the service user may
// already exist: as a person (ALICE), or as anything else.
type account struct {
	recorder
	exists        bool
	typ, comment  string // what DESCRIBE USER says
	failGrantOnce bool
}

func (a *account) Exec(ctx context.Context, stmt string) (*Result, error) {
	switch {
	case strings.HasPrefix(stmt, "DESCRIBE USER "):
		a.stmts = append(a.stmts, stmt)
		if !a.exists {
			return nil, &Error{Status: 422, Code: "002003", Message: "SQL compilation error: User does not exist or not authorized."}
		}
		return describeResult(a.typ, a.comment), nil
	case strings.HasPrefix(stmt, "CREATE USER "):
		a.stmts = append(a.stmts, stmt)
		if a.exists {
			return nil, &Error{Status: 422, Code: "002002", SQLState: "42710", Message: "SQL compilation error: Object 'ALICE' already exists."}
		}
		a.exists, a.typ, a.comment = true, "SERVICE", ServiceComment
		return &Result{}, nil
	case strings.HasPrefix(stmt, "GRANT ROLE ") && a.failGrantOnce:
		a.stmts = append(a.stmts, stmt)
		a.failGrantOnce = false
		return nil, &Error{Status: 422, Code: "002003", Message: "SQL compilation error: Role 'R' does not exist or not authorized."}
	}
	return a.recorder.Exec(ctx, stmt)
}

// aliceManifest is a manifest naming ALICE, with the given steps marked
// created (as a hostile manifest may).
func aliceManifest(t *testing.T, created ...string) *Manifest {
	t.Helper()
	a := ServiceAccount{User: "ALICE", Role: "MCP_USERS", Database: "db", AllowIPs: []string{"203.0.113.7"}}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	m := NewManifest(filepath.Join(t.TempDir(), "m.json"), "h", "alice", a)
	for i := range m.Resources {
		if slices.Contains(created, m.Resources[i].ID) {
			m.Resources[i].Status = Created
		}
	}
	return m
}

// TestRunnerNeverTakesOverAUser: whatever the manifest records, sfmcp
// changes no user it did not create; what runs is the plan shown, and
// it stops at the first statement that finds the user is not its own.
func TestRunnerNeverTakesOverAUser(t *testing.T) {
	person := func() *account { return &account{exists: true, typ: "PERSON"} }
	all := []string{StepUser, StepNetworkRule, StepNetworkPolicy, StepAuthPolicy, StepPAT}
	for _, c := range []struct {
		name    string
		api     *account
		created []string
		run     func(r *Runner) error
		ran     func(m *Manifest) []string
		missing bool
	}{
		{"create a user that exists", person(), nil, func(r *Runner) error { return r.Create(context.Background()) },
			func(m *Manifest) []string { return []string{m.Account.Steps()[0].Create[0]} }, false},
		{"resume a person's user marked created", person(), []string{StepUser, StepNetworkRule}, func(r *Runner) error { return r.Create(context.Background()) },
			func(m *Manifest) []string { return []string{m.Account.DescribeUserSQL()} }, false},
		{"resume another service's user", &account{exists: true, typ: "SERVICE", comment: "etl"}, []string{StepUser}, func(r *Runner) error { return r.Create(context.Background()) },
			func(m *Manifest) []string { return []string{m.Account.DescribeUserSQL()} }, false},
		{"resume a user that is gone", &account{}, []string{StepUser}, func(r *Runner) error { return r.Create(context.Background()) },
			func(m *Manifest) []string { return []string{m.Account.DescribeUserSQL()} }, true},
		{"remove a person's user", person(), all, func(r *Runner) error { return r.Remove(context.Background()) },
			func(m *Manifest) []string { return []string{m.Account.DescribeUserSQL()} }, false},
		{"remove only the policies of a person's user", person(), []string{StepNetworkPolicy, StepAuthPolicy}, func(r *Runner) error { return r.Remove(context.Background()) },
			func(m *Manifest) []string { return []string{m.Account.DescribeUserSQL()} }, false},
		{"rotate a person's PAT", person(), all, func(r *Runner) error { return r.Rotate(context.Background(), 0) },
			func(m *Manifest) []string { return []string{m.Account.DescribeUserSQL()} }, false},
	} {
		m := aliceManifest(t, c.created...)
		before := statusesOf(m)
		err := c.run(runnerFor(m, c.api))
		var ue *UserError
		if !errors.As(err, &ue) || ue.User != "ALICE" || ue.Missing != c.missing || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("%s: %v, want a UserError for ALICE (missing %v)", c.name, err, c.missing)
		}
		if want := c.ran(m); !slices.Equal(c.api.stmts, want) {
			t.Errorf("%s: ran %q, want only %q", c.name, c.api.stmts, want)
		}
		if after := statusesOf(m); after != before {
			t.Errorf("%s: the manifest changed from %s to %s", c.name, before, after)
		}
	}
}

func statusesOf(m *Manifest) string {
	var s []string
	for _, r := range m.Resources {
		s = append(s, r.ID+"="+r.Status)
	}
	return strings.Join(s, " ")
}

// TestRunnerOwnUserPlan: for a user sfmcp created, the check runs first
// and the rest of the plan follows, exactly as CreateStatements and
// RemoveStatements show it; a user the manifest does not record yet is
// never checked, it is created.
func TestRunnerOwnUserPlan(t *testing.T) {
	m := aliceManifest(t, StepUser, StepNetworkRule)
	api := &account{exists: true, typ: "SERVICE", comment: ServiceComment}
	want := sqlOf(m.CreateStatements())
	if want[0] != m.Account.DescribeUserSQL() {
		t.Fatalf("the resume plan does not start with the check: %q", want)
	}
	if err := runnerFor(m, api).Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(api.stmts, want) {
		t.Fatalf("resume ran %q, the plan showed %q", api.stmts, want)
	}
	api.stmts = nil
	want = sqlOf(m.RemoveStatements())
	if err := runnerFor(m, api).Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(api.stmts, want) || want[0] != m.Account.DescribeUserSQL() {
		t.Fatalf("remove ran %q, the plan showed %q", api.stmts, want)
	}
	// Everything removed: creating again creates the user, unchecked.
	api = &account{}
	want = sqlOf(m.CreateStatements())
	if err := runnerFor(m, api).Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(api.stmts, want) || !strings.HasPrefix(want[0], "CREATE USER ALICE ") {
		t.Fatalf("create ran %q, the plan showed %q", api.stmts, want)
	}
}

// TestResumeAfterGrantFails: the user step is CREATE USER alone, so a
// failure after it (here the grant, for a role not created yet) leaves the
// user recorded as created, and resume continues without creating it again.
func TestResumeAfterGrantFails(t *testing.T) {
	a := ServiceAccount{User: "svc", Role: "R", Database: "db", AllowIPs: []string{"203.0.113.7"}}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	m := NewManifest(filepath.Join(t.TempDir(), "m.json"), "h", "svc", a)
	api := &account{failGrantOnce: true}
	if err := runnerFor(m, api).Create(context.Background()); err == nil || !strings.Contains(err.Error(), "pat resume") {
		t.Fatalf("a failed grant: %v", err)
	}
	if s := statusesOf(m); s != "user=created network_rule=created network_policy=created authentication_policy=created pat=planned" {
		t.Fatalf("after the failed grant: %s", s)
	}
	api.stmts = nil
	if err := runnerFor(m, api).Create(context.Background()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	want := []string{a.DescribeUserSQL(), a.Steps()[4].Create[0], a.Steps()[4].Create[1]}
	if !slices.Equal(api.stmts, want) {
		t.Fatalf("resume ran %q, want %q", api.stmts, want)
	}
}

// TestCreateRefusesPrivilegedManifest: a manifest with a privileged role
// or an open network runs nothing, whatever it marks as created.
func TestCreateRefusesPrivilegedManifest(t *testing.T) {
	for _, edit := range []func(a *ServiceAccount){
		func(a *ServiceAccount) { a.Role = "ACCOUNTADMIN" },
		func(a *ServiceAccount) { a.AllowIPs = []string{"0.0.0.0/0"} },
	} {
		a := ServiceAccount{User: "MALLORY", Role: "R", Database: "db", AllowIPs: []string{"203.0.113.7"}}
		edit(&a)
		if err := a.Normalize(); err != nil {
			t.Fatal(err)
		}
		for _, created := range [][]string{nil, {StepUser, StepNetworkRule, StepNetworkPolicy, StepAuthPolicy}} {
			m := NewManifest(filepath.Join(t.TempDir(), "m.json"), "h", "p", a)
			for i := range m.Resources {
				if slices.Contains(created, m.Resources[i].ID) {
					m.Resources[i].Status = Created
				}
			}
			rec := &recorder{}
			if err := runnerFor(m, rec).Create(context.Background()); err == nil || len(rec.stmts) != 0 {
				t.Fatalf("%+v created %v: ran %q (%v)", a, created, rec.stmts, err)
			}
		}
	}
}

// noDescribe is an account whose SQL endpoint cannot run DESCRIBE USER (a
// statement error other than "does not exist"), or answers it without the
// TYPE and COMMENT rows.
type noDescribe struct {
	account
	empty bool
}

func (a *noDescribe) Exec(ctx context.Context, stmt string) (*Result, error) {
	if strings.HasPrefix(stmt, "DESCRIBE USER ") {
		a.stmts = append(a.stmts, stmt)
		if a.empty {
			return &Result{}, nil
		}
		return nil, &Error{Status: 422, Code: "001003", Message: "SQL compilation error: syntax error"}
	}
	return a.account.Exec(ctx, stmt)
}

// When the user cannot be described, the check says so and the confirmed
// plan runs: it is a second guard, and removal must not be blocked by it.
func TestRemoveWhenUsersCannotBeDescribed(t *testing.T) {
	for _, empty := range []bool{false, true} {
		m := aliceManifest(t, StepUser, StepNetworkRule, StepNetworkPolicy, StepAuthPolicy, StepPAT)
		api := &noDescribe{account: account{exists: true}, empty: empty}
		var said []string
		want := sqlOf(m.RemoveStatements())
		r := runnerFor(m, api)
		r.Progress = func(s string) { said = append(said, s) }
		if err := r.Remove(context.Background()); err != nil {
			t.Fatalf("empty=%v: %v", empty, err)
		}
		if got := api.stmts; !slices.Equal(got, want) {
			t.Errorf("empty=%v: ran %q, the plan showed %q", empty, got, want)
		}
		if !strings.Contains(strings.Join(said, "\n"), "cannot check") && !strings.Contains(strings.Join(said, "\n"), "could not check") {
			t.Errorf("empty=%v: no warning that the user was not checked: %q", empty, said)
		}
	}
}
