package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func patCreateArgs(manifest string) []string {
	return []string{"pat", "create", "--user", "MYAPP_RUNNER", "--role", "MCP_USERS", "--db", "SNOW_UTILS_DB",
		"--allow-ip", "203.0.113.7", "--allow-ip", "198.51.100.0/24", "--days", "30", "--manifest", manifest}
}

type manifestFile struct {
	Profile   string
	Resources []struct {
		ID, Status string
		SQL        []string `json:"sql"`
	}
}

func readManifest(t *testing.T, path string) (manifestFile, string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manifestFile
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m, string(data)
}

func statuses(m manifestFile) string {
	var s []string
	for _, r := range m.Resources {
		s = append(s, r.ID+"="+r.Status)
	}
	return strings.Join(s, " ")
}

// assertNoSecrets hands texts to the suite's leak check (checked against
// every PAT and token any stand-in issued when the suite ends).
func assertNoSecrets(t *testing.T, texts ...string) {
	for _, text := range texts {
		leaks.Record(t.Name(), text)
	}
}

func TestPATLifecycle(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	var outputs []string
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := p.run(nil, args...)
		if args[0] != "headers" { // headers prints the token: that is its job
			outputs = append(outputs, out, errOut)
		}
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	// The plan, without running it.
	dry := run(append(patCreateArgs(manifest), "--dry-run")...)
	for _, want := range []string{
		"CREATE USER MYAPP_RUNNER TYPE = SERVICE DEFAULT_ROLE = MCP_USERS COMMENT = 'sfmcp service account'",
		"GRANT ROLE MCP_USERS TO USER MYAPP_RUNNER",
		"CREATE OR REPLACE NETWORK RULE SNOW_UTILS_DB.NETWORKS.MYAPP_RUNNER_NETWORK_RULE MODE = INGRESS TYPE = IPV4 VALUE_LIST = ('203.0.113.7', '198.51.100.0/24')",
		"CREATE NETWORK POLICY IF NOT EXISTS MYAPP_RUNNER_NETWORK_POLICY ALLOWED_NETWORK_RULE_LIST = ('SNOW_UTILS_DB.NETWORKS.MYAPP_RUNNER_NETWORK_RULE')",
		"ALTER USER MYAPP_RUNNER SET NETWORK_POLICY = 'MYAPP_RUNNER_NETWORK_POLICY'",
		"AUTHENTICATION_METHODS = ('PROGRAMMATIC_ACCESS_TOKEN')",
		"ALTER USER MYAPP_RUNNER SET AUTHENTICATION POLICY SNOW_UTILS_DB.POLICIES.MYAPP_RUNNER_AUTH_POLICY",
		"GRANT ROLE MCP_USERS TO USER MYAPP_RUNNER",
		"ALTER USER MYAPP_RUNNER ADD PROGRAMMATIC ACCESS TOKEN MYAPP_RUNNER_PAT ROLE_RESTRICTION = 'MCP_USERS' DAYS_TO_EXPIRY = 30",
	} {
		if !strings.Contains(dry, want) {
			t.Errorf("dry run lacks %q:\n%s", want, dry)
		}
	}
	if len(p.sf.Statements()) != 0 {
		t.Fatal("--dry-run ran SQL")
	}

	run(patCreateArgs(manifest)...)
	m, raw := readManifest(t, manifest)
	if statuses(m) != "user=created network_rule=created network_policy=created authentication_policy=created pat=created" || m.Profile != "myapp_runner" {
		t.Fatalf("manifest: %s", statuses(m))
	}
	out := run("pat", "verify", "--manifest", manifest, "--server", "DB.PUBLIC.GONG_MCP")
	if !strings.Contains(out, "authenticates as MYAPP_RUNNER") || !strings.Contains(out, "lists 2 tools") {
		t.Fatalf("verify: %s", out)
	}
	headers := run("headers", "--profile", "myapp_runner")
	if !strings.Contains(headers, `"X-Snowflake-Authorization-Token-Type":"PROGRAMMATIC_ACCESS_TOKEN"`) {
		t.Fatalf("headers for a PAT profile: %s", headers)
	}
	var rows []struct {
		Name, Status string
		DaysLeft     int `json:"days_left"`
	}
	json.Unmarshal([]byte(run("pat", "status", "--manifest", manifest, "--json")), &rows)
	if len(rows) != 1 || rows[0].Name != "MYAPP_RUNNER_PAT" || rows[0].Status != "ACTIVE" || rows[0].DaysLeft < 29 {
		t.Fatalf("status: %+v", rows)
	}

	before := len(p.sf.Statements())
	if code, _, _ := p.run(nil, "pat", "rotate", "--manifest", manifest, "--expire-old-after-hours", "0"); code != 2 || len(p.sf.Statements()) != before {
		t.Fatalf("rotate without a terminal or --yes: exit %d, %d statements run; want exit 2 and none", code, len(p.sf.Statements())-before)
	}
	run("pat", "rotate", "--manifest", manifest, "--expire-old-after-hours", "0", "--yes")
	rotated := run("headers", "--profile", "myapp_runner")
	if rotated == headers {
		t.Fatal("after rotate, headers still serve the old secret")
	}
	var h map[string]string
	json.Unmarshal([]byte(rotated), &h)
	if st := p.callMCP(t, h); st != 200 {
		t.Fatalf("the rotated PAT is refused: %d", st)
	}
	json.Unmarshal([]byte(headers), &h)
	if st := p.callMCP(t, h); st != 401 {
		t.Fatalf("the old secret should be dead (expire after 0 hours): %d", st)
	}

	run("pat", "remove", "--manifest", manifest, "--yes")
	m, raw2 := readManifest(t, manifest)
	if statuses(m) != "user=removed network_rule=removed network_policy=removed authentication_policy=removed pat=removed" {
		t.Fatalf("after remove: %s", statuses(m))
	}
	stmts := strings.Join(p.sf.Statements(), "\n")
	for _, want := range []string{"REMOVE PROGRAMMATIC ACCESS TOKEN", "UNSET AUTHENTICATION POLICY", "DROP AUTHENTICATION POLICY", "UNSET NETWORK_POLICY", "DROP NETWORK POLICY", "DROP NETWORK RULE", "DROP USER IF EXISTS MYAPP_RUNNER"} {
		if !strings.Contains(stmts, want) {
			t.Errorf("remove did not run %q", want)
		}
	}
	if i, j := strings.Index(stmts, "REMOVE PROGRAMMATIC"), strings.Index(stmts, "DROP USER"); i > j {
		t.Error("remove ran out of order")
	}
	if code, _, _ := p.run(nil, "headers", "--profile", "myapp_runner"); code == 0 {
		t.Fatal("the PAT profile still serves after remove")
	}
	assertNoSecrets(t, append(outputs, raw, raw2)...)
}

