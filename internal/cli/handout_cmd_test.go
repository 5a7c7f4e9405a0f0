//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// Issue #23: an onboarding file admin setup could not fill in says what
// the administrator fills in before handing it out; setup --from refuses
// it as it is, before any sign-in. After --apply, admin setup knows the
// client id and the file is ready.
func TestOnboardingFileIsReadyOrSaysWhatToFillIn(t *testing.T) {
	h := newHarness(t, signInOpts)
	adminSignedIn(h)
	file := filepath.Join(h.dir, "onb.toml")
	args := []string{"admin", "setup", "--admin-profile", "admin", "--integration", "sfmcp", "--mcp-server", "DB.PUBLIC.GONG_MCP", "--role", "MCP_USERS",
		"--sql", "--onboarding-file", file}

	code, _, errOut := h.run("", args...)
	want := "sfmcp: wrote the onboarding file to " + file + ", but do not hand it out yet: fill in client_id (the integration's OAUTH_CLIENT_ID, which SELECT SYSTEM$SHOW_OAUTH_CLIENT_SECRETS('SFMCP') shows)\n"
	if code != 0 || !strings.Contains(errOut, want) || strings.Contains(errOut, "hand it out;") {
		t.Fatalf("admin setup without --apply: exit %d, want stderr %q\n%s", code, want, errOut)
	}
	before := h.sf.Counters()
	code, out, errOut := h.run("", "setup", "--from", file, "--yes")
	want = "sfmcp: onboarding file " + file + `: client_id is a placeholder, "<OAUTH_CLIENT_ID>", that the administrator did not fill in` + "\n"
	if code != exitcode.Usage || out != "" || !strings.HasPrefix(errOut, want) {
		t.Fatalf("setup --from an unfilled file: exit %d, want %q\n%s%s", code, want, out, errOut)
	}
	if after := h.sf.Counters(); after.Authorize != before.Authorize || after.CodeExchanges != before.CodeExchanges {
		t.Errorf("setup began a sign-in with an unfilled file: %+v, was %+v", after, before)
	}
	if cfg := h.readFile("config.toml"); strings.Contains(cfg, "[profiles.sfmcp]") {
		t.Errorf("setup added the profile:\n%s", cfg)
	}

	code, out, errOut = h.run("", append(args, "--apply")...)
	if code != 0 || !strings.Contains(errOut, "sfmcp: wrote the onboarding file to "+file+" (hand it out; it holds no secret)\n") {
		t.Fatalf("admin setup --apply: exit %d\n%s%s", code, out, errOut)
	}
	_, rest, _ := strings.Cut(out, "Integration SFMCP is ready; client id ")
	id, _, _ := strings.Cut(rest, ".\n")
	data, err := os.ReadFile(file)
	if err != nil || id == "" || !strings.Contains(string(data), `client_id = "`+id+`"`) {
		t.Fatalf("onboarding file after --apply: %v\n%s", err, data)
	}
}
