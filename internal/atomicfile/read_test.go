package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNestingCountsOutsideStringsAndComments(t *testing.T) {
	for text, want := range map[string]int{
		`{"a": [1, {"b": []}]}`:            4,
		`{"a": "[[[[{{{{"}`:                1,
		`{"a": "\"[[", "b": [1]}`:          2,
		`{"it's": ["'", "//", "#", "/*"]}`: 2,
		"// it's\n[[[]]]":                  3,
		`/* ' " */ [[]] // [[[[[[` + "\n":  2,
		`{"a": [] /* [[[[ */}`:             2,
		`["\\", [[]]]`:                     3, // the string is one backslash
	} {
		if got := NestingJSONC([]byte(text)); got != want {
			t.Errorf("NestingJSONC(%s) = %d, want %d", text, got, want)
		}
	}
	for text, want := range map[string]int{
		"a = '[[[['\nb = [[1]]":                        2,
		"# it's\na = [[[1]]]":                          3,
		"a = \"it's\" # [[[[\nb = [[1]]":               2,
		"a = '''\n\"[[\n'''\nb = [[1]]":                2,
		"a = \"\"\"\n'[[ \\\"\"\" [[\n\"\"\"\nb = [1]": 1, // an escaped quote does not end it
		"a = \"\"\"x\"\"\"\"\"\nb = [[1]]":             2, // the text ends in two quotes
		"a = '''x'''''\nb = [[1]]":                     2,
		"a = 'C:\\'\nb = [[1]]":                        2, // a literal string has no escapes
		"a.b.c = 1":                                    4,
		"[a.b]\nc.d = [1.5, 2.5, 3.5]":                 7,
		"a = {b.c = 1, d.e = 1, f = [1.5, 2.5]}":       3,
		`["a.b"]`:                                      2,
	} {
		if got := NestingTOML([]byte(text)); got != want {
			t.Errorf("NestingTOML(%q) = %d, want %d", text, got, want)
		}
	}
}

// A quote in a comment hides nothing: a million-deep nest after "it's" is
// refused at once, before a parser recurses into it; so is a TOML table a
// million keys deep, which BurntSushi/toml takes quadratic time over.
func TestReadForEditRefusesAMillionDeepNest(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		nesting    func([]byte) int
	}{
		{".mcp.json", "// it's\n{\"mcpServers\": " + strings.Repeat("[", 1<<20), NestingJSONC},
		{"config.toml", "# it's\na = " + strings.Repeat("[", 1<<20), NestingTOML},
		{"config.toml", "[" + strings.Repeat("a.", 1<<20) + "a]\n", NestingTOML},
		{"config.toml", strings.Repeat("a.", 1<<20) + "a = 1\n", NestingTOML},
	} {
		path := filepath.Join(dir, c.name)
		os.WriteFile(path, []byte(c.text), 0o600)
		if _, err := ReadForEdit(path, 16<<20, false, c.nesting, 256); err == nil || !strings.Contains(err.Error(), "nests deeper") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestReadForEdit(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	os.WriteFile(target, []byte("{}"), 0o640)
	link := filepath.Join(dir, "link.json")
	os.Symlink(target, link)
	if _, err := ReadForEdit(link, 1<<20, false, NestingJSONC, 10); err == nil {
		t.Error("a symlink was followed without being allowed to")
	}
	e, err := ReadForEdit(link, 1<<20, true, NestingJSONC, 10)
	if err != nil || e.Write != target || e.Mode != 0o640 || string(e.Data) != "{}" {
		t.Fatalf("followed: %+v %v", e, err)
	}
	if _, err := ReadForEdit(target, 1, false, NestingJSONC, 10); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("size bound: %v", err)
	}
	os.WriteFile(target, []byte("[[[[[[]]]]]]"), 0o640)
	if _, err := ReadForEdit(target, 1<<20, false, NestingJSONC, 3); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("nesting bound: %v", err)
	}
	if e, err := ReadForEdit(filepath.Join(dir, "new.json"), 1<<20, false, NestingJSONC, 3); err != nil || e.Data != nil || e.Mode != 0o600 {
		t.Errorf("a missing file: %+v %v", e, err)
	}
}
