package snowflake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// recorder is an Executor that records statements and answers like
// Snowflake would for the ones that return data.
type recorder struct{ stmts []string }

func (r *recorder) Exec(_ context.Context, stmt string) (*Result, error) {
	r.stmts = append(r.stmts, stmt)
	if strings.Contains(stmt, " PROGRAMMATIC ACCESS TOKEN ") && !strings.Contains(stmt, " REMOVE ") {
		s := "secret"
		return &Result{Columns: []string{"token_name", "token_secret"}, Rows: [][]*string{{&s, &s}}}, nil
	}
	if strings.HasPrefix(stmt, "DESCRIBE USER ") {
		return describeResult("SERVICE", ServiceComment), nil
	}
	return &Result{}, nil
}

// describeResult is DESCRIBE USER output with the given TYPE and COMMENT.
func describeResult(typ, comment string) *Result {
	res := &Result{Columns: []string{"property", "property_type", "property_value", "property_default"}}
	for _, kv := range [][2]string{{"NAME", "X"}, {"COMMENT", comment}, {"TYPE", typ}} {
		k, v := kv[0], kv[1]
		res.Rows = append(res.Rows, []*string{&k, nil, &v, nil})
	}
	return res
}

func runnerFor(m *Manifest, api Executor) *Runner {
	return &Runner{API: api, Manifest: m, StoreSecret: func(string, time.Time) error { return nil }}
}

// Kinds of statement a manifest may lead to, whole: each name a bare or
// quoted identifier, each value a literal or a number. Nothing else.
var (
	reIdentSQL     = `(?:[A-Z_][A-Z0-9_$]*|"(?:[^"]|"")*")`
	reNameSQL      = reIdentSQL + `(?:\.` + reIdentSQL + `)*`
	reLitSQL       = `'(?:[^'\\]|''|\\.)*'`
	statementKinds = func() []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, k := range []string{
			`CREATE USER {N} TYPE = SERVICE DEFAULT_ROLE = {N} COMMENT = {L}`,
			`DESCRIBE USER {N}`,
			`GRANT ROLE {N} TO USER {N}`,
			`CREATE OR REPLACE NETWORK RULE {N} MODE = INGRESS TYPE = IPV4 VALUE_LIST = \({L}(?:, {L})*\) COMMENT = {L}`,
			`CREATE NETWORK POLICY IF NOT EXISTS {N} ALLOWED_NETWORK_RULE_LIST = \({L}\)`,
			`ALTER USER {N} SET NETWORK_POLICY = {L}`,
			`CREATE AUTHENTICATION POLICY IF NOT EXISTS {N} AUTHENTICATION_METHODS = \('PROGRAMMATIC_ACCESS_TOKEN'\) PAT_POLICY = \(MAX_EXPIRY_IN_DAYS = \d+\)`,
			`ALTER USER {N} SET AUTHENTICATION POLICY {N}`,
			`ALTER USER {N} ADD PROGRAMMATIC ACCESS TOKEN {N} ROLE_RESTRICTION = {L} DAYS_TO_EXPIRY = \d+ COMMENT = {L}`,
			`ALTER USER {N} ROTATE PROGRAMMATIC ACCESS TOKEN {N} EXPIRE_ROTATED_TOKEN_AFTER_HOURS = \d+`,
			`DROP USER IF EXISTS {N}`,
			`DROP NETWORK RULE IF EXISTS {N}`,
			`ALTER USER IF EXISTS {N} UNSET NETWORK_POLICY`,
			`DROP NETWORK POLICY IF EXISTS {N}`,
			`ALTER USER IF EXISTS {N} UNSET AUTHENTICATION POLICY`,
			`DROP AUTHENTICATION POLICY IF EXISTS {N}`,
			`ALTER USER IF EXISTS {N} REMOVE PROGRAMMATIC ACCESS TOKEN IF EXISTS {N}`,
		} {
			k = strings.NewReplacer("{N}", reNameSQL, "{L}", reLitSQL).Replace(k)
			out = append(out, regexp.MustCompile(`^(?s:`+k+`)$`))
		}
		return out
	}()
)

// checkStatement fails unless stmt is one statement of a known kind.
func checkStatement(t *testing.T, stmt string, input []byte) {
	t.Helper()
	if got, err := snowflaketest.SplitSQL(stmt); err != nil || len(got) != 1 || got[0] != stmt {
		t.Fatalf("manifest %q\nled to %q, which splits into %q (%v)", input, stmt, got, err)
	}
	if !slices.ContainsFunc(statementKinds, func(re *regexp.Regexp) bool { return re.MatchString(stmt) }) {
		t.Fatalf("manifest %q\nled to %q, which is no statement a setup has", input, stmt)
	}
}

// allowed is every statement the manifest's account generates.
func allowed(m *Manifest) []string {
	out := []string{m.Account.RotateSQL(0), m.Account.DescribeUserSQL()}
	for _, s := range m.Account.Steps() {
		out = append(append(out, s.Create...), s.Remove...)
	}
	return out
}

// runAll removes what a manifest records as created, then resumes it, and
// returns every statement that ran.
func runAll(t *testing.T, m *Manifest) []string {
	t.Helper()
	rec := &recorder{}
	if err := runnerFor(m, rec).Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := runnerFor(m, rec).Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec.stmts
}

