package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	for name, c := range map[string]struct {
		imports string
		ok      bool
	}{
		"three groups":       {"import (\n\t\"os\"\n\n\t\"golang.org/x/sys/unix\"\n\n\t\"github.com/sfmcp/sfmcp/client\"\n)\n", true},
		"std only":           {"import \"os\"\n", true},
		"ours in std's":      {"import (\n\t\"os\"\n\t\"github.com/sfmcp/sfmcp/client\"\n)\n", false},
		"other modules last": {"import (\n\t\"os\"\n\n\t\"github.com/sfmcp/sfmcp/client\"\n\n\t\"golang.org/x/sys/unix\"\n)\n", false},
		"std twice":          {"import (\n\t\"os\"\n\n\t\"io\"\n)\n", false},
	} {
		path := filepath.Join(t.TempDir(), "f.go")
		os.WriteFile(path, []byte("package p\n\n"+c.imports), 0o600)
		if got := check(path); (len(got) == 0) != c.ok {
			t.Errorf("%s: problems %q, want ok=%v", name, got, c.ok)
		}
	}
}
