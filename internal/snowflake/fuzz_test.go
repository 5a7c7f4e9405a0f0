package snowflake

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoadManifest: whatever a manifest file holds, if it loads, then
// removing and resuming it runs only statements generated from its data:
// each one is in the account's generated set, splits into exactly one
// statement, and is of a kind a setup has. A manifest asking for a
// privileged role or an open network runs nothing at all. Saving and loading again gives
// the same plan.
func FuzzLoadManifest(f *testing.F) {
	a := ServiceAccount{User: "svc", Role: "r", Database: "db", AllowIPs: []string{"10.0.0.1"}}
	a.Normalize()
	dir := f.TempDir()
	m := NewManifest(filepath.Join(dir, "m.json"), "h", "svc", a)
	m.Save()
	seed, _ := os.ReadFile(m.Path())
	f.Add(seed)
	f.Add([]byte(`{"version":1,"resources":[]}`))
	f.Add([]byte(`{"version":1,"service_account":{"user":"x\"y","role":"r","database":"d","allow_ips":["1.2.3.4/33"]},"resources":[{"id":"user","status":"created"}]}`))
	f.Add([]byte(`{"version":1,"account_host":"h","profile":"team","service_account":{"user":"\"x\"\"; DROP DATABASE PROD; --\"","role":"x' ; --","database":"d","allow_ips":["10.0.0.1"]},` +
		`"resources":[{"id":"user","status":"created","sql":["GRANT ROLE ACCOUNTADMIN TO USER MALLORY"],"undo_sql":["DROP DATABASE PROD"]},` +
		`{"id":"network_rule","status":"created"},{"id":"network_policy","status":"planned"},{"id":"authentication_policy","status":"removed"},{"id":"pat","status":"created"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.json")
		os.WriteFile(path, data, 0o600)
		m, err := LoadManifest(path)
		if err != nil {
			return
		}
		if m.Account.CheckCreate() != nil {
			// Refused before any statement, by create and resume alike.
			rec := &recorder{}
			if err := runnerFor(m, rec).Create(context.Background()); err == nil || len(rec.stmts) != 0 {
				t.Fatalf("manifest %q\nasks for what sfmcp never sets up, yet Create ran %q (%v)", data, rec.stmts, err)
			}
			return
		}
		ok := allowed(m)
		removePlan := m.RemoveStatements()
		ran := runAll(t, m)
		for _, s := range ran {
			if !slices.Contains(ok, s) {
				t.Fatalf("manifest %q\nran %q, which its account does not generate", data, s)
			}
			checkStatement(t, s, data)
		}
		// What ran is what the plans showed: removal, then every step (all
		// were removed or planned by then).
		want := append(sqlOf(removePlan), sqlOf(StepStatements(m.Account.Steps(), false))...)
		if !slices.Equal(ran, want) {
			t.Fatalf("manifest %q\nran %q\nthe plans showed %q", data, ran, want)
		}
		if _, err := LoadManifest(path); err != nil {
			t.Fatalf("a saved manifest does not load: %v", err)
		}
	})
}
