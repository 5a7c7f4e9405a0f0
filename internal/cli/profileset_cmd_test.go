package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// showJSON is `profile show NAME --json` as a map, so that a setting that
// is gone shows as absent.
func showJSON(t *testing.T, h *harness, name string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(h.mustRun("profile", "show", name, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// profile set changes only the settings whose flags are given; a new
// account drops the old one's host override; profile unset clears the
// settings named, by flag or by config key.
func TestProfileSetAndUnset(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(), "--client-id", "CID",
		"--client-type", "public", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback", "--role", "ANALYST", "--user", "ALICE")
	out := h.mustRun("profile", "set", "corp", "--role", "ENGINEER")
	if want := "Profile corp updated (" + h.sf.Host() + ", client CID (public)). Next: sfmcp-token login --profile corp\n"; out != want {
		t.Errorf("profile set said %q, want %q", out, want)
	}
	if v := showJSON(t, h, "corp"); v["role"] != "ENGINEER" || v["user"] != "ALICE" || v["client_id"] != "CID" || v["host"] != h.sf.Host() ||
		v["redirect_uri"] != "http://127.0.0.1:3000/oauth/callback" {
		t.Errorf("after set --role: %v", v)
	}
	h.mustRun("profile", "unset", "corp", "role", "user")
	if v := showJSON(t, h, "corp"); v["role"] != nil || v["user"] != nil || v["client_id"] != "CID" {
		t.Errorf("after unset role user: %v", v)
	}
	// Back to Snowflake's own client, which needs no redirect URI.
	h.mustRun("profile", "unset", "corp", "client-id", "client_type", "redirect-uri")
	if v := showJSON(t, h, "corp"); v["client_id"] != nil || v["client_type"] != nil || v["redirect_uri"] != nil || v["host"] != h.sf.Host() {
		t.Errorf("after unset client-id client_type redirect-uri: %v", v)
	}
	h.mustRun("profile", "set", "corp", "--account", "myorg-new", "--scope", "session:role:X")
	if v := showJSON(t, h, "corp"); v["endpoint"] != "https://myorg-new.snowflakecomputing.com" || v["host"] != nil {
		t.Errorf("after set --account: %v", v)
	}
	if cfg := h.readFile("config.toml"); !strings.Contains(cfg, `scopes = ["session:role:X"]`) {
		t.Errorf("set --scope did not reach the config:\n%s", cfg)
	}
}

// What profile set and unset refuse, with the config left as it was: a
// profile that does not exist, nothing to change, a setting that does not
// exist, a result that is not a valid profile, and a profile the system
// file manages.
func TestProfileSetRefusals(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "ANALYST")
	h.writeFile("system.toml", "[profiles.org]\naccount = \"myorg-acct\"\n[managed]\nprofiles = [\"org\"]\n")
	h.env["SFMCP_SYSTEM_CONFIG"] = h.dir + "/system.toml"
	before := h.readFile("config.toml")
	for _, tc := range []struct {
		args       []string
		want, hint string
	}{
		{[]string{"profile", "set", "nope", "--role", "R"}, `profile not found: "nope"`, "to add it: sfmcp-token profile add nope"},
		{[]string{"profile", "set", "corp"}, "profile set: name a setting to change", "sfmcp-token profile set corp --role ANALYST"},
		{[]string{"profile", "unset", "corp"}, "profile unset: give the profile and the settings to clear", "usage: sfmcp-token profile unset NAME SETTING..."},
		{[]string{"profile", "unset", "corp", "colour"}, `profile unset: no setting "colour"`, "settings: account, host, client-id"},
		{[]string{"profile", "unset", "nope", "role"}, `profile not found: "nope"`, "profile add nope"},
		{[]string{"profile", "set", "corp", "--redirect-uri", "http://evil.example.com/cb"}, "redirect", ""},
		{[]string{"profile", "set", "corp", "--client-type", "sideways", "--client-id", "C"}, "client", ""},
		{[]string{"profile", "set", "org", "--role", "OTHER"}, "managed by " + h.dir + "/system.toml", ""},
	} {
		code, out, errOut := h.run("", tc.args...)
		if code != exitcode.Usage || out != "" || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, tc.hint) {
			t.Errorf("%v: exit %d, want %d, %q and %q\n%s%s", tc.args, code, exitcode.Usage, tc.want, tc.hint, out, errOut)
		}
	}
	if h.readFile("config.toml") != before {
		t.Error("a refused profile set or unset changed the config")
	}
}

// A stored client secret is bound to the server and client it was stored
// for: a change of client id (or host, or issuer) says that it no longer
// applies and how to store the new one; a change of role does not.
func TestProfileSetSaysTheStoredSecretNoLongerApplies(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.leaks.Secret("s3cret-value")
	if code, _, errOut := h.run("s3cret-value\n", "profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(),
		"--client-id", "CID", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback", "--client-secret-stdin"); code != 0 {
		t.Fatalf("profile add: %d %s", code, errOut)
	}
	notice := "The stored client secret was for https://" + h.sf.Host() + " CID; store the new one: sfmcp-token profile set-secret corp --client-secret-stdin\n"
	for _, tc := range []struct {
		args   []string
		notice bool
	}{
		{[]string{"--role", "ANALYST"}, false},
		{[]string{"--client-id", "CID2"}, true},
	} {
		code, out, errOut := h.run("", append([]string{"profile", "set", "corp"}, tc.args...)...)
		if code != 0 || !strings.HasPrefix(out, "Profile corp updated") || strings.Contains(errOut, notice) != tc.notice {
			t.Errorf("set %v: exit %d, notice %v wanted\n%s%s", tc.args, code, tc.notice, out, errOut)
		}
	}
	// A public client has no secret to rebind.
	h.mustRun("profile", "add", "pub", "--account", "myorg-acct", "--host", h.sf.Host())
	if _, _, errOut := h.run("", "profile", "set", "pub", "--account", "myorg-other"); strings.Contains(errOut, "client secret") {
		t.Errorf("a public client's change spoke of a secret: %s", errOut)
	}
}

// profile add on an existing profile points at profile set; --force still
// changes only the settings given, for the scripts that use it.
func TestProfileAddExistingPointsAtSet(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(), "--role", "ANALYST", "--user", "ALICE")
	code, _, errOut := h.run("", "profile", "add", "corp", "--role", "OTHER")
	if code != exitcode.Usage || !strings.Contains(errOut, "sfmcp-token profile set corp --FLAG VALUE") || strings.Contains(errOut, "--force") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
	h.mustRun("profile", "add", "corp", "--force", "--role", "OTHER")
	if v := showJSON(t, h, "corp"); v["role"] != "OTHER" || v["user"] != "ALICE" {
		t.Errorf("--force changed more than the role: %v", v)
	}
}
