package ident

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// FuzzParse: whatever text is given as a name, the parser never panics;
// every part it accepts can name an object (Check); quoting the parts
// gives text that reads back as exactly those parts, is a sequence of
// identifier tokens joined by dots, and, put into a statement, leaves it
// one statement with nothing of the name outside its quotes. Any string
// Check accepts survives Quote then Parse and ParseOne unchanged, whether
// the parser accepted the input or not.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"db.public.gong_mcp", `"my.db".PUBLIC.X`, `"My DB".PUBLIC."x.y"`, `"a""b"`, "R$1", "R$$1",
		`D." TO ROLE R; DROP --.".M`, "mcp_users", "jane@example", `"jane.doe@example.com"`,
		"x' ; DROP DATABASE PROD; --", `x"; DROP TABLE y; --`, "a.b", "", ".", "..", `""`, `"""`, `""""`,
		`"a".`, `"a"b`, `a"b`, `"open`, "a\nb", "a\x00b", "\"\u202e\"", "é", `"名"."é"`, "1abc", "$x",
		"/* c */", "-- c", "// c", "$$ $$", `"a"."b"."c"."d"`, "a\tb", `"\xff"`, "\xff",
		strings.Repeat("a", MaxLen+1), `"` + strings.Repeat(`""`, 200) + `"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = Plain(s) // must not panic on anything
		if parts, err := Parse(s); err == nil {
			if len(parts) == 0 {
				t.Fatalf("Parse(%q) accepted no parts", s)
			}
			for _, p := range parts {
				if err := Check(p); err != nil {
					t.Fatalf("Parse(%q) accepted part %q that Check refuses: %v", s, p, err)
				}
				hidden(t, s, p)
			}
			joined := Join(parts...)
			if back, err := Parse(joined); err != nil || !slices.Equal(back, parts) {
				t.Fatalf("Parse(%q) = %q; its quoted form %s reads back as %q (%v)", s, parts, joined, back, err)
			}
			if got := identTokens(t, joined); got != len(parts) {
				t.Fatalf("Parse(%q) = %q; its quoted form %s holds %d identifiers", s, parts, joined, got)
			}
			oneStatement(t, joined)
		}
		if p, err := ParseOne(s); err == nil {
			if err := Check(p); err != nil {
				t.Fatalf("ParseOne(%q) accepted %q that Check refuses: %v", s, p, err)
			}
			hidden(t, s, p)
			if back, err := Parse(Quote(p)); err != nil || !slices.Equal(back, []string{p}) {
				t.Fatalf("ParseOne(%q) = %q; Quote gives %s, which reads back as %q (%v)", s, p, Quote(p), back, err)
			}
			if Plain(s) && p != strings.ToUpper(s) {
				t.Fatalf("ParseOne(%q) = %q: a plain name reads upper-cased", s, p)
			}
		}
		if Check(s) == nil {
			q := Quote(s)
			if back, err := Parse(q); err != nil || !slices.Equal(back, []string{s}) {
				t.Fatalf("Quote(%q) = %s reads back as %q (%v)", s, q, back, err)
			}
			if back, err := ParseOne(q); err != nil || back != s {
				t.Fatalf("Quote(%q) = %s: ParseOne reads %q (%v)", s, q, back, err)
			}
			if identTokens(t, q) != 1 {
				t.Fatalf("Quote(%q) = %s is not one identifier", s, q)
			}
			oneStatement(t, q)
		}
		// Quote is total: even text Check refuses comes out as one
		// identifier token that cannot leave its quotes.
		if identTokens(t, Quote(s)) != 1 {
			t.Fatalf("Quote(%q) = %s is not one identifier", s, Quote(s))
		}
	})
}

// hidden fails when a name read from s holds what a terminal or a log
// would act on or not show: invalid UTF-8, control characters, line
// separators and bidirectional controls.
func hidden(t *testing.T, s, part string) {
	t.Helper()
	if !utf8.ValidString(part) {
		t.Fatalf("%q was read as %q, which is not UTF-8", s, part)
	}
	for _, r := range part {
		if unicode.Is(unicode.Cc, r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) && r != '\u200e' && r != '\u200f' && r != '\u061c' {
			t.Fatalf("%q was read as %q, which holds %U", s, part, r)
		}
	}
}

// identTokens counts the identifiers in name, which must be identifiers
// joined by dots: bare ones (plain, upper case, no $$) or "quoted" ones
// whose only quotes are doubled.
func identTokens(t *testing.T, name string) int {
	t.Helper()
	n := 0
	for rest := name; ; {
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for {
				i := strings.IndexByte(rest[end:], '"')
				if i < 0 {
					t.Fatalf("%s: unterminated quote", name)
				}
				end += i + 1
				if !strings.HasPrefix(rest[end:], `"`) {
					break
				}
				end++
			}
			rest = rest[end:]
		} else {
			end := strings.IndexByte(rest, '.')
			if end < 0 {
				end = len(rest)
			}
			bare := rest[:end]
			if !Plain(bare) || bare != strings.ToUpper(bare) || strings.Contains(bare, "$$") {
				t.Fatalf("%s: %q is not a bare identifier Snowflake reads unchanged", name, bare)
			}
			rest = rest[end:]
		}
		n++
		if rest == "" {
			return n
		}
		if rest[0] != '.' {
			t.Fatalf("%s: %q follows an identifier", name, rest)
		}
		rest = rest[1:]
	}
}

// oneStatement puts name into statements as sfmcp writes them and checks
// that the script splits into exactly those statements.
func oneStatement(t *testing.T, name string) {
	t.Helper()
	want := []string{"GRANT USAGE ON DATABASE " + name + " TO ROLE " + name, "DROP USER IF EXISTS " + name, "SELECT 1"}
	got, err := snowflaketest.SplitSQL(strings.Join(want, ";\n") + ";")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("%s in statements splits them into %q (%v)", name, got, err)
	}
}
