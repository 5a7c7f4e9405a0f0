package exitcode

import (
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client/apitype"
)

// Each code's advice names the profile when it is known, and a placeholder
// the user can see is one when it is not; an unknown code is an
// unexpected error with no advice.
func TestForCodeNamesTheProfile(t *testing.T) {
	for _, code := range []string{apitype.CodeLoginRequired, apitype.CodeSignInOpened, apitype.CodeClientConfig} {
		if _, hint := ForCode(code, "prod"); !strings.Contains(hint, "prod") {
			t.Errorf("%s: hint %q does not name the profile", code, hint)
		}
	}
	if _, hint := ForCode(apitype.CodeLoginRequired, ""); hint != "run: sfmcp-token login --profile NAME" {
		t.Errorf("login hint without a profile = %q", hint)
	}
	if code, hint := ForCode(apitype.CodeUnknownProfile, "standin"); code != Usage || hint != "profile standin does not exist; run: sfmcp-token profile list" {
		t.Errorf("a named profile that is missing: %d %q", code, hint)
	}
	if _, hint := ForCode(apitype.CodeUnknownProfile, ""); !strings.Contains(hint, "profile add NAME") {
		t.Errorf("no profile named: %q; want the way to add one", hint)
	}
	if code, hint := ForCode("", "prod"); code != Error || hint != "" {
		t.Errorf("no code: %d %q; want %d and no hint", code, hint, Error)
	}
	if code, hint := ForCode("something_new", "prod"); code != Error || hint != "see the daemon log for details" {
		t.Errorf("a code from a daemon of another version: %d %q", code, hint)
	}
	seen := map[string]bool{}
	for _, code := range apitype.Codes {
		if seen[code] {
			t.Errorf("code %s listed twice", code)
		}
		seen[code] = true
	}
}

// DaemonEnvNote names only the variables that are set.
func TestDaemonEnvNote(t *testing.T) {
	env := map[string]string{"SFMCP_KEYRING": "file", "HOME": "/h"}
	note := DaemonEnvNote(func(k string) string { return env[k] })
	if !strings.Contains(note, "does not read SFMCP_KEYRING from") || strings.Contains(note, "HOME") {
		t.Errorf("note = %q", note)
	}
	if note := DaemonEnvNote(func(string) string { return "" }); note != "" {
		t.Errorf("note with nothing set = %q", note)
	}
}
