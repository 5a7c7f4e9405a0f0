package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
)

// A profile name becomes a TOML key, a keychain entry and a word in an MCP
// client's command line: anything but a plain word is refused, and nothing
// is written.
func TestProfileAddRefusesInvalidNames(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	for _, name := range []string{"bad name", "../x", "a/b", "x;y", "$(id)", ".", "-", "é", strings.Repeat("a", 65)} {
		code, out, errOut := h.run("", "profile", "add", name, "--account", "myorg-acct")
		want := `sfmcp: profile name "` + name + `": use letters, digits, '.', '_' or '-' (at most 64)` + "\n"
		if code != exitcode.Usage || out != "" || errOut != want {
			t.Errorf("profile add %q: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	if _, err := os.Stat(h.env["SFMCP_CONFIG"]); err == nil {
		t.Error("a refused name wrote the config")
	}
	h.mustRun("profile", "add", strings.Repeat("a", 64), "--account", "myorg-acct")
	h.mustRun("profile", "add", "Team_1.prod-2", "--account", "myorg-acct")
}

// profile add never silently replaces a profile: without --force it
// refuses and changes nothing; with --force only the named settings
// change, and a new account drops the old one's host override.
func TestProfileAddRefusesToOverwrite(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(), "--client-id", "CID",
		"--client-type", "confidential", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback", "--role", "ANALYST")
	before := h.readFile("config.toml")
	code, out, errOut := h.run("", "profile", "add", "corp", "--account", "myorg-other")
	want := "sfmcp: profile corp already exists (" + h.sf.Host() + ", client CID (confidential)); nothing was changed\n" +
		"sfmcp: to change only the settings you name: sfmcp-token profile set corp --FLAG VALUE; to store its client secret: sfmcp-token profile set-secret corp --client-secret-stdin\n"
	if code != exitcode.Usage || out != "" || errOut != want {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if h.readFile("config.toml") != before {
		t.Fatal("a refused profile add changed the config")
	}
	if out := h.mustRun("profile", "add", "corp", "--force", "--role", "ENGINEER"); !strings.HasPrefix(out, "Profile corp updated ("+h.sf.Host()+", client CID (confidential)).") {
		t.Errorf("--force said %q", out)
	}
	var show map[string]any
	json.Unmarshal([]byte(h.mustRun("profile", "show", "corp", "--json")), &show)
	if show["role"] != "ENGINEER" || show["client_id"] != "CID" || show["host"] != h.sf.Host() || show["redirect_uri"] != "http://127.0.0.1:3000/oauth/callback" {
		t.Errorf("after --force --role: %v", show)
	}
	h.mustRun("profile", "add", "corp", "--force", "--account", "myorg-new")
	show = nil
	json.Unmarshal([]byte(h.mustRun("profile", "show", "corp", "--json")), &show)
	if show["endpoint"] != "https://myorg-new.snowflakecomputing.com" || show["host"] != nil || show["role"] != "ENGINEER" {
		t.Errorf("after --force --account: %v", show)
	}
}

// The default profile: the first one added, moved by `profile default`,
// and gone with the profile when that is removed, which also forgets its
// sign-in.
func TestProfileDefaultAndRemove(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{AutoApprove: "alice"})
	h.privateDaemon()
	for _, name := range []string{"a", "b", "c"} {
		h.mustRun("profile", "add", name, "--account", "myorg-acct", "--host", h.sf.Host())
	}
	defaultOf := func() string {
		t.Helper()
		var list []struct {
			Name    string
			Default bool
		}
		if err := json.Unmarshal([]byte(h.mustRun("profile", "list", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		marked := ""
		for _, p := range list {
			if p.Default {
				marked += p.Name
			}
		}
		return marked
	}
	if d := defaultOf(); d != "a" {
		t.Fatalf("default after the first add: %q", d)
	}
	if out := h.mustRun("profile", "default", "b"); out != "Profile b is now the default.\n" {
		t.Errorf("profile default: %q", out)
	}
	if list := h.mustRun("profile", "list"); !strings.Contains(list, "\nb *  ") || strings.Contains(list, "a *") {
		t.Errorf("list does not mark b:\n%s", list)
	}
	h.mustRun("login", "b")
	if out := h.mustRun("profile", "remove", "b"); out != "Profile b removed.\n" {
		t.Errorf("profile remove: %q", out)
	}
	if _, err := h.store().Credential("b"); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("the removed profile's sign-in is still stored: %v", err)
	}
	if d := defaultOf(); d != "" || strings.Contains(h.readFile("config.toml"), "default_profile") {
		t.Errorf("default after removing it: %q\n%s", d, h.readFile("config.toml"))
	}
	code, _, errOut := h.run("", "profile", "show")
	if code != exitcode.Usage || !strings.Contains(errOut, "no profile given and no default_profile set") {
		t.Errorf("show with two profiles and no default: exit %d %s", code, errOut)
	}
	h.mustRun("profile", "remove", "c")
	if out := h.mustRun("profile", "show"); !strings.HasPrefix(out, "profile:      a\n") {
		t.Errorf("show with one profile left: %q", out)
	}
}

// A command naming a profile that does not exist says so, and how to find
// the right name, with exit 2.
func TestMissingProfile(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	h.privateDaemon()
	h.mustRun("profile", "add", "prod", "--account", "myorg-acct")
	before := h.readFile("config.toml")
	for _, args := range [][]string{
		{"profile", "show", "nope"}, {"profile", "remove", "nope"}, {"profile", "default", "nope"},
		{"profile", "set-secret", "nope", "--client-secret-stdin"}, {"login", "nope"}, {"logout", "nope"},
	} {
		code, out, errOut := h.run("secret-not-read\n", args...)
		want := "sfmcp: profile not found: \"nope\"\nsfmcp: run: sfmcp-token profile list (or sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME)\n"
		if code != exitcode.Usage || out != "" || errOut != want {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if h.readFile("config.toml") != before {
		t.Error("a command on a missing profile changed the config")
	}
}

// With no profiles, list says how to add one (on stderr: stdout stays
// empty for scripts) and --json is an empty array.
func TestProfileListEmpty(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	code, out, errOut := h.run("", "profile", "list")
	if code != 0 || out != "" || errOut != "No profiles yet. Run: sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME\n" {
		t.Errorf("exit %d: %q %q", code, out, errOut)
	}
	if out := h.mustRun("profile", "list", "--json"); out != "[]\n" {
		t.Errorf("--json: %q", out)
	}
}

// The missing-secret hint is a command that stores the secret, from stdin
// only, and changes nothing else; a public client has no secret to store.
func TestProfileSetSecret(t *testing.T) {
	h := newHarness(t, snowflaketest.Options{})
	const secret = "s3cr3t-value"
	h.leaks.Secret(secret)
	h.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", h.sf.Host(), "--client-id", "CID",
		"--client-type", "confidential", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback")
	h.mustRun("profile", "add", "pub", "--account", "myorg-acct", "--host", h.sf.Host())
	code, _, errOut := h.run("", "login", "corp", "--no-browser")
	if code != exitcode.Usage || !strings.Contains(errOut, `sfmcp-token profile set-secret corp --client-secret-stdin`) {
		t.Fatalf("login without a secret: exit %d: %s", code, errOut)
	}
	before := h.readFile("config.toml")
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{secret + "\n", []string{"corp"}, "sfmcp: profile set-secret: pass --client-secret-stdin and the secret on stdin (never on the command line)\n"},
		{"", []string{"corp", "--client-secret-stdin"}, "sfmcp: no client secret on stdin\n"},
		{" \n\t\n", []string{"corp", "--client-secret-stdin"}, "sfmcp: no client secret on stdin\n"},
		{strings.Repeat("x", 4097), []string{"corp", "--client-secret-stdin"}, "sfmcp: the client secret on stdin is longer than 4 KiB; pipe only the secret\n"},
		{secret + "\n", []string{"pub", "--client-secret-stdin"}, "sfmcp: profile pub uses a public client (SNOWFLAKE$LOCAL_APPLICATION), which has no secret\n"},
	} {
		code, out, errOut := h.run(tc.stdin, append([]string{"profile", "set-secret"}, tc.args...)...)
		if code != exitcode.Usage || out != "" || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("set-secret %v: exit %d\n%s%s", tc.args, code, out, errOut)
		}
	}
	if _, err := h.store().ClientSecret("corp"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("a refused set-secret stored something: %v", err)
	}
	code, out, errOut := h.run(secret+"\n", "profile", "set-secret", "corp", "--client-secret-stdin")
	if code != 0 || out != "Stored the client secret of profile corp. Next: sfmcp-token login --profile corp\n" ||
		!strings.Contains(errOut, "credentials are kept in a plain file") {
		t.Fatalf("set-secret: exit %d\n%s%s", code, out, errOut)
	}
	if got, err := h.store().ClientSecret("corp"); err != nil || got != secret {
		t.Fatalf("stored secret: %v", err)
	}
	if h.readFile("config.toml") != before {
		t.Errorf("set-secret changed the config:\n%s", h.readFile("config.toml"))
	}
	if data, _ := os.ReadFile(filepath.Join(h.dir, "data", "sfmcp", "credentials.json")); !strings.Contains(string(data), secret) {
		t.Error("the secret is not in the file store")
	}
}
