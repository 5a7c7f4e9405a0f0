package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNestingCountsOutsideStrings(t *testing.T) {
	for text, want := range map[string]int{
		`{"a": [1, {"b": []}]}`:           4,
		`{"a": "[[[[{{{{"}`:               1,
		`a = '[[[['` + "\n" + `b = [[1]]`: 2,
		`{"a": "\"[[", "b": [1]}`:         2,
	} {
		if got := Nesting([]byte(text)); got != want {
			t.Errorf("Nesting(%s) = %d, want %d", text, got, want)
		}
	}
}

func TestReadForEdit(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	os.WriteFile(target, []byte("{}"), 0o640)
	link := filepath.Join(dir, "link.json")
	os.Symlink(target, link)
	if _, err := ReadForEdit(link, 1<<20, false, 10); err == nil {
		t.Error("a symlink was followed without being allowed to")
	}
	e, err := ReadForEdit(link, 1<<20, true, 10)
	if err != nil || e.Write != target || e.Mode != 0o640 || string(e.Data) != "{}" {
		t.Fatalf("followed: %+v %v", e, err)
	}
	if _, err := ReadForEdit(target, 1, false, 10); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("size bound: %v", err)
	}
	os.WriteFile(target, []byte("[[[[[[]]]]]]"), 0o640)
	if _, err := ReadForEdit(target, 1<<20, false, 3); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("nesting bound: %v", err)
	}
	if e, err := ReadForEdit(filepath.Join(dir, "new.json"), 1<<20, false, 3); err != nil || e.Data != nil || e.Mode != 0o600 {
		t.Errorf("a missing file: %+v %v", e, err)
	}
}