func TestPATResumeAfterFailure(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "m.json")
	p.sf.FailSQLAfter(3, 400) // user, rule and CREATE NETWORK POLICY run; setting it on the user fails
	code, _, errOut := p.run(nil, patCreateArgs(manifest)...)
	if code == 0 || !strings.Contains(errOut, "pat resume --manifest") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m, _ := readManifest(t, manifest)
	if statuses(m) != "user=created network_rule=created network_policy=planned authentication_policy=planned pat=planned" {
		t.Fatalf("manifest after the failure: %s", statuses(m))
	}
	if code, out, errOut := p.run(nil, "pat", "resume", "--manifest", manifest, "--yes"); code != 0 || !strings.Contains(out, "(already created)") {
		t.Fatalf("resume: %d %s%s", code, out, errOut)
	}
	m, _ = readManifest(t, manifest)
	if !strings.HasSuffix(statuses(m), "pat=created") {
		t.Fatalf("after resume: %s", statuses(m))
	}
	if code, _, errOut := p.run(nil, "pat", "verify", "--manifest", manifest); code != 0 {
		t.Fatalf("verify after resume: %s", errOut)
	}
}

func TestPATRemoveAfterPartialSetup(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "m.json")
	p.sf.FailSQLAfter(5, 400) // user, rule, policy (2) and CREATE AUTHENTICATION POLICY run; setting it fails
	p.run(nil, patCreateArgs(manifest)...)
	if code, out, errOut := p.run(nil, "pat", "remove", "--manifest", manifest, "--yes"); code != 0 {
		t.Fatalf("remove: %s%s", out, errOut)
	}
	m, _ := readManifest(t, manifest)
	if statuses(m) != "user=removed network_rule=removed network_policy=removed authentication_policy=planned pat=planned" {
		t.Fatalf("after remove: %s", statuses(m))
	}
	// Resume does not undo a removal, with --yes neither.
	before := len(p.sf.Statements())
	code, out, errOut := p.run(nil, "pat", "resume", "--manifest", manifest, "--yes")
	if code != 2 || !strings.Contains(errOut, "pat remove removed") || !strings.Contains(errOut, "pat create") || len(p.sf.Statements()) != before {
		t.Fatalf("resume after remove: exit %d, %d statements run\n%s%s", code, len(p.sf.Statements())-before, out, errOut)
	}
	if m2, _ := readManifest(t, manifest); statuses(m2) != statuses(m) {
		t.Fatalf("resume after remove changed the manifest: %s", statuses(m2))
	}
}

