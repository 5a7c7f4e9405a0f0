package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every file sfmcp reads goes through this package's bounded reader, so a
// link to /dev/zero, a FIFO or a huge file a project planted cannot fill
// memory or hang a command (#20). Plain whole-file reads are left only for
// the kernel's own files under /proc.
func TestNoUnboundedReadsInProductCode(t *testing.T) {
	allowed := map[string]string{
		"internal/proctree/proctree_linux.go": "/proc files",
		"oauth/peeruid_linux.go":              "/proc/net/unix",
	}
	// The whole-file reads the standard library and the TOML parser offer;
	// os.OpenFile stays allowed for locks and logs, which are written.
	unbounded := regexp.MustCompile(`\b(os\.ReadFile|ioutil\.ReadFile|os\.Open|toml\.DecodeFile|ioutil\.ReadAll)\(`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			// Test programs, benchmarks and build scripts read their own files.
			if rel == "test" || rel == "bench" || rel == "scripts" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || allowed[rel] != "" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if unbounded.MatchString(line) {
				t.Errorf("%s:%d reads a whole file unbounded; use atomicfile.ReadFile or ReadRegular:\n\t%s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
