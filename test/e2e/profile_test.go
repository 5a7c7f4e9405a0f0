package e2e

import (
	"testing"
)

// profile default says what it did.
func TestProfileDefaultConfirms(t *testing.T) {
	p := newProc(t)
	p.mustRun("profile", "add", "a", "--account", "myorg-acct", "--host", p.sf.Host())
	p.mustRun("profile", "add", "b", "--account", "myorg-acct", "--host", p.sf.Host())
	if out := p.mustRun("profile", "default", "b"); out != "Profile b is now the default.\n" {
		t.Errorf("profile default: %q", out)
	}
}