// tamper rewrites a saved manifest's JSON.
func tamper(t *testing.T, path string, edit func(m map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, _ = json.Marshal(m)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func savedManifest(t *testing.T) string {
	t.Helper()
	a := ServiceAccount{User: "svc", Role: "mcp_users", Database: "db", AllowIPs: []string{"10.0.0.1"}}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	m := NewManifest(filepath.Join(t.TempDir(), "m.json"), "myorg-acct.snowflakecomputing.com", "svc", a)
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	return m.Path()
}

// TestManifestStoredSQLIsNeverRun: a manifest that carries SQL (an older
// version's, or planted) loads, but only the statements generated from its
// names run, for remove and for resume alike.
func TestManifestStoredSQLIsNeverRun(t *testing.T) {
	path := savedManifest(t)
	hostile := []string{"GRANT ROLE ACCOUNTADMIN TO USER MALLORY", "DROP DATABASE PROD"}
	tamper(t, path, func(m map[string]any) {
		for i, r := range m["resources"].([]any) {
			r := r.(map[string]any)
			r["sql"], r["undo_sql"] = hostile, hostile
			if i < 3 {
				r["status"] = Created
			}
		}
	})
	m, err := LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if !m.IgnoredStoredSQL() {
		t.Error("the stored SQL was not reported as ignored")
	}
	want := append(m.RemoveStatements(), StepStatements(m.Account.Steps(), false)...)
	got := runAll(t, m)
	if !slices.Equal(got, sqlOf(want)) {
		t.Fatalf("ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), Script(want))
	}
	for _, s := range got {
		if slices.Contains(hostile, s) {
			t.Fatalf("ran the manifest's stored %q", s)
		}
	}
	saved, _ := os.ReadFile(path)
	if strings.Contains(string(saved), "undo_sql") || strings.Contains(string(saved), "DROP DATABASE") {
		t.Fatalf("the stored SQL was written back:\n%s", saved)
	}
}

// TestManifestDataIsValidated: every field is checked as at create time;
// a manifest that fails says what is wrong and nothing runs.
func TestManifestDataIsValidated(t *testing.T) {
	for name, edit := range map[string]func(m map[string]any){
		"lone quote in user":        func(m map[string]any) { acct(m)["user"] = `x"; DROP DATABASE PROD; --` },
		"user with two parts":       func(m map[string]any) { acct(m)["user"] = "PROD.PUBLIC" },
		"control character in role": func(m map[string]any) { acct(m)["role"] = "R\nDROP DATABASE PROD" },
		"hostile admin role":        func(m map[string]any) { acct(m)["admin_role"] = `ACCOUNTADMIN"; DROP DATABASE PROD; --` },
		"admin role with two parts": func(m map[string]any) { acct(m)["admin_role"] = "A.B" },
		"hostile database":          func(m map[string]any) { acct(m)["database"] = `"x"y"` },
		"hostile token name":        func(m map[string]any) { acct(m)["token_name"] = "T\x00" },
		"hostile IP":                func(m map[string]any) { acct(m)["allow_ips"] = []string{"1.2.3.4'); DROP DATABASE PROD; --"} },
		"negative days":             func(m map[string]any) { acct(m)["days"] = -1 },
		"unknown step":              func(m map[string]any) { res(m, 0)["id"] = "database" },
		"steps out of order":        func(m map[string]any) { rs := m["resources"].([]any); rs[0], rs[1] = rs[1], rs[0] },
		"a step missing":            func(m map[string]any) { m["resources"] = m["resources"].([]any)[1:] },
		"a step added":              func(m map[string]any) { m["resources"] = append(m["resources"].([]any), res(m, 0)) },
		"name of another object":    func(m map[string]any) { res(m, 0)["name"] = "PROD" },
		"kind of another object":    func(m map[string]any) { res(m, 0)["kind"] = "DATABASE" },
		"unknown status":            func(m map[string]any) { res(m, 0)["status"] = "done" },
		"unknown version":           func(m map[string]any) { m["version"] = 2 },
		"host with a path":          func(m map[string]any) { m["account_host"] = "evil.example/x" },
		"no profile":                func(m map[string]any) { m["profile"] = "" },
		"token name differs":        func(m map[string]any) { m["pat"].(map[string]any)["name"] = "OTHER" },
	} {
		path := savedManifest(t)
		tamper(t, path, edit)
		if m, err := LoadManifest(path); err == nil {
			t.Errorf("%s: loaded (%+v)", name, m.Account)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: the error does not name the file: %v", name, err)
		}
	}
}

func acct(m map[string]any) map[string]any { return m["service_account"].(map[string]any) }
func res(m map[string]any, i int) map[string]any {
	return m["resources"].([]any)[i].(map[string]any)
}

// TestManifestHostileNamesStayQuoted: names that are valid but full of SQL
// load, and every statement they lead to is one statement of its kind.
func TestManifestHostileNamesStayQuoted(t *testing.T) {
	a := ServiceAccount{User: `"x""; DROP DATABASE PROD; --"`, Role: "x' ; GRANT ROLE ACCOUNTADMIN TO USER MALLORY; --",
		Database: `"a.b/*"`, RuleSchema: `"\'"`, AllowIPs: []string{"10.0.0.0/8"}, AdminRole: "SYSADMIN"}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	m := NewManifest(filepath.Join(t.TempDir(), "m.json"), "h", "p", a)
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(m.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range runAll(t, m) {
		checkStatement(t, s, nil)
	}
}
