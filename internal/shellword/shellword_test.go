package shellword

import (
	"os/exec"
	"slices"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sfmcp-token", "sfmcp-token"},
		{"/usr/local/bin/sfmcp-token", "/usr/local/bin/sfmcp-token"},
		{"", "''"},
		{"/opt/my tools/sfmcp-token", "'/opt/my tools/sfmcp-token'"},
		{"it's", `'it'\''s'`},
		{"$(id)", "'$(id)'"},
		{"a\nb", "'a\nb'"},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestJoin(t *testing.T) {
	if got, want := Join("sfmcp-token", "mcp", "add", "it's", "--server", "a b"), `sfmcp-token mcp add 'it'\''s' --server 'a b'`; got != want {
		t.Fatalf("Join = %s, want %s", got, want)
	}
	if got := Join(); got != "" {
		t.Fatalf("Join() = %q", got)
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		line string
		want []string
		ok   bool
	}{
		{"sfmcp-token headers --profile prod", []string{"sfmcp-token", "headers", "--profile", "prod"}, true},
		{"'/opt/my tools/sfmcp-token' headers --profile 'it'\\''s'", []string{"/opt/my tools/sfmcp-token", "headers", "--profile", "it's"}, true},
		{"a\\ b\t 'c d' e\\'f ''", []string{"a b", "c d", "e'f", ""}, true},
		{"", nil, true},
		{"sfmcp-token headers \\\nrm", nil, false}, // a line continuation
		{"sfmcp-token headers --profile $(id)", nil, false},
		{"'open", nil, false},
		{"x #comment", nil, false},
		{"a;b", nil, false},
		{"`id`", nil, false},
		{`"q"`, nil, false},
		{"~/bin/sfmcp-token", nil, false},
	} {
		words, ok := Split(c.line)
		if ok != c.ok || !slices.Equal(words, c.want) {
			t.Errorf("Split(%q) = %q %v, want %q %v", c.line, words, ok, c.want, c.ok)
		}
	}
}

// What Quote writes, sh reads as the same one word.
func TestQuoteAsShReadsIt(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh here")
	}
	for _, s := range []string{"plain", "", "it's", "a b\tc", "$(id) `id` ${HOME}", "a\nb", "\\", "'", "*?[]~#;&|<>"} {
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh -c printf %%s %s: %q (%v), want %q", Quote(s), out, err, s)
		}
	}
}

// FuzzQuoteSplit: whatever the line, Split does not panic; the words it
// accepts, quoted again with Quote, split back into the same words; and
// any string Quote quotes splits back into just that string.
func FuzzQuoteSplit(f *testing.F) {
	for _, s := range []string{
		"sfmcp-token headers --profile prod", "'/opt/my tools/sfmcp-token' headers --profile 'it'\\''s'",
		"sfmcp-token headers \\\nrm", "sfmcp-token headers --profile $(id)", "a\\ b 'c d' e\\'f", "''", "'open",
		"a\tb  c", "x #comment", "a;b", "`id`", "\"q\"", "\\", "a\\", "~/bin/sfmcp-token headers", "\x00\xff",
	} {
		f.Add(s, "prod")
	}
	f.Fuzz(func(t *testing.T, line, s string) {
		if words, ok := Split(line); ok {
			again := Join(words...)
			if back, ok := Split(again); !ok || !slices.Equal(back, words) {
				t.Fatalf("%q splits into %q; quoted again as %q it splits into %q (%v)", line, words, again, back, ok)
			}
		}
		q := Quote(s)
		if words, ok := Split(q); !ok || !slices.Equal(words, []string{s}) {
			t.Fatalf("Quote(%q) = %q splits into %q (%v)", s, q, words, ok)
		}
	})
}
