package snowflaketest

import (
	"slices"
	"testing"
)

func TestSplitSQL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"-- a comment; not a statement\nSELECT 1;\n\n", []string{"SELECT 1"}},
		{"// also a comment;\nSELECT 1", []string{"SELECT 1"}},
		{"SELECT /* ; */ 1", []string{"SELECT   1"}},
		{`SELECT 'it''s; fine'`, []string{`SELECT 'it''s; fine'`}},
		{`SELECT 'back\'slash; still inside'`, []string{`SELECT 'back\'slash; still inside'`}},
		{`SELECT 'x\\'; DROP DATABASE PROD`, []string{`SELECT 'x\\'`, "DROP DATABASE PROD"}},
		{`GRANT ROLE "a"";b" TO USER "x.y;--"`, []string{`GRANT ROLE "a"";b" TO USER "x.y;--"`}},
		{"CREATE MCP SERVER X FROM SPECIFICATION $$\na: 'b; c' \"d\n$$;", []string{"CREATE MCP SERVER X FROM SPECIFICATION $$\na: 'b; c' \"d\n$$"}},
		{"SELECT 'a' -- '\n; SELECT 2", []string{"SELECT 'a'", "SELECT 2"}},
		{";;  ;", nil},
	} {
		got, err := SplitSQL(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SplitSQL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`SELECT 'open`, `SELECT "open`, "SELECT /* open", "SELECT $$ open", `SELECT 'a\'`} {
		if got, err := SplitSQL(bad); err == nil {
			t.Errorf("SplitSQL(%q) = %q, want an error", bad, got)
		}
	}
}
