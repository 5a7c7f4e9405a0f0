package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func selectionFixture(t *testing.T) *File {
	t.Helper()
	f := &File{Profiles: map[string]Profile{}}
	for _, p := range []Profile{
		{Name: "team", Account: "myorg-acct"},
		{Name: "other", Account: "myorg-other"},
		{Name: "pl", Account: "myorg-pl", ExtraHosts: []string{"myorg-pl.privatelink.snowflakecomputing.com"}},
		{Name: "ci", Account: "myorg-ci", Auth: AuthPAT},
		{Name: "local", Account: "http://127.0.0.1:8080"},
	} {
		if err := f.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	f.DefaultProfile = "ci" // a PAT profile: the worst one to hand out by mistake
	return f
}

const mcpPath = "/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/M"

// Rule 1 of the security issue: a token goes only to https on the
// profile's own host, whether the profile was named or selected, and a URL
// no profile serves never falls back to the default profile.
func TestSelectRefusesForeignServerURLs(t *testing.T) {
	f := selectionFixture(t)
	hostile := []string{
		"https://evil.example" + mcpPath,
		"http://myorg-acct.snowflakecomputing.com" + mcpPath, // plain http
		"garbage",
		"",
		"https://myorg-acct.snowflakecomputing.com.evil.example" + mcpPath,
		"https://myorg-acct.snowflakecomputing.com@evil.example" + mcpPath,
		"https://evil.example@myorg-acct.snowflakecomputing.com" + mcpPath, // user info at all
		"https://myorg-acct.snowflakecomputing.com:8443" + mcpPath,
		"https://evil.example/?u=https://myorg-acct.snowflakecomputing.com/",
		"https://myorg-acct.snowflakecomputing.co" + mcpPath,
		"ftp://myorg-acct.snowflakecomputing.com" + mcpPath,
		"//myorg-acct.snowflakecomputing.com" + mcpPath,
		"https://myorg-аcct.snowflakecomputing.com" + mcpPath, // Cyrillic а
		"http://127.0.0.1:8081" + mcpPath,                     // the loopback profile's port is 8080
		"https://127.0.0.1:8080" + mcpPath,
	}
	for _, raw := range hostile {
		if raw == "" {
			continue // no URL: no rule (covered below)
		}
		t.Run(raw, func(t *testing.T) {
			p, err := f.Select("", raw)
			if err == nil {
				t.Fatalf("selected %s for %q; want a refusal", p.Name, raw)
			}
			if !errors.Is(err, ErrHostMismatch) {
				t.Fatalf("error %v is not ErrHostMismatch", err)
			}
			for _, name := range []string{"team", "ci", "local"} {
				if _, err := f.Select(name, raw); !errors.Is(err, ErrHostMismatch) {
					t.Errorf("named profile %s accepted %q: %v", name, raw, err)
				}
			}
		})
	}
}

func TestSelectMatchesNormalisedHosts(t *testing.T) {
	f := selectionFixture(t)
	for raw, want := range map[string]string{
		"https://myorg-acct.snowflakecomputing.com" + mcpPath:      "team",
		"https://MYORG-ACCT.SnowflakeComputing.com" + mcpPath:      "team",
		"https://myorg-acct.snowflakecomputing.com." + mcpPath:     "team",
		"https://myorg-acct.snowflakecomputing.com:443" + mcpPath:  "team",
		"https://myorg-acct.snowflakecomputing.com:" + mcpPath:     "team",
		"https://ｍｙｏｒｇ-acct.snowflakecomputing.com" + mcpPath:      "team", // IDNA maps full-width letters
		"HTTPS://myorg-other.snowflakecomputing.com" + mcpPath:     "other",
		"https://myorg-pl.privatelink.snowflakecomputing.com/x":    "pl",
		"https://myorg-pl.snowflakecomputing.com/x":                "pl",
		"http://127.0.0.1:8080" + mcpPath:                          "local",
		"https://myorg-ci.snowflakecomputing.com" + mcpPath + "?q": "ci",
	} {
		p, err := f.Select("", raw)
		if err != nil || p.Name != want {
			t.Errorf("Select(%q) = %q, %v; want %s", raw, p.Name, err, want)
		}
		if _, err := f.Select(want, raw); err != nil {
			t.Errorf("named %s refused its own host %q: %v", want, raw, err)
		}
	}
	// Extra hosts widen only their own profile.
	if _, err := f.Select("team", "https://myorg-pl.privatelink.snowflakecomputing.com/x"); !errors.Is(err, ErrHostMismatch) {
		t.Errorf("profile team accepted pl's PrivateLink host: %v", err)
	}
	// No URL: the named profile, else the default.
	if p, err := f.Select("", ""); err != nil || p.Name != "ci" {
		t.Errorf("no URL: %q, %v; want the default", p.Name, err)
	}
}

func TestHostMismatchNamesBothHosts(t *testing.T) {
	f := selectionFixture(t)
	_, err := f.Select("team", "https://EVIL.example./x")
	msg := err.Error()
	for _, want := range []string{"evil.example", "myorg-acct.snowflakecomputing.com", "team", "no token was sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not name %q", msg, want)
		}
	}
	_, err = f.Select("", "https://evil.example/x")
	if msg := err.Error(); !strings.Contains(msg, "evil.example") || !strings.Contains(msg, "myorg-ci.snowflakecomputing.com") {
		t.Errorf("unmatched URL: %q must name the server host and the default profile's host", msg)
	}
}

func TestLoadRejectsHostileProfileNames(t *testing.T) {
	for _, name := range []string{"x; touch /tmp/pwned", "$(id)", "a b", "-rf", "x'y", `x"y`, "é"} {
		path := filepath.Join(t.TempDir(), "config.toml")
		body := "[profiles." + tomlQuote(name) + "]\naccount = \"myorg-acct\"\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "profile name") {
			t.Errorf("profile name %q loaded: %v", name, err)
		}
	}
}

func tomlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func TestExtraHostsMustBeHTTPS(t *testing.T) {
	p := Profile{Name: "x", Account: "myorg-acct", ExtraHosts: []string{"http://127.0.0.1:1"}}
	if err := p.Validate(); err == nil {
		t.Error("a plain-http extra host validated")
	}
}
