package config

import "testing"

func TestNormalizeAccount(t *testing.T) {
	tests := []struct {
		in, scheme, host string
	}{
		{"myorg-myaccount", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"MyOrg-MyAccount", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"myorg_myaccount", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"myorg-my_account", "https", "myorg-my-account.snowflakecomputing.com"},
		{"myorg.my_account", "https", "myorg-my-account.snowflakecomputing.com"},
		{"xy12345", "https", "xy12345.snowflakecomputing.com"},
		{"xy12345.us-east-2.aws", "https", "xy12345.us-east-2.aws.snowflakecomputing.com"},
		{"xy12345.us-east-2", "https", "xy12345.us-east-2.snowflakecomputing.com"},
		{"xy12345.fhplus.us-gov-west-1.aws", "https", "xy12345.fhplus.us-gov-west-1.aws.snowflakecomputing.com"},
		{"xy12345.us-west-2-gov.aws", "https", "xy12345.us-west-2-gov.aws.snowflakecomputing.com"},
		{"myorg-myaccount.privatelink", "https", "myorg-myaccount.privatelink.snowflakecomputing.com"},
		{"xy12345.eu-west-1.privatelink", "https", "xy12345.eu-west-1.privatelink.snowflakecomputing.com"},
		{"myorg-my_account.snowflakecomputing.com", "https", "myorg-my-account.snowflakecomputing.com"},
		{"https://myorg-myaccount.snowflakecomputing.com/", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"https://myorg-myaccount.snowflakecomputing.com:443", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"HTTPS://MYORG-MYACCOUNT.SNOWFLAKECOMPUTING.COM", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"xy12345.cn-north-1.aws.snowflakecomputing.cn", "https", "xy12345.cn-north-1.aws.snowflakecomputing.cn"},
		{"  myorg-myaccount  ", "https", "myorg-myaccount.snowflakecomputing.com"},
		{"http://127.0.0.1:8080", "http", "127.0.0.1:8080"},
		{"http://[::1]:8080", "http", "[::1]:8080"},
		{"127.0.0.1:8443", "https", "127.0.0.1:8443"},
	}
	for _, tt := range tests {
		ep, err := NormalizeAccount(tt.in)
		if err != nil {
			t.Errorf("NormalizeAccount(%q): %v", tt.in, err)
			continue
		}
		if ep.Scheme != tt.scheme || ep.Host != tt.host {
			t.Errorf("NormalizeAccount(%q) = %s://%s, want %s://%s", tt.in, ep.Scheme, ep.Host, tt.scheme, tt.host)
		}
	}
}

func TestNormalizeAccountRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"http://myorg-myaccount.snowflakecomputing.com", // plain http off loopback
		"http://localhost:8080",                         // names are not trusted as loopback
		"http://10.0.0.1",
		"ftp://myorg-myaccount.snowflakecomputing.com",
		"https://myorg-myaccount.snowflakecomputing.com/console",
		"https://user:pw@myorg-myaccount.snowflakecomputing.com",
		"my org",
		"-myorg",
		"myorg-acct.snowflakecomputing.com:99999",
		"myorg!acct",
	} {
		if ep, err := NormalizeAccount(in); err == nil {
			t.Errorf("NormalizeAccount(%q) = %+v, want an error", in, ep)
		}
	}
}

func TestRoleScope(t *testing.T) {
	tests := map[string]string{
		"":                `""`,
		"MCP_USERS":       "session:role:MCP_USERS",
		"mcp_users":       "session:role:MCP_USERS",
		"R$1":             "session:role:R$1",
		`"Mixed Case"`:    "session:role-encoded:Mixed%20Case",
		"AUTH SNOWFLAKE":  "session:role-encoded:AUTH%20SNOWFLAKE",
		`"lower"`:         "session:role:lower",
		"ROLE+WITH/CHARS": "session:role-encoded:ROLE%2BWITH%2FCHARS",
	}
	for in, want := range tests {
		got := RoleScope(in)
		if want == `""` {
			want = ""
		}
		if got != want {
			t.Errorf("RoleScope(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOAuthScopesNeverGeneric(t *testing.T) {
	p := Profile{Name: "p", Account: "a-b", Role: "analyst", Scopes: []string{"session:role-any"}}
	got := p.OAuthScopes()
	want := []string{"refresh_token", "session:role:ANALYST", "session:role-any"}
	if len(got) != len(want) {
		t.Fatalf("scopes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("scopes = %v, want %v", got, want)
		}
	}
	bad := Profile{Name: "p", Account: "a-b", Scopes: []string{"offline_access"}}
	if err := bad.Validate(); err == nil {
		t.Fatal("offline_access accepted as a scope")
	}
}

func TestProfileValidate(t *testing.T) {
	ok := []Profile{
		{Name: "prod", Account: "myorg-acct"},
		{Name: "team", Account: "myorg-acct", ClientID: "ABC", ClientType: "public", RedirectURI: "http://127.0.0.1:3000/oauth/callback"},
		{Name: "corp", Account: "myorg-acct", ClientID: "ABC", RedirectURI: "http://127.0.0.1:3000"},
		{Name: "local", Account: "myorg-acct", RedirectURI: "http://127.0.0.1"},
		{Name: "test", Account: "x", Host: "http://127.0.0.1:9999"},
	}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", p, err)
		}
	}
	bad := []Profile{
		{Name: "", Account: "myorg-acct"},
		{Name: "a b", Account: "myorg-acct"},
		{Name: "x:y", Account: "myorg-acct"},
		{Name: "p"},
		{Name: "p", Account: "myorg-acct", ClientID: "ABC"}, // no redirect
		{Name: "p", Account: "myorg-acct", ClientID: "ABC", RedirectURI: "http://127.0.0.1/cb"},      // no port
		{Name: "p", Account: "myorg-acct", ClientID: "ABC", RedirectURI: "https://example.com/cb"},   // not loopback
		{Name: "p", Account: "myorg-acct", ClientID: "ABC", RedirectURI: "http://localhost:3000/cb"}, // names not trusted
		{Name: "p", Account: "myorg-acct", ClientType: "confidential"},                               // LOCAL_APPLICATION is public
		{Name: "p", Account: "myorg-acct", ClientID: "ABC", ClientType: "secret", RedirectURI: "http://127.0.0.1:1/"},
		{Name: "p", Account: "x", Host: "http://example.com"},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", p)
		}
	}
}

