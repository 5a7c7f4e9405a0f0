package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli and docs/man from the command tree")

// The committed command reference and man pages are what the command tree
// generates today (CI runs this test). Regenerate with `make docs`.
func TestDocsAreCurrent(t *testing.T) {
	repo := filepath.Join("..", "..", "docs")
	if *updateDocs {
		if err := WriteDocs(repo); err != nil {
			t.Fatal(err)
		}
	}
	fresh := t.TempDir()
	if err := WriteDocs(fresh); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cli", "man"} {
		want, got := readTree(t, filepath.Join(fresh, sub)), readTree(t, filepath.Join(repo, sub))
		for name, content := range want {
			if got[name] != content {
				t.Errorf("docs/%s/%s is not current: run make docs", sub, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("docs/%s/%s documents no command: run make docs", sub, name)
			}
		}
		if len(want) < 20 {
			t.Errorf("docs/%s: only %d pages generated", sub, len(want))
		}
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

// Every command and subcommand has a one-line summary and help on stdout
// (exit 0, nothing on stderr); every command that does something shows an
// example.
func TestEveryCommandHasHelp(t *testing.T) {
	paths := 0
	for _, c := range visible(NewCommand(&Env{})) {
		path := strings.Fields(c.CommandPath())[1:]
		if c.Short == "" {
			t.Errorf("%q has no summary", c.CommandPath())
		}
		if c.Runnable() && !c.HasSubCommands() && c.Example == "" && !slices.Contains([]string{"help", "completion"}, path[0]) {
			t.Errorf("%q has no example", c.CommandPath())
		}
		var out, errOut bytes.Buffer
		code := Main(context.Background(), Env{Stdout: &out, Stderr: &errOut, Args: append(path, "--help")})
		if code != 0 || errOut.Len() > 0 || !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), c.CommandPath()) {
			t.Errorf("%q --help: exit %d\nstdout: %s\nstderr: %s", c.CommandPath(), code, out.String(), errOut.String())
		}
		paths++
	}
	if paths < 25 {
		t.Errorf("only %d commands walked", paths)
	}
}