func TestPATReplayOntoSecondAccount(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "m.json")
	if code, _, errOut := p.run(nil, patCreateArgs(manifest)...); code != 0 {
		t.Fatal(errOut)
	}
	other := newStandIn(snowflaketest.Options{AutoApprove: "alice"})
	defer other.Close()
	p.run(nil, "profile", "add", "admin2", "--account", "otherorg-acct", "--host", other.Host(), "--role", "MCP_USERS")
	p.login(t, "admin2")
	code, out, errOut := p.run(nil, "pat", "replay", "--manifest", manifest, "--admin-profile", "admin2", "--yes")
	if code != 0 {
		t.Fatalf("replay: %s%s", out, errOut)
	}
	if n := len(other.Statements()); n < 8 {
		t.Fatalf("the second account ran %d statements", n)
	}
	newManifest := strings.TrimSuffix(manifest, ".json") + "-" + strings.ReplaceAll(other.Host(), ":", "_") + ".json"
	m, raw := readManifest(t, newManifest)
	if !strings.HasSuffix(statuses(m), "pat=created") || m.Profile == "myapp_runner" {
		t.Fatalf("replayed manifest: %s profile %s", statuses(m), m.Profile)
	}
	if code, _, errOut := p.run(nil, "pat", "verify", "--manifest", newManifest); code != 0 {
		t.Fatalf("verify on the second account: %s", errOut)
	}
	assertNoSecrets(t, out, errOut, raw)
}

func TestPATRulesExplained(t *testing.T) {
	p := signedIn(t)
	// A PAT profile cannot manage PATs.
	manifest := filepath.Join(p.dir, "m.json")
	p.run(nil, patCreateArgs(manifest)...)
	code, _, errOut := p.run(nil, append(patCreateArgs(filepath.Join(p.dir, "m2.json")), "--user", "OTHER", "--admin-profile", "myapp_runner")...)
	if code != 2 || !strings.Contains(errOut, "does not let a PAT session manage PATs") {
		t.Fatalf("PAT admin profile: %d %s", code, errOut)
	}
	// Missing values without a terminal: exit 2, no hang.
	code, _, errOut = p.run(nil, "pat", "create", "--manifest", filepath.Join(p.dir, "m3.json"))
	if code != 2 || !strings.Contains(errOut, "SA_USER") {
		t.Fatalf("missing --user: %d %s", code, errOut)
	}
	// Bad IPs are refused before any SQL runs.
	before := len(p.sf.Statements())
	code, _, _ = p.run(nil, "pat", "create", "--user", "X", "--role", "R", "--db", "D", "--allow-ip", "300.1.1.1", "--manifest", filepath.Join(p.dir, "m4.json"))
	if code != 2 || len(p.sf.Statements()) != before {
		t.Fatalf("bad IP: exit %d, %d statements ran", code, len(p.sf.Statements())-before)
	}
	// Environment values are used.
	code, out, errOut := p.run([]string{"SA_USER=ENVUSER", "SA_ROLE=MCP_USERS", "SNOW_UTILS_DB=DB2"}, "pat", "create", "--allow-ip", "10.0.0.1", "--manifest", filepath.Join(p.dir, "m5.json"), "--dry-run")
	if code != 0 || !strings.Contains(out, "CREATE USER ENVUSER") || !strings.Contains(out, "DB2.NETWORKS.ENVUSER_NETWORK_RULE") {
		t.Fatalf("env values: %d %s%s", code, out, errOut)
	}
}