func TestMCPServerURL(t *testing.T) {
	ep := Endpoint{Scheme: "https", Host: "myorg-acct.snowflakecomputing.com"}
	for spec, want := range map[string]string{
		"DB.PUBLIC.GONG_MCP":   "https://myorg-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP",
		"db.public.gong_mcp":   "https://myorg-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/GONG_MCP",
		`"My DB".PUBLIC."x.y"`: "https://myorg-acct.snowflakecomputing.com/api/v2/databases/My%20DB/schemas/PUBLIC/mcp-servers/x.y",
		"https://myorg-my_acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/gong_mcp": "https://myorg-my-acct.snowflakecomputing.com/api/v2/databases/DB/schemas/PUBLIC/mcp-servers/gong_mcp",
		"http://127.0.0.1:8080/api/v2/databases/DB/schemas/S/mcp-servers/N":                                    "http://127.0.0.1:8080/api/v2/databases/DB/schemas/S/mcp-servers/N",
	} {
		got, err := MCPServerURL(ep, spec)
		if err != nil || got != want {
			t.Errorf("MCPServerURL(%q) = %q, %v; want %q", spec, got, err, want)
		}
	}
	for _, bad := range []string{"DB.PUBLIC", "DB..X", "a.b.c.d", `"open.b.c`, "http://example.com/api/v2/databases/D/schemas/S/mcp-servers/N", "https://myorg-acct.snowflakecomputing.com/other", "DB.PUB LIC.X"} {
		if got, err := MCPServerURL(ep, bad); err == nil {
			t.Errorf("MCPServerURL(%q) = %q, want an error", bad, got)
		}
	}
}

// An identity provider's profile: an https issuer (http only to
// loopback), its own client, no PAT; it is public unless it says
// otherwise, may ask for offline_access, and signs in on the fixed
// default redirect unless it names one.
func TestIdPProfileValidate(t *testing.T) {
	good := Profile{Name: "corp", Account: "myorg-acct", Issuer: "https://example.okta.com/oauth2/aus1", ClientID: "0oa1", Scopes: []string{"openid"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if good.Confidential() || good.IsLocalApplication() || good.LoginRedirect() != DefaultIdPRedirect {
		t.Errorf("defaults: confidential %v, local app %v, redirect %q", good.Confidential(), good.IsLocalApplication(), good.LoginRedirect())
	}
	for name, mutate := range map[string]func(*Profile){
		"plain http off loopback": func(p *Profile) { p.Issuer = "http://idp.example/x" },
		"query in issuer":         func(p *Profile) { p.Issuer = "https://idp.example/x?a=b" },
		"credentials in issuer":   func(p *Profile) { p.Issuer = "https://u:p@idp.example/x" },
		"no client":               func(p *Profile) { p.ClientID = "" },
		"local application":       func(p *Profile) { p.ClientID = "LOCAL_APPLICATION" },
		"a PAT":                   func(p *Profile) { p.Auth = AuthPAT },
		"audience without issuer": func(p *Profile) { p.Issuer, p.Audience = "", "api://x" },
		"scope with a space":      func(p *Profile) { p.Scopes = []string{"a b"} },
		"bidi control in issuer":  func(p *Profile) { p.Issuer = "https://idp.example/\u202eabc" },
	} {
		p := good
		mutate(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	loopback := good
	loopback.Issuer = "http://127.0.0.1:4444"
	if err := loopback.Validate(); err != nil {
		t.Errorf("a loopback issuer: %v", err)
	}
}
