package e2e

import (
	"os"
	"strings"
	"testing"
)

// profile add never silently replaces a profile: without --force it
// refuses and changes nothing; with --force only the named settings change.
func TestProfileAddRefusesToOverwrite(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	p.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", p.sf.Host(), "--client-id", "CID",
		"--client-type", "confidential", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback", "--role", "ANALYST")
	before, err := os.ReadFile(p.configFile())
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := p.run(nil, "profile", "add", "corp", "--account", "myorg-other")
	if code != 2 || out != "" || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "--force") || !strings.Contains(errOut, "profile set-secret corp") {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(p.configFile()); string(after) != string(before) {
		t.Fatalf("a refused profile add changed the config:\n%s", after)
	}
	// --force with one flag changes that setting only: host, client and
	// redirect URI stay.
	p.mustRun("profile", "add", "corp", "--force", "--role", "ENGINEER")
	out = p.mustRun("profile", "show", "corp", "--json")
	for _, want := range []string{`"role": "ENGINEER"`, `"client_id": "CID"`, p.sf.Host(), `"redirect_uri": "http://127.0.0.1:3000/oauth/callback"`} {
		if !strings.Contains(out, want) {
			t.Errorf("after --force --role: missing %s in\n%s", want, out)
		}
	}
}

// The missing-secret hint is a command that stores the secret and changes
// nothing else.
func TestSetSecretChangesNothingElse(t *testing.T) {
	p := newProc(t)
	p.useFileStore()
	p.mustRun("profile", "add", "corp", "--account", "myorg-acct", "--host", p.sf.Host(), "--client-id", "CID",
		"--client-type", "confidential", "--redirect-uri", "http://127.0.0.1:3000/oauth/callback")
	code, _, errOut := p.run(nil, "login", "corp", "--no-browser")
	if code != 2 || !strings.Contains(errOut, `sfmcp-token profile set-secret corp --client-secret-stdin`) {
		t.Fatalf("login without a secret: exit %d: %s", code, errOut)
	}
	before, _ := os.ReadFile(p.configFile())
	c := p.cmd(nil, "profile", "set-secret", "corp", "--client-secret-stdin")
	c.Stdin = strings.NewReader("s3cr3t-value\n")
	if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "Stored the client secret of profile corp") {
		t.Fatalf("set-secret: %v: %s", err, out)
	}
	if after, _ := os.ReadFile(p.configFile()); string(after) != string(before) {
		t.Fatalf("set-secret changed the config:\n%s\nwas\n%s", after, before)
	}
	if store, _ := os.ReadFile(p.credentialsFile()); !strings.Contains(string(store), "s3cr3t-value") {
		t.Fatal("the secret is not in the store")
	}
	// Never on the command line; never for a public client.
	if code, _, errOut := p.run(nil, "profile", "set-secret", "corp"); code != 2 || !strings.Contains(errOut, "--client-secret-stdin") {
		t.Errorf("without --client-secret-stdin: exit %d: %s", code, errOut)
	}
	p.mustRun("profile", "add", "pub", "--account", "myorg-acct", "--host", p.sf.Host())
	c = p.cmd(nil, "profile", "set-secret", "pub", "--client-secret-stdin")
	c.Stdin = strings.NewReader("x\n")
	if err := c.Run(); c.ProcessState.ExitCode() != 2 {
		t.Errorf("set-secret on a public client: %v", err)
	}
}

// profile default says what it did.
func TestProfileDefaultConfirms(t *testing.T) {
	p := newProc(t)
	p.mustRun("profile", "add", "a", "--account", "myorg-acct", "--host", p.sf.Host())
	p.mustRun("profile", "add", "b", "--account", "myorg-acct", "--host", p.sf.Host())
	if out := p.mustRun("profile", "default", "b"); out != "Profile b is now the default.\n" {
		t.Errorf("profile default: %q", out)
	}
}