func TestPATCreateWithKeyPairConnection(t *testing.T) {
	p := signedIn(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(p.dir, "rsa_key.p8")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	snowHome := filepath.Join(p.dir, "snowflake")
	os.MkdirAll(snowHome, 0o700)
	os.WriteFile(filepath.Join(snowHome, "connections.toml"), []byte(fmt.Sprintf(`[kp]
account = "myorg-acct"
host = %q
user = "alice"
authenticator = "SNOWFLAKE_JWT"
private_key_file = %q
`, p.sf.Host(), keyFile)), 0o600)
	env := []string{"SNOWFLAKE_HOME=" + snowHome}
	manifest := filepath.Join(p.dir, "m.json")
	// Not registered yet: refused, with advice.
	code, _, errOut := p.run(env, append(patCreateArgs(manifest), "--admin-connection", "kp")...)
	if code != 3 || !strings.Contains(errOut, "RSA_PUBLIC_KEY") {
		t.Fatalf("unregistered key: exit %d %s", code, errOut)
	}
	p.sf.AddKeyPair("alice", &key.PublicKey)
	os.Remove(manifest)
	code, out, errOut := p.run(env, append(patCreateArgs(manifest), "--admin-connection", "kp")...)
	if code != 0 || !strings.Contains(out, "is ready") {
		t.Fatalf("key-pair admin: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := p.run(nil, "pat", "verify", "--manifest", manifest); code != 0 {
		t.Fatalf("verify: %s", errOut)
	}
}

// Security issue, item 3: a manifest is data. These are the statements a
// hostile sfmcp-manifest.json planted, as a reviewer did.
var plantedSQL = []string{"GRANT ROLE ACCOUNTADMIN TO USER MALLORY", "DROP DATABASE PROD"}

// plantManifest rewrites a manifest as an attacker would: every resource
// carries the planted SQL (and the PAT step a PAT for another user), and
// "profile" names the given profile.
func plantManifest(t *testing.T, path, profile string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["profile"] = profile
	for _, r := range m["resources"].([]any) {
		r := r.(map[string]any)
		r["sql"], r["undo_sql"] = plantedSQL, plantedSQL
		if r["id"] == "pat" {
			r["sql"] = []string{"ALTER USER ALICE ADD PROGRAMMATIC ACCESS TOKEN EVIL ROLE_RESTRICTION = 'MCP_USERS' DAYS_TO_EXPIRY = 30"}
		}
	}
	data, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertNothingPlanted fails if any statement the stand-in received holds,
// as Snowflake would split it, a statement that sfmcp does not generate:
// the planted ones, a DROP DATABASE, or a PAT for another user.
func assertNothingPlanted(t *testing.T, received []string) {
	t.Helper()
	for _, r := range received {
		split, err := snowflaketest.SplitSQL(r)
		if err != nil || len(split) != 1 {
			t.Fatalf("the stand-in received %q, which splits into %q (%v)", r, split, err)
		}
		s := strings.ToUpper(strings.Join(strings.Fields(split[0]), " "))
		if strings.HasPrefix(s, "DROP DATABASE") || strings.HasPrefix(s, "GRANT ROLE ACCOUNTADMIN") || strings.HasPrefix(s, "ALTER USER ALICE") {
			t.Fatalf("the stand-in received the planted %q", r)
		}
	}
}

// addTeam adds and signs in an unrelated OAuth profile, team.
func addTeam(t *testing.T, p *proc) {
	t.Helper()
	if code, _, errOut := p.run(nil, "profile", "add", "team", "--account", "myorg-acct", "--host", p.sf.Host(), "--role", "MCP_USERS"); code != 0 {
		t.Fatal(errOut)
	}
	p.login(t, "team")
}

// assertTeamIntact: team is still the OAuth profile it was, and its
// sign-in still serves.
func assertTeamIntact(t *testing.T, p *proc) {
	t.Helper()
	code, out, errOut := p.run(nil, "headers", "--profile", "team")
	if code != 0 || strings.Contains(out, "PROGRAMMATIC_ACCESS_TOKEN") {
		t.Fatalf("profile team was deleted or replaced: exit %d %s%s", code, out, errOut)
	}
}

func TestPATRemoveHostileManifest(t *testing.T) {
	p := signedIn(t)
	addTeam(t, p)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	if code, _, errOut := p.run(nil, patCreateArgs(manifest)...); code != 0 {
		t.Fatal(errOut)
	}
	before := len(p.sf.Statements())
	// The manifest names team: refused before anything runs.
	plantManifest(t, manifest, "team")
	code, out, errOut := p.run(nil, "pat", "remove", "--manifest", manifest, "--yes")
	if code != 2 || !strings.Contains(errOut, "profile team is an OAuth profile") {
		t.Fatalf("remove with profile team: exit %d\n%s%s", code, out, errOut)
	}
	if ran := p.sf.Statements()[before:]; len(ran) != 0 {
		t.Fatalf("a refused remove ran %q", ran)
	}
	assertTeamIntact(t, p)

	// Its own profile: the planted SQL is ignored; the plan printed and run
	// is generated from the manifest's names.
	plantManifest(t, manifest, "myapp_runner")
	code, out, errOut = p.run(nil, "pat", "remove", "--manifest", manifest, "--yes")
	if code != 0 || !strings.Contains(errOut, "it is ignored") {
		t.Fatalf("remove: exit %d\n%s%s", code, out, errOut)
	}
	ran := p.sf.Statements()[before:]
	assertNothingPlanted(t, ran)
	want := []string{
		"DESCRIBE USER MYAPP_RUNNER",
		"ALTER USER IF EXISTS MYAPP_RUNNER REMOVE PROGRAMMATIC ACCESS TOKEN IF EXISTS MYAPP_RUNNER_PAT",
		"ALTER USER IF EXISTS MYAPP_RUNNER UNSET AUTHENTICATION POLICY",
		"DROP AUTHENTICATION POLICY IF EXISTS SNOW_UTILS_DB.POLICIES.MYAPP_RUNNER_AUTH_POLICY",
		"ALTER USER IF EXISTS MYAPP_RUNNER UNSET NETWORK_POLICY",
		"DROP NETWORK POLICY IF EXISTS MYAPP_RUNNER_NETWORK_POLICY",
		"DROP NETWORK RULE IF EXISTS SNOW_UTILS_DB.NETWORKS.MYAPP_RUNNER_NETWORK_RULE",
		"DROP USER IF EXISTS MYAPP_RUNNER",
	}
	if !slices.Equal(ran, want) {
		t.Fatalf("remove ran:\n%s\nwant:\n%s", strings.Join(ran, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range want {
		if !strings.Contains(out, w+";") {
			t.Errorf("the plan did not show %q:\n%s", w, out)
		}
	}
	assertTeamIntact(t, p)
	if code, _, _ := p.run(nil, "headers", "--profile", "myapp_runner"); code == 0 {
		t.Fatal("the manifest's own PAT profile survived remove")
	}
}

func TestPATResumeHostileManifest(t *testing.T) {
	p := signedIn(t)
	addTeam(t, p)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	p.sf.FailSQLAfter(3, 400) // user and rule are created, then the setup stops at the network policy
	if code, _, _ := p.run(nil, patCreateArgs(manifest)...); code == 0 {
		t.Fatal("the injected failure did not stop pat create")
	}
	before := len(p.sf.Statements())
	// The manifest names team: resume must not replace it with a PAT.
	plantManifest(t, manifest, "team")
	code, out, errOut := p.run(nil, "pat", "resume", "--manifest", manifest, "--yes")
	if code != 2 || !strings.Contains(errOut, "profile team is an OAuth profile") {
		t.Fatalf("resume with profile team: exit %d\n%s%s", code, out, errOut)
	}
	if ran := p.sf.Statements()[before:]; len(ran) != 0 {
		t.Fatalf("a refused resume ran %q", ran)
	}
	assertTeamIntact(t, p)

	// A free profile name: only the generated statements of the missing
	// steps run, and the PAT is the manifest's service user's.
	plantManifest(t, manifest, "fresh")
	code, out, errOut = p.run(nil, "pat", "resume", "--manifest", manifest, "--yes")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errOut)
	}
	ran := p.sf.Statements()[before:]
	assertNothingPlanted(t, ran)
	want := []string{
		"DESCRIBE USER MYAPP_RUNNER",
		"CREATE NETWORK POLICY IF NOT EXISTS MYAPP_RUNNER_NETWORK_POLICY ALLOWED_NETWORK_RULE_LIST = ('SNOW_UTILS_DB.NETWORKS.MYAPP_RUNNER_NETWORK_RULE')",
		"ALTER USER MYAPP_RUNNER SET NETWORK_POLICY = 'MYAPP_RUNNER_NETWORK_POLICY'",
		"CREATE AUTHENTICATION POLICY IF NOT EXISTS SNOW_UTILS_DB.POLICIES.MYAPP_RUNNER_AUTH_POLICY AUTHENTICATION_METHODS = ('PROGRAMMATIC_ACCESS_TOKEN') PAT_POLICY = (MAX_EXPIRY_IN_DAYS = 30)",
		"ALTER USER MYAPP_RUNNER SET AUTHENTICATION POLICY SNOW_UTILS_DB.POLICIES.MYAPP_RUNNER_AUTH_POLICY",
		"GRANT ROLE MCP_USERS TO USER MYAPP_RUNNER",
		"ALTER USER MYAPP_RUNNER ADD PROGRAMMATIC ACCESS TOKEN MYAPP_RUNNER_PAT ROLE_RESTRICTION = 'MCP_USERS' DAYS_TO_EXPIRY = 30 COMMENT = 'sfmcp'",
	}
	if !slices.Equal(ran, want) {
		t.Fatalf("resume ran:\n%s\nwant:\n%s", strings.Join(ran, "\n"), strings.Join(want, "\n"))
	}
	assertTeamIntact(t, p)
	if code, out, errOut := p.run(nil, "pat", "verify", "--manifest", manifest); code != 0 || !strings.Contains(out, "profile fresh authenticates as MYAPP_RUNNER") {
		t.Fatalf("verify: exit %d %s%s", code, out, errOut)
	}
}

// A manifest whose data does not validate as at create time (names,
// steps, states, host, profile) runs nothing; the error names the field.
func TestPATHostileManifestData(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	if code, _, errOut := p.run(nil, patCreateArgs(manifest)...); code != 0 {
		t.Fatal(errOut)
	}
	good, _ := os.ReadFile(manifest)
	before := len(p.sf.Statements())
	for _, c := range []struct {
		edit func(m map[string]any)
		want string
	}{
		{func(m map[string]any) {
			m["service_account"].(map[string]any)["user"] = `MYAPP_RUNNER"; DROP DATABASE PROD; --`
		}, "service_account.user"},
		{func(m map[string]any) {
			m["service_account"].(map[string]any)["admin_role"] = `ACCOUNTADMIN"; GRANT ROLE ACCOUNTADMIN TO USER MALLORY; --`
		}, "service_account.admin_role"},
		{func(m map[string]any) { m["service_account"].(map[string]any)["database"] = `P"RO"D` }, "service_account.database"},
		{func(m map[string]any) {
			r := m["resources"].([]any)[0].(map[string]any)
			r["kind"], r["name"], r["undo_sql"] = "DATABASE", "PROD", plantedSQL[1:]
		}, `resource user names "DATABASE" "PROD"`},
		{func(m map[string]any) { m["resources"].([]any)[0].(map[string]any)["status"] = "dropped" }, `status "dropped"`},
		{func(m map[string]any) { m["account_host"] = "evil.example" }, "the manifest is for evil.example"},
		{func(m map[string]any) { m["profile"] = "x; touch pwned" }, "not a valid profile name"},
	} {
		var m map[string]any
		json.Unmarshal(good, &m)
		c.edit(m)
		data, _ := json.Marshal(m)
		os.WriteFile(manifest, data, 0o600)
		code, _, errOut := p.run(nil, "pat", "remove", "--manifest", manifest, "--yes")
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("remove with %s: exit %d %s", c.want, code, errOut)
		}
		if ran := p.sf.Statements()[before:]; len(ran) != 0 {
			t.Fatalf("remove with %s ran %q", c.want, ran)
		}
	}
}

// Without a terminal and without --yes, nothing runs: exit 2, and the
// message says to pass --yes.
func TestPATRemoveNeedsConfirmation(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	if code, _, errOut := p.run(nil, patCreateArgs(manifest)...); code != 0 {
		t.Fatal(errOut)
	}
	before := len(p.sf.Statements())
	for _, sub := range []string{"remove", "resume"} {
		code, out, errOut := p.run(nil, "pat", sub, "--manifest", manifest)
		if code != 2 || !strings.Contains(errOut, "--yes") {
			t.Fatalf("%s without --yes: exit %d %s%s", sub, code, out, errOut)
		}
	}
	if ran := p.sf.Statements()[before:]; len(ran) != 0 {
		t.Fatalf("an unconfirmed plan ran %q", ran)
	}
}

// Security issue, item 9: a name full of SQL is one identifier or one
// literal in everything pat create prints and sends.
func TestPATCreateHostileNames(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "m.json")
	args := []string{"pat", "create", "--user", "x' ; DROP DATABASE PROD; --", "--role", "MCP_USERS", "--db", "SNOW_UTILS_DB",
		"--allow-ip", "203.0.113.7", "--manifest", manifest, "--profile", "svc"}
	code, out, errOut := p.run(nil, append(args, "--dry-run")...)
	if code != 0 {
		t.Fatalf("dry run: exit %d %s", code, errOut)
	}
	stmts, err := snowflaketest.SplitSQL(out)
	if err != nil || len(stmts) != 8 {
		t.Fatalf("the printed plan splits into %d statements (%v), want 8:\n%s", len(stmts), err, out)
	}
	assertNothingPlanted(t, stmts)
	if code, out, errOut := p.run(nil, args...); code != 0 {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := p.run(nil, "pat", "remove", "--manifest", manifest, "--yes"); code != 0 {
		t.Fatalf("remove: exit %d\n%s%s", code, out, errOut)
	}
	ran := p.sf.Statements()
	if len(ran) != 8+8 {
		t.Fatalf("the stand-in received %d statements, want 16 (8 to create, the user check and 7 to remove):\n%s", len(ran), strings.Join(ran, "\n"))
	}
	assertNothingPlanted(t, ran)
}

// writeManifest writes a manifest by hand, as anyone can: only data, with
// each step's status (planned unless listed).
func writeManifest(t *testing.T, path, host, profile string, account map[string]any, created ...string) {
	t.Helper()
	var resources []map[string]any
	for _, id := range []string{"user", "network_rule", "network_policy", "authentication_policy", "pat"} {
		status := "planned"
		if slices.Contains(created, id) {
			status = "created"
		}
		resources = append(resources, map[string]any{"id": id, "status": status})
	}
	data, _ := json.MarshalIndent(map[string]any{"version": 1, "account_host": host, "profile": profile,
		"service_account": account, "resources": resources}, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The review's example: a manifest of data only, naming MALLORY with
// ACCOUNTADMIN and an allow-ip open to the internet. resume and replay
// refuse it (exit 2) before any statement, whatever it marks as created.
func TestPATResumePrivilegedManifest(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	mallory := map[string]any{"user": "MALLORY", "role": "ACCOUNTADMIN", "database": "SNOW_UTILS_DB", "allow_ips": []string{"0.0.0.0/0"}}
	narrowRoleOpenNet := map[string]any{"user": "MALLORY", "role": "MCP_USERS", "database": "SNOW_UTILS_DB", "allow_ips": []string{"203.0.113.7", "0.0.0.0/0"}}
	quotedAdmin := map[string]any{"user": "MALLORY", "role": `"SYSADMIN"`, "database": "SNOW_UTILS_DB", "allow_ips": []string{"203.0.113.7"}}
	for _, c := range []struct {
		account map[string]any
		created []string
		want    string
	}{
		{mallory, nil, "service_account.role: ACCOUNTADMIN is a privileged system role"},
		{mallory, []string{"network_rule", "network_policy", "authentication_policy"}, "service_account.role: ACCOUNTADMIN is a privileged system role"},
		{mallory, []string{"user", "network_rule", "network_policy", "authentication_policy"}, "a PAT for automation should carry a narrow role"},
		{narrowRoleOpenNet, []string{"user"}, "service_account.allow_ips: 0.0.0.0/0 is too wide a range: it allows every IPv4 address"},
		{quotedAdmin, nil, "SYSADMIN is a privileged system role"},
	} {
		writeManifest(t, manifest, p.sf.Host(), "mallory", c.account, c.created...)
		for _, args := range [][]string{{"pat", "resume", "--manifest", manifest, "--yes"}, {"pat", "resume", "--manifest", manifest, "--dry-run"},
			{"pat", "replay", "--manifest", manifest, "--yes"}} {
			code, out, errOut := p.run(nil, args...)
			if code != 2 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "nothing was run") {
				t.Errorf("%v with %v (created %v): exit %d, want 2 and %q\n%s%s", args[1], c.account["role"], c.created, code, c.want, out, errOut)
			}
		}
		if ran := p.sf.Statements(); len(ran) != 0 {
			t.Fatalf("a manifest with %v ran %q", c.account, ran)
		}
	}
	if _, ok := p.sf.UserInfo("MALLORY"); ok {
		t.Fatal("MALLORY was created")
	}
}

// pat create refuses a privileged role and an open allow-ip, from flags
// or the environment, before any SQL (with --dry-run too): exit 2, saying
// why and what to do.
func TestPATCreatePrivilegedRole(t *testing.T) {
	p := signedIn(t)
	manifest := filepath.Join(p.dir, "m.json")
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--role", "ACCOUNTADMIN"}, "--role: ACCOUNTADMIN is a privileged system role"},
		{nil, []string{"--role", "useradmin"}, "--role: USERADMIN is a privileged system role"},
		{nil, []string{"--role", `"SECURITYADMIN"`}, "SECURITYADMIN is a privileged system role"},
		{nil, []string{"--role", "orgadmin", "--dry-run"}, "ORGADMIN is a privileged system role"},
		{nil, []string{"--role", "GlobalOrgAdmin"}, "GLOBALORGADMIN is a privileged system role"},
		{nil, []string{"--role", "SYSADMIN"}, "create a role with only what the service needs"},
		{nil, []string{"--allow-ip", "0.0.0.0/0"}, "--allow-ip: 0.0.0.0/0 is too wide a range: it allows every IPv4 address, which defeats the network policy"},
		{nil, []string{"--allow-ip", "128.0.0.0/1", "--dry-run"}, "--allow-ip: 128.0.0.0/1 is too wide a range"},
	} {
		args := append(patCreateArgs(manifest), c.args...) // a repeated flag's last value wins
		code, out, errOut := p.run(c.env, args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("pat create %v: exit %d, want 2 and %q\n%s%s", c.args, code, c.want, out, errOut)
		}
	}
	// From the environment.
	code, _, errOut := p.run([]string{"SA_USER=SVC", "SA_ROLE=ACCOUNTADMIN", "SNOW_UTILS_DB=DB"}, "pat", "create", "--allow-ip", "203.0.113.7", "--manifest", manifest)
	if code != 2 || !strings.Contains(errOut, "ACCOUNTADMIN is a privileged system role") {
		t.Errorf("SA_ROLE=ACCOUNTADMIN: exit %d %s", code, errOut)
	}
	if ran := p.sf.Statements(); len(ran) != 0 {
		t.Fatalf("a refused pat create ran %q", ran)
	}
}

// withPolicies gives ALICE, a person, a network policy and an
// authentication policy of her own, as her administrator would.
func withPolicies(t *testing.T, p *proc) snowflaketest.UserInfo {
	t.Helper()
	for _, stmt := range []string{
		"CREATE OR REPLACE NETWORK RULE DB.NETWORKS.OFFICE MODE = INGRESS TYPE = IPV4 VALUE_LIST = ('192.0.2.0/24')",
		"CREATE NETWORK POLICY OFFICE_POLICY ALLOWED_NETWORK_RULE_LIST = ('DB.NETWORKS.OFFICE')",
		"ALTER USER ALICE SET NETWORK_POLICY = 'OFFICE_POLICY'",
		"CREATE AUTHENTICATION POLICY DB.POLICIES.PEOPLE AUTHENTICATION_METHODS = ('PASSWORD', 'SAML')",
		"ALTER USER ALICE SET AUTHENTICATION POLICY DB.POLICIES.PEOPLE",
	} {
		if err := p.sf.AdminSQL(stmt); err != nil {
			t.Fatal(err)
		}
	}
	info, ok := p.sf.UserInfo("ALICE")
	if !ok || info.AuthPolicy != "DB.POLICIES.PEOPLE" || info.NetworkPolicy != "OFFICE_POLICY" {
		t.Fatalf("ALICE: %+v", info)
	}
	return info
}

// sfmcp never takes over an existing user: pat create --user ALICE, or a
// manifest naming ALICE (whatever it marks as created), fails at the user
// step (CREATE USER, or the check of a user the manifest claims) with
// exit 2 and advice; nothing is granted, and ALICE stays as she was.
func TestPATNeverTakesOverAUser(t *testing.T) {
	p := signedIn(t)
	alice := withPolicies(t, p)
	manifest := filepath.Join(p.dir, "sfmcp-manifest.json")
	account := map[string]any{"user": "ALICE", "role": "MCP_USERS", "database": "SNOW_UTILS_DB", "allow_ips": []string{"203.0.113.7"}}
	createAlice := "CREATE USER ALICE TYPE = SERVICE DEFAULT_ROLE = MCP_USERS COMMENT = 'sfmcp service account'"
	for _, c := range []struct {
		name    string
		setup   func()
		args    []string
		ran     []string
		message string
	}{
		{"pat create --user alice", func() { os.Remove(manifest) },
			append(patCreateArgs(manifest), "--user", "alice", "--profile", "svc"),
			[]string{createAlice}, "user ALICE already exists, and this setup did not create it"},
		{"resume a manifest naming ALICE", func() { writeManifest(t, manifest, p.sf.Host(), "svc", account) },
			[]string{"pat", "resume", "--manifest", manifest, "--yes"},
			[]string{createAlice}, "user ALICE already exists"},
		{"resume a manifest that marks ALICE created", func() {
			writeManifest(t, manifest, p.sf.Host(), "svc", account, "user", "network_rule")
		}, []string{"pat", "resume", "--manifest", manifest, "--yes"},
			[]string{"DESCRIBE USER ALICE"}, "user ALICE is not a service user sfmcp created (TYPE = \"PERSON\", COMMENT = none)"},
		{"remove a manifest that marks ALICE created", func() {
			writeManifest(t, manifest, p.sf.Host(), "svc", account, "user", "network_rule", "network_policy", "authentication_policy", "pat")
		}, []string{"pat", "remove", "--manifest", manifest, "--yes"},
			[]string{"DESCRIBE USER ALICE"}, "user ALICE is not a service user sfmcp created"},
		{"remove only ALICE's policies", func() {
			writeManifest(t, manifest, p.sf.Host(), "svc", account, "network_policy", "authentication_policy")
		}, []string{"pat", "remove", "--manifest", manifest, "--yes"},
			[]string{"DESCRIBE USER ALICE"}, "user ALICE is not a service user sfmcp created"},
	} {
		c.setup()
		before := len(p.sf.Statements())
		code, out, errOut := p.run(nil, c.args...)
		if code != 2 || !strings.Contains(errOut, c.message) || !strings.Contains(errOut, "nothing was changed") ||
			!strings.Contains(errOut, "sfmcp only manages service users it created") {
			t.Errorf("%s: exit %d, want 2 and %q\n%s%s", c.name, code, c.message, out, errOut)
		}
		if ran := p.sf.Statements()[before:]; !slices.Equal(ran, c.ran) {
			t.Errorf("%s: ran %q, want only %q", c.name, ran, c.ran)
		}
		if info, ok := p.sf.UserInfo("ALICE"); !ok || !reflect.DeepEqual(info, alice) {
			t.Fatalf("%s: ALICE changed from %+v to %+v (exists: %v)", c.name, alice, info, ok)
		}
	}
	for _, s := range p.sf.Statements() {
		if strings.HasPrefix(s, "GRANT") || strings.Contains(s, "PROGRAMMATIC ACCESS TOKEN") {
			t.Fatalf("ran %q for a user sfmcp did not create", s)
		}
	}
	if code, _, _ := p.run(nil, "headers", "--profile", "svc"); code == 0 {
		t.Fatal("a PAT profile was made for ALICE")
	}
}
