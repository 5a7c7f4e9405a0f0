package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The README is the front door and the guides in docs/ hold the rest: the
// README stays short, no line of either is a wall of text, every relative
// link and anchor resolves, and the README's layout table names every
// package, so a new one cannot go undocumented.
func TestDocsGuides(t *testing.T) {
	repo := filepath.Join("..", "..")
	guides, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil || len(guides) == 0 {
		t.Fatalf("no guides in docs/: %v", err)
	}
	readme := filepath.Join(repo, "README.md")
	for _, f := range append([]string{readme}, guides...) {
		lines := strings.Split(readFileT(t, f), "\n")
		if f == readme && len(lines) > 201 {
			t.Errorf("README.md has %d lines; keep it at most 200 and move the rest into docs/", len(lines)-1)
		}
		for i, l := range lines {
			if n := utf8.RuneCountInString(l); n > 200 {
				t.Errorf("%s:%d is %d characters long; wrap it", f, i+1, n)
			}
		}
	}
	linked := append([]string{readme, filepath.Join(repo, "SECURITY.md"), filepath.Join(repo, "bench", "RESULTS.md")}, guides...)
	for _, f := range linked {
		checkLinks(t, f)
	}
	text := readFileT(t, readme)
	for _, pkg := range goPackages(t, repo) {
		named := strings.Contains(text, "`"+pkg+"`") || strings.Contains(text, "`"+pkg+"/`")
		if dir, base := filepath.Split(pkg); dir == "bench/" {
			named = named || strings.Contains(text, "`"+base+"`")
		}
		if !named {
			t.Errorf("README.md's layout table does not name package %s", pkg)
		}
	}
}

var (
	fence    = regexp.MustCompile("(?s)```.*?```")
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeader = regexp.MustCompile(`(?m)^#+ (.*)$`)
)

// checkLinks fails on a relative link in a Markdown file whose target file
// or heading anchor does not exist.
func checkLinks(t *testing.T, file string) {
	t.Helper()
	for _, m := range mdLink.FindAllStringSubmatch(fence.ReplaceAllString(readFileT(t, file), ""), -1) {
		link := m[1]
		if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
			continue
		}
		path, frag, _ := strings.Cut(link, "#")
		target := file
		if path != "" {
			target = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("%s: link %s: %v", file, link, err)
			continue
		}
		if frag != "" && !anchors(t, target)[frag] {
			t.Errorf("%s: link %s: no such heading in %s", file, link, target)
		}
	}
}

// anchors are the heading anchors GitHub gives a Markdown file.
func anchors(t *testing.T, file string) map[string]bool {
	out := map[string]bool{}
	for _, m := range mdHeader.FindAllStringSubmatch(fence.ReplaceAllString(readFileT(t, file), ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// goPackages lists the repository's directories that hold Go files, as
// slash-separated paths (testdata and hidden directories excluded).
func goPackages(t *testing.T, repo string) []string {
	t.Helper()
	seen := map[string]bool{}
	var pkgs []string
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repo && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		rel, err := filepath.Rel(repo, filepath.Dir(path))
		if err != nil || rel == "." || seen[rel] {
			return err
		}
		seen[rel] = true
		pkgs = append(pkgs, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("found only %d Go packages under %s", len(pkgs), repo)
	}
	return pkgs
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
