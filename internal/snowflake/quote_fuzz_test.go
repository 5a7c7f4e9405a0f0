package snowflake

import (
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// FuzzQuoteSQL: the quoting that puts text given on the command line or
// read from a file into SQL. Whatever the text, Literal writes one string
// literal that reads back as exactly that text and leaves a statement one
// statement; a name that Ident or Name accepts comes out as the parts it
// was read as, in the part count asked for, and stays inside its quotes in
// a statement, also when it is itself written as a literal (a network
// rule named in a policy).
func FuzzQuoteSQL(f *testing.F) {
	for _, s := range []string{
		"mcp_users", `"Mixed Case"`, "jane@example.com", "x' ; DROP DATABASE PROD; --", `it's \ fine`, `\'`, `\\'`,
		`'; DROP USER X; --`, "$$; DROP USER X; $$", "/* open", "*/", "// c", "a\nb", "\x00", "\xff", "",
		`"my.db".NETWORKS."r""1"`, "db.public.gong_mcp", `D." TO ROLE R; DROP --.".M`, "10.0.0.1/32", "é名",
	} {
		f.Add(s, uint8(1))
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		lit := Literal(s)
		if got := readLiteral(t, lit); got != s {
			t.Fatalf("Literal(%q) = %s reads back as %q", s, lit, got)
		}
		inStatements(t, "COMMENT = "+lit)
		if q, err := Ident(s); err == nil {
			p, err := ident.ParseOne(s)
			if err != nil {
				t.Fatalf("Ident(%q) = %s, yet ParseOne refuses it: %v", s, q, err)
			}
			if back, err := ident.Parse(q); err != nil || !slices.Equal(back, []string{p}) {
				t.Fatalf("Ident(%q) = %s reads back as %q (%v), not %q", s, q, back, err, p)
			}
			inStatements(t, "DROP USER IF EXISTS "+q)
		}
		parts := 1 + int(n%3)
		if q, err := Name(s, parts); err == nil {
			back, err := ident.Parse(q)
			if err != nil || len(back) != parts {
				t.Fatalf("Name(%q, %d) = %s reads back as %q (%v)", s, parts, q, back, err)
			}
			if again, err := Name(q, parts); err != nil || again != q {
				t.Fatalf("Name(%q, %d) = %s, and Name of that is %s (%v)", s, parts, q, again, err)
			}
			inStatements(t, "GRANT USAGE ON SCHEMA "+q+" TO ROLE "+q)
			// A name inside a literal (ALLOWED_NETWORK_RULE_LIST = ('…')).
			if inner, err := ident.Parse(readLiteral(t, Literal(q))); err != nil || !slices.Equal(inner, back) {
				t.Fatalf("Name(%q, %d) = %s, written as a literal, reads back as %q (%v)", s, parts, q, inner, err)
			}
			inStatements(t, "CREATE NETWORK POLICY P ALLOWED_NETWORK_RULE_LIST = ("+Literal(q)+")")
		}
	})
}

// readLiteral reads lit, which must be exactly one '…' literal using only
// the escapes Literal writes (a doubled quote, a doubled backslash), and
// returns the text it holds.
func readLiteral(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		t.Fatalf("%s is not quoted", lit)
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\\' && i+1 < len(body) && body[i+1] == '\\', c == '\'' && i+1 < len(body) && body[i+1] == '\'':
			b.WriteByte(c)
			i++
		case c == '\\' || c == '\'':
			t.Fatalf("%s: a lone %c at byte %d ends or escapes the literal early", lit, c, i+1)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// inStatements checks that stmt, between two others, keeps the script at
// three statements, each as written.
func inStatements(t *testing.T, stmt string) {
	t.Helper()
	want := []string{"SELECT 1", stmt, "SELECT 2"}
	if got, err := snowflaketest.SplitSQL(strings.Join(want, ";\n") + ";"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("%q splits the script into %q (%v)", stmt, got, err)
	}
}
