package config

import (
	"fmt"
	"maps"
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

// Issue #23: an onboarding file handed out unedited, or with a value not
// shaped like its kind, is refused on one line naming the key and the
// file, before anything uses it.
func TestOnboardingRefusesPlaceholdersAndMisshapenValues(t *testing.T) {
	dir := t.TempDir()
	good := map[string]string{"profile": "team", "account": "myorg-acct", "client_id": "ABC+def/123=", "client_type": "public",
		"redirect_uri": "http://127.0.0.1:3000/oauth/callback", "role": "MCP_USERS", "mcp_server": "DB.PUBLIC.GONG_MCP"}
	idp := map[string]string{"issuer": "https://example.okta.com/oauth2/aus123", "idp": "okta", "audience": "https://myorg-acct.snowflakecomputing.com", "client_id": "0oa123"}
	for _, tc := range []struct {
		key, value string
		idp        bool
		want       string
	}{
		{"client_id", "<OAUTH_CLIENT_ID>", false, `client_id is a placeholder, "<OAUTH_CLIENT_ID>", that the administrator did not fill in`},
		{"client_id", "<IDP_CLIENT_ID>", true, `client_id is a placeholder, "<IDP_CLIENT_ID>"`},
		{"account", "<ORGNAME-ACCOUNTNAME>", false, `account is a placeholder, "<ORGNAME-ACCOUNTNAME>"`},
		{"role", "<ROLE>", false, `role is a placeholder, "<ROLE>"`},
		{"client_id", "my client", false, `client_id: "my client" is not a client id`},
		{"client_id", `a"b`, false, `client_id: "a\"b" is not a client id`},
		{"account", "my org", false, "account: "},
		{"redirect_uri", "https://example.com/cb", false, `redirect_uri: "https://example.com/cb" must be http://127.0.0.1:<port>`},
		{"role", "MCP\u202eUSERS", false, "role: "},
		{"mcp_server", "GONG_MCP", false, `mcp_server: MCP server "GONG_MCP": give DATABASE.SCHEMA.SERVER`},
		{"issuer", "http://example.okta.com", true, `issuer: "http://example.okta.com" is not an issuer`},
		{"issuer", "https://example.okta.com/?x=1", true, `issuer: "https://example.okta.com/?x=1" is not an issuer`},
	} {
		values := maps.Clone(good)
		if tc.idp {
			maps.Copy(values, idp)
		}
		values[tc.key] = tc.value
		var b strings.Builder
		for k, v := range values {
			fmt.Fprintf(&b, "%s = %q\n", k, v)
		}
		path := filepath.Join(dir, "onb.toml")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOnboarding(path)
		if err == nil || !strings.HasPrefix(err.Error(), "onboarding file "+path+": "+tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s = %q: %v\nwant onboarding file %s: %s…", tc.key, tc.value, err, path, tc.want)
		}
	}
	// The good values themselves pass, for Snowflake and for an identity provider.
	for _, values := range []map[string]string{good, func() map[string]string { v := maps.Clone(good); maps.Copy(v, idp); return v }()} {
		var b strings.Builder
		for k, v := range values {
			fmt.Fprintf(&b, "%s = %q\n", k, v)
		}
		path := filepath.Join(dir, "ok.toml")
		os.WriteFile(path, []byte(b.String()), 0o600)
		if _, err := LoadOnboarding(path); err != nil {
			t.Errorf("%v: %v", values, err)
		}
	}
}
