package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// parsed runs a command built by newCmd with args and returns the options
// its runF saw (nil when the command line was refused, with the error).
func parsed[O any](t *testing.T, newCmd func(*Env, func(*O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	e := &Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard}
	var got *O
	c := newCmd(e, func(o *O) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	err := c.Execute()
	return got, err
}

// Each pat subcommand parses its own flags into its own options, with the
// common part shared; none takes another's flags.
func TestPATOptions(t *testing.T) {
	create, err := parsed(t, newPATCreateCommand, "--user", "ci_bot", "--role", "ci_read", "--db", "ops", "--allow-ip", "203.0.113.0/24",
		"--allow-ip", "198.51.100.7", "--days", "7", "--token-name", "T", "--schema", "S", "--print-token", "--admin-connection", "kp",
		"--admin-role", "sysadmin", "--profile", "ci", "--dry-run")
	want := snowflake.ServiceAccount{Role: "ci_read", Database: "ops", Days: 7, TokenName: "T"}
	if err != nil || !reflect.DeepEqual(create.account, want) || create.user != "ci_bot" || create.schema != "S" || len(create.allowIPs) != 2 || !create.printToken ||
		create.adminConnection != "kp" || create.adminRole != "sysadmin" || create.profile != "ci" || !create.dryRun || create.manifest != defaultManifest {
		t.Fatalf("create: %+v %v", create, err)
	}
	if create, _ := parsed(t, newPATCreateCommand); create.account.Days != 30 || create.printToken || create.dryRun {
		t.Fatalf("create defaults: %+v", create)
	}
	if rotate, err := parsed(t, newPATRotateCommand, "--manifest", "m.json", "--expire-old-after-hours", "0", "--print-token", "--yes"); err != nil ||
		rotate.expireHours != 0 || !rotate.printToken || !rotate.yes || rotate.manifest != "m.json" {
		t.Fatalf("rotate: %+v %v", rotate, err)
	}
	if rotate, _ := parsed(t, newPATRotateCommand); rotate.expireHours != 24 || rotate.yes {
		t.Fatalf("rotate defaults: %+v", rotate)
	}
	if replay, err := parsed(t, newPATReplayCommand, "--account", "myorg-staging", "--admin-profile", "staging", "--print-token", "--yes"); err != nil ||
		replay.account != "myorg-staging" || replay.adminProfile != "staging" || !replay.printToken || !replay.yes {
		t.Fatalf("replay: %+v %v", replay, err)
	}
	if remove, err := parsed(t, newPATRemoveCommand, "--yes", "--user", "ci_bot"); err != nil || !remove.yes || remove.user != "ci_bot" {
		t.Fatalf("remove: %+v %v", remove, err)
	}
	if resume, err := parsed(t, newPATResumeCommand, "--yes", "--dry-run"); err != nil || !resume.yes || !resume.dryRun {
		t.Fatalf("resume: %+v %v", resume, err)
	}
	if status, err := parsed(t, newPATStatusCommand, "--json"); err != nil || !status.asJSON {
		t.Fatalf("status: %+v %v", status, err)
	}
	if verify, err := parsed(t, newPATVerifyCommand, "--server", "DB.PUBLIC.GONG_MCP"); err != nil || verify.server != "DB.PUBLIC.GONG_MCP" {
		t.Fatalf("verify: %+v %v", verify, err)
	}
	for _, refused := range []func() error{
		func() error { _, err := parsed(t, newPATStatusCommand, "--yes"); return err },
		func() error { _, err := parsed(t, newPATVerifyCommand, "--print-token"); return err },
		func() error { _, err := parsed(t, newPATResumeCommand, "--print-token"); return err },
		func() error { _, err := parsed(t, newPATRemoveCommand, "--role", "r"); return err },
		func() error { _, err := parsed(t, newPATCreateCommand, "--yes"); return err },
		func() error { _, err := parsed(t, newPATRotateCommand, "extra"); return err },
	} {
		if err := refused(); err == nil {
			t.Error("a subcommand took a flag or argument it does not have")
		}
	}
}

// newPATHarness is the in-process harness with a Snowflake CLI connection
// "kp": ALICE's key pair, so the pat commands' admin SQL runs without a
// daemon.
func newPATHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, snowflaketest.Options{})
	home := filepath.Join(h.dir, "snowflake")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(home, "rsa_key.p8")
	if err := h.sf.KeyPairFile("alice", key); err != nil {
		t.Fatal(err)
	}
	conns := fmt.Sprintf("[kp]\naccount = \"myorg-acct\"\nhost = %q\nuser = \"alice\"\nauthenticator = \"SNOWFLAKE_JWT\"\nprivate_key_file = %q\n", h.sf.Host(), key) +
		"[browser]\naccount = \"myorg-acct\"\nuser = \"alice\"\nauthenticator = \"externalbrowser\"\n"
	if err := os.WriteFile(filepath.Join(home, "connections.toml"), []byte(conns), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["SNOWFLAKE_HOME"] = home
	return h
}

// pat runs a pat subcommand on manifest as the key-pair admin.
func (h *harness) pat(sub, manifest string, args ...string) (int, string, string) {
	h.t.Helper()
	return h.run("", append([]string{"pat", sub, "--manifest", manifest, "--admin-connection", "kp"}, args...)...)
}

var patCreateFlags = []string{"--user", "ci_bot", "--role", "ci_read", "--db", "ops", "--allow-ip", "203.0.113.0/24"}

func manifestStatuses(t *testing.T, path string) string {
	t.Helper()
	m, err := snowflake.LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range m.Resources {
		s = append(s, r.Status)
	}
	return strings.Join(s, " ")
}

// The pat commands in-process against the stand-in, create to replay.
func TestPATInProcess(t *testing.T) {
	h := newPATHarness(t)
	manifest := filepath.Join(h.dir, "m.json")
	code, out, _ := h.pat("create", manifest, append(patCreateFlags, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "CREATE USER CI_BOT TYPE = SERVICE") || len(h.sf.Statements()) != 0 {
		t.Fatalf("dry run: exit %d, %d statements ran\n%s", code, len(h.sf.Statements()), out)
	}
	code, out, errOut := h.pat("create", manifest, patCreateFlags...)
	if code != 0 || !strings.Contains(out, "✓ USER CI_BOT") || !strings.Contains(out, "Service account ci_bot is ready; its PAT is profile ci_bot in ") {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	first, err := h.store().Credential("ci_bot")
	if err != nil || first.Kind != keychain.CredentialPAT || manifestStatuses(t, manifest) != "created created created created created" {
		t.Fatalf("after create: %v %s", err, manifestStatuses(t, manifest))
	}
	if code, _, errOut := h.pat("create", manifest, patCreateFlags...); code != exitcode.Usage || !strings.Contains(errOut, "already records a setup for ci_bot") || !strings.Contains(errOut, "pat resume --manifest") {
		t.Fatalf("create again: exit %d %s", code, errOut)
	}

	var rows []struct {
		Name, Status string
		DaysLeft     int `json:"days_left"`
	}
	_, out, _ = h.pat("status", manifest, "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Name != "CI_BOT_PAT" || rows[0].Status != "ACTIVE" || rows[0].DaysLeft < 29 {
		t.Fatalf("status --json: %v %s", err, out)
	}
	if _, out, _ := h.pat("status", manifest); !strings.HasPrefix(out, "NAME        ROLE     EXPIRES") || strings.Contains(out, "pat rotate") {
		t.Fatalf("status:\n%s", out)
	}

	ran := len(h.sf.Statements())
	code, _, errOut = h.pat("rotate", manifest)
	if code != exitcode.Usage || !strings.Contains(errOut, "-- On "+h.sf.Host()+", as role ACCOUNTADMIN (connection kp), these statements run:") ||
		!strings.Contains(errOut, "stdin is not a terminal") || len(h.sf.Statements()) != ran {
		t.Fatalf("rotate without --yes: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := h.pat("rotate", manifest, "--yes", "--expire-old-after-hours", "0"); code != 0 || !strings.Contains(out, "Rotated the PAT of ci_bot; profile ci_bot serves the new secret") {
		t.Fatalf("rotate: exit %d\n%s%s", code, out, errOut)
	}
	if rotated, _ := h.store().Credential("ci_bot"); rotated.Secret == first.Secret {
		t.Fatal("rotate kept the old secret")
	}

	// A PAT session cannot manage PATs: the PAT profile is no admin.
	code, _, errOut = h.run("", "pat", "remove", "--manifest", manifest, "--admin-profile", "ci_bot", "--yes")
	if code != exitcode.Usage || !strings.Contains(errOut, "does not let a PAT session manage PATs") || !strings.Contains(errOut, "--admin-connection with key-pair auth") {
		t.Fatalf("remove as the PAT profile: exit %d %s", code, errOut)
	}
	if code, out, errOut := h.pat("remove", manifest, "--yes"); code != 0 || !strings.Contains(out, "profile ci_bot is gone") {
		t.Fatalf("remove: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := h.store().Credential("ci_bot"); err == nil || manifestStatuses(t, manifest) != "removed removed removed removed removed" {
		t.Fatalf("after remove: %v %s", err, manifestStatuses(t, manifest))
	}
	ran = len(h.sf.Statements())
	if code, _, errOut := h.pat("resume", manifest, "--yes"); code != exitcode.Usage || !strings.Contains(errOut, "pat remove removed (USER CI_BOT); nothing was run") || len(h.sf.Statements()) != ran {
		t.Fatalf("resume after remove: exit %d %s", code, errOut)
	}

	// Replay onto the admin's account: a manifest of its own, named after the host.
	code, _, errOut = h.pat("replay", manifest, "--yes", "--account", "myorg-other")
	if code != exitcode.Usage || !strings.Contains(errOut, "--account myorg-other is not the admin profile's account") {
		t.Fatalf("replay onto another account: exit %d %s", code, errOut)
	}
	code, out, errOut = h.pat("replay", manifest, "--yes")
	replayed := filepath.Join(h.dir, "m-"+strings.ReplaceAll(h.sf.Host(), ":", "_")+".json")
	if code != 0 || !strings.HasPrefix(out, "Replaying "+manifest+" onto "+h.sf.Host()+" (new manifest "+replayed+").\n-- On ") || manifestStatuses(t, replayed) != "created created created created created" {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errOut)
	}
}

// The seed's environment variables fill what the flags leave out; without
// them and without a terminal, a missing value is a usage error.
func TestPATSeedEnvironment(t *testing.T) {
	h := newPATHarness(t)
	manifest := filepath.Join(h.dir, "m.json")
	h.env["SA_USER"], h.env["SA_ROLE"], h.env["SNOW_UTILS_DB"] = "env_user", "env_role", "env_db"
	code, out, errOut := h.pat("create", manifest, "--allow-ip", "203.0.113.7", "--dry-run")
	if code != 0 || !strings.Contains(out, "CREATE USER ENV_USER TYPE = SERVICE DEFAULT_ROLE = ENV_ROLE") || !strings.Contains(out, "ENV_DB.NETWORKS.ENV_USER_NETWORK_RULE") {
		t.Fatalf("from the environment: exit %d\n%s%s", code, out, errOut)
	}
	delete(h.env, "SA_ROLE")
	if code, _, errOut := h.pat("create", manifest, "--allow-ip", "203.0.113.7", "--dry-run"); code != exitcode.Usage ||
		errOut != "sfmcp: pat: --role is required\nsfmcp: pass --role or set SA_ROLE\n" {
		t.Fatalf("no role: exit %d %q", code, errOut)
	}
	a := snowflake.ServiceAccount{User: "ci_bot", Role: "ci_read", Database: "ops", AllowIPs: []string{"203.0.113.7"}}
	a.Normalize()
	if err := snowflake.NewManifest(manifest, h.sf.Host(), "ci_bot", a).Save(); err != nil {
		t.Fatal(err)
	}
	h.env["SA_ADMIN_ROLE"] = "sfmcp_admin"
	if code, out, _ := h.pat("resume", manifest, "--dry-run"); code != 0 || !strings.Contains(out, "as role SFMCP_ADMIN (the admin profile)") {
		t.Fatalf("SA_ADMIN_ROLE: exit %d\n%s", code, out)
	}
	if code, out, _ := h.pat("resume", manifest, "--dry-run", "--admin-role", "securityadmin"); code != 0 || !strings.Contains(out, "as role SECURITYADMIN") {
		t.Fatalf("--admin-role over SA_ADMIN_ROLE: exit %d\n%s", code, out)
	}
}

// What the pat commands refuse before any SQL runs, and the advice.
func TestPATRefusals(t *testing.T) {
	h := newPATHarness(t)
	dir := h.dir
	write := func(name, host string, change func(*snowflake.ServiceAccount)) string {
		a := snowflake.ServiceAccount{User: "ci_bot", Role: "ci_read", Database: "ops", AllowIPs: []string{"203.0.113.7"}}
		if change != nil {
			change(&a)
		}
		a.Normalize()
		path := filepath.Join(dir, name)
		if err := snowflake.NewManifest(path, host, "ci_bot", a).Save(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	elsewhere := write("elsewhere.json", "myorg-other.snowflakecomputing.com", nil)
	privileged := write("privileged.json", h.sf.Host(), func(a *snowflake.ServiceAccount) { a.Role = "accountadmin" })
	here := write("here.json", h.sf.Host(), nil)
	for _, tc := range []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"pat", "rotate", "--manifest", elsewhere, "--admin-connection", "kp", "--yes"},
			"pat rotate: the manifest is for myorg-other.snowflakecomputing.com, the admin profile for " + h.sf.Host(), "use --admin-profile with a profile for myorg-other"},
		{[]string{"pat", "status", "--manifest", here, "--admin-connection", "browser"},
			"connection browser does not use key-pair authentication", `set authenticator = "SNOWFLAKE_JWT"`},
		{append([]string{"pat", "create", "--manifest", filepath.Join(dir, "new.json"), "--admin-connection", "kp"}, append(patCreateFlags[:2:2], "--role", "accountadmin", "--db", "ops", "--allow-ip", "203.0.113.7")...),
			"pat create: --role: ACCOUNTADMIN is a privileged system role", ""},
		{[]string{"pat", "resume", "--manifest", privileged, "--admin-connection", "kp", "--yes"},
			"pat resume: manifest " + privileged + ": service_account.role: ACCOUNTADMIN is a privileged", "if " + privileged + " came from elsewhere, delete it"},
		{[]string{"pat", "status", "--manifest", here, "--user", "someone"}, "manifest " + here + " is for user CI_BOT, not someone", ""},
		{[]string{"pat", "remove", "--manifest", filepath.Join(dir, "missing.json")}, "read the manifest", "pass --manifest FILE"},
		{[]string{"pat", "verify", "--manifest", here}, `profile not found: "ci_bot"`, "profile add"},
	} {
		code, _, errOut := h.run("", tc.args...)
		if code != exitcode.Usage || !strings.HasPrefix(errOut, "sfmcp: "+tc.msg) || !strings.Contains(errOut, tc.hint) {
			t.Errorf("%v: exit %d\n%s", tc.args[1:3], code, errOut)
		}
	}
	if n := len(h.sf.Statements()); n != 0 {
		t.Fatalf("%d statements ran", n)
	}
}

// --print-token prints the secret it stored, on stdout only (this test
// keeps stdout out of the leak check; stderr is checked).
func TestPATPrintToken(t *testing.T) {
	h := newPATHarness(t)
	var out, errOut bytes.Buffer
	e := Env{Getenv: func(k string) string { return h.env[k] }, Stdout: &out, Stderr: &errOut, HTTPClient: h.sf.Client(),
		Args: append([]string{"pat", "create", "--manifest", filepath.Join(h.dir, "m.json"), "--admin-connection", "kp", "--print-token"}, patCreateFlags...)}
	code := Main(context.Background(), e)
	h.leaks.Record("stderr", errOut.String())
	cred, err := h.store().Credential("ci_bot")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 0 || err != nil || lines[len(lines)-1] != cred.Secret || strings.Count(out.String(), cred.Secret) != 1 {
		t.Fatalf("exit %d, %v: the last line of stdout is not the stored secret", code, err)
	}
	h.leaks.Record("stdout without the token", strings.Join(lines[:len(lines)-1], "\n"))
}

// The options tests above build every constructor; the command tree must
// hold the same seven.
func TestPATCommandTree(t *testing.T) {
	var names []string
	for _, c := range newPATCommand(&Env{}).Commands() {
		names = append(names, c.Name())
	}
	if want := []string{"create", "remove", "replay", "resume", "rotate", "status", "verify"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("pat subcommands: %v", names)
	}
}
