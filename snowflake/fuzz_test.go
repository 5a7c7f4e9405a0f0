package snowflake

import (
	"os"
	"path/filepath"
	"testing"
)

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
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.json")
		os.WriteFile(path, data, 0o600)
		m, err := LoadManifest(path)
		if err != nil {
			return
		}
		// A manifest that loads has valid inputs: its plan can be built and
		// every name in it is quoted.
		if len(m.Account.Steps()) != 5 {
			t.Fatal("a loaded manifest does not plan five steps")
		}
		if err := m.Save(); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadManifest(path); err != nil {
			t.Fatalf("a saved manifest does not load: %v", err)
		}
	})
}
