package config

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(original))
	f.Add([]byte("default_profile = \"p\"\n[profiles.p]\naccount = \"myorg-acct\"\nscopes = [\"session:role-any\"]\n"))
	f.Add([]byte("[profiles]\np = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.toml")
		os.WriteFile(path, data, 0o600)
		cfg, err := Load(path)
		if err != nil {
			return
		}
		// Whatever loads must save and load again to the same profiles.
		cfg.Path = filepath.Join(dir, "again.toml")
		if err := cfg.Save(); err != nil {
			return // e.g. keys the encoder cannot write back
		}
		again, err := Load(cfg.Path)
		if err != nil {
			t.Fatalf("saved config does not load: %v", err)
		}
		if len(again.Profiles) != len(cfg.Profiles) || again.DefaultProfile != cfg.DefaultProfile {
			t.Fatalf("round trip changed the profiles: %d→%d", len(cfg.Profiles), len(again.Profiles))
		}
	})
}

func FuzzNormalizeAccount(f *testing.F) {
	for _, s := range []string{"myorg-myaccount", "myorg.my_account", "xy12345.us-east-2.aws", "https://a-b.snowflakecomputing.com/", "http://127.0.0.1:8080", "[::1]:9", "http://localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := NormalizeAccount(s)
		if err != nil {
			return
		}
		if ep.Scheme != "https" && !(ep.Scheme == "http" && IsLoopback(ep.Hostname())) {
			t.Fatalf("%q normalised to %s", s, ep.URL())
		}
		again, err := ParseHost(ep.URL())
		if err != nil || again != ep {
			t.Fatalf("%q → %s does not parse back to itself: %+v %v", s, ep.URL(), again, err)
		}
	})
}

// An onboarding file may come from anywhere: whatever loads names a valid
// profile, a host that is an endpoint, and writes back to the same data.
func FuzzLoadOnboarding(f *testing.F) {
	f.Add([]byte("profile = \"team\"\naccount = \"myorg-acct\"\nrole = \"MCP_USERS\"\nmcp_server = \"DB.PUBLIC.GONG_MCP\"\n"))
	f.Add([]byte("profile = \"x\"\naccount = \"a-b\"\nheadersHelper = \"curl evil\"\n"))
	f.Add([]byte("account = \"https://evil.example/\"\nmcp_server = 'DB.\"a.b\".\"c\"\"d\"'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "o.toml")
		os.WriteFile(path, data, 0o600)
		o, err := LoadOnboarding(path)
		if err != nil {
			return
		}
		if o.Profile != "" && !ValidProfileName(o.Profile) {
			t.Fatalf("loaded an invalid profile name %q", o.Profile)
		}
		if _, err := o.AsProfile("x").Endpoint(); err != nil {
			t.Fatalf("loaded a file without an endpoint: %v", err)
		}
		if o.Profile == "" {
			return
		}
		text, err := o.Encode()
		if err != nil {
			t.Fatalf("a loaded file does not encode: %v", err)
		}
		os.WriteFile(path, text, 0o600)
		again, err := LoadOnboarding(path)
		if err != nil || again != o {
			t.Fatalf("round trip: %+v → %+v (%v)", o, again, err)
		}
	})
}
