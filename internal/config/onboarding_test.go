package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// #20: an onboarding file's long dotted key (quadratic in BurntSushi/toml)
// or deep nest is refused before it is parsed.
func TestOnboardingNestIsRefusedBeforeParsing(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"dotted":              "profile = \"t\"\n" + strings.Repeat("a.", 30000) + "a = 1\n",
		"nested":              "profile = \"t\"\nx = " + strings.Repeat("[", 30000) + "\n",
		"after an apostrophe": "# it's\nx = " + strings.Repeat("[", 30000) + "\n",
	} {
		path := filepath.Join(dir, "o.toml")
		os.WriteFile(path, []byte(data), 0o600)
		if _, err := LoadOnboarding(path); err == nil || !strings.Contains(err.Error(), "nests deeper") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// An onboarding file carries an identity provider's profile: the issuer,
// its kind, the client and the audience, never a secret; it reads back as
// written and makes a profile that signs in there. What such a profile
// cannot be is refused as the flags are.
func TestOnboardingIdPProfile(t *testing.T) {
	o := Onboarding{Profile: "corp", Account: "myorg-acct", ClientID: "0oa123", ClientType: ClientPublic, RedirectURI: DefaultIdPRedirect,
		Role: "MCP_USERS", MCPServer: "DB.PUBLIC.GONG_MCP", Issuer: "https://example.okta.com/oauth2/aus123", IdP: "okta",
		Audience: "https://myorg-acct.snowflakecomputing.com"}
	data, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{`issuer = "https://example.okta.com/oauth2/aus123"`, `idp = "okta"`, `audience = "https://myorg-acct.snowflakecomputing.com"`,
		"# You sign in at your organisation's identity provider"} {
		if !strings.Contains(text, want) {
			t.Errorf("file lacks %q:\n%s", want, text)
		}
	}
	path := filepath.Join(t.TempDir(), "onb.toml")
	os.WriteFile(path, data, 0o600)
	got, err := LoadOnboarding(path)
	if err != nil || got != o {
		t.Fatalf("read back: %+v %v", got, err)
	}
	p := got.AsProfile("corp")
	if !p.IsIdP() || p.Issuer != o.Issuer || p.IdP != "okta" || p.Audience != o.Audience || p.Confidential() || p.LoginRedirect() != DefaultIdPRedirect {
		t.Fatalf("profile: %+v", p)
	}
	for name, body := range map[string]string{
		"an http issuer":           "issuer = \"http://idp.example/\"\nclient_id = \"c\"\n",
		"an issuer without client": "issuer = \"https://idp.example/\"\n",
		"an audience alone":        "audience = \"api://x\"\n",
	} {
		os.WriteFile(path, []byte("profile = \"corp\"\naccount = \"myorg-acct\"\n"+body), 0o600)
		if _, err := LoadOnboarding(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
