package snowflake

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// hostilePieces are what random names are made of: everything that ends a
// string, an identifier, a statement or a line in SQL, and some unicode.
var hostilePieces = []string{"a", "Z", "_", "1", "$", ".", `"`, `""`, "'", "''", ";", " ", "--", "//", "/*", "*/",
	`\`, `\'`, "é", "名", "DROP DATABASE PROD", ") ", "(", ","}

// refusedPieces are never valid in a name; they appear rarely, to show
// they are refused rather than passed on.
var refusedPieces = []string{"$$", "\n", "\r", "\t", "\x00", "\u202e", "\u2028"}

// randomName makes a name and writes it the way a user might: as typed,
// double-quoted (so it is taken exactly), or as a plain word.
func randomName(r *rand.Rand, parts int) string {
	out := make([]string, parts)
	for i := range out {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			if r.IntN(50) == 0 {
				b.WriteString(refusedPieces[r.IntN(len(refusedPieces))])
			} else {
				b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
			}
		}
		switch r.IntN(8) {
		case 0:
			out[i] = b.String() // raw: may be refused, must never inject
		case 1, 2:
			out[i] = "plain_" + string(rune('a'+r.IntN(26)))
		default:
			out[i] = `"` + strings.ReplaceAll(b.String(), `"`, `""`) + `"`
		}
	}
	return strings.Join(out, ".")
}

// splitsInto fails unless script holds exactly the statements want, as
// Snowflake's parser would split it.
func splitsInto(t *testing.T, script string, want []string, input any) {
	t.Helper()
	got, err := snowflaketest.SplitSQL(script)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("input %#v\nscript:\n%s\nsplits into %d statements (%v), want %d:\n%q\nwant:\n%q", input, script, len(got), err, len(want), got, want)
	}
}

func sqlOf(stmts []Statement) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s.SQL
	}
	return out
}

// TestSetupScriptSplitsIntoIntendedStatements: for random names, the
// script admin setup prints (statements plus the client-id query) holds
// exactly the statements intended, however the names try to break out.
func TestSetupScriptSplitsIntoIntendedStatements(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	accepted := 0
	for range 20000 {
		s := Setup{Integration: randomName(r, 1), MCPServer: randomName(r, 3), Role: randomName(r, 1),
			Tools: []Tool{{Type: ToolSearch, Object: randomName(r, 3)}, {Type: ToolAnalyst, Object: randomName(r, 3)},
				{Type: ToolAgent, Object: randomName(r, 3)}, {Type: ToolSQL}},
			GrantToRoles: []string{randomName(r, 1)}, GrantToUsers: []string{randomName(r, 1)}, SQLWarehouse: randomName(r, 1)}
		stmts, err := s.Statements()
		if err != nil {
			continue
		}
		accepted++
		all := append(stmts, Statement{What: "the client id", SQL: s.ShowSecretsSQL()})
		splitsInto(t, Script(all), sqlOf(all), s)
	}
	if accepted < 1000 {
		t.Fatalf("only %d of 20000 random setups were accepted: the test proves little", accepted)
	}
}

// TestPATScriptSplitsIntoIntendedStatements: the same for what pat create,
// remove and rotate generate.
func TestPATScriptSplitsIntoIntendedStatements(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	accepted := 0
	for range 20000 {
		a := ServiceAccount{User: randomName(r, 1), Role: randomName(r, 1), Database: randomName(r, 1),
			RuleSchema: randomName(r, 1), PolicySchema: randomName(r, 1), AllowIPs: []string{"203.0.113.7"}, AdminRole: randomName(r, 1)}
		if r.IntN(2) == 0 {
			a.TokenName = randomName(r, 1)
		}
		if err := a.Normalize(); err != nil {
			continue
		}
		accepted++
		steps := a.Steps()
		for _, remove := range []bool{false, true} {
			stmts := StepStatements(steps, remove)
			splitsInto(t, Script(stmts), sqlOf(stmts), a)
		}
		splitsInto(t, a.RotateSQL(24)+";\n"+a.ShowPATsSQL()+";\n"+a.DescribeUserSQL(), []string{a.RotateSQL(24), a.ShowPATsSQL(), a.DescribeUserSQL()}, a)
	}
	if accepted < 1000 {
		t.Fatalf("only %d of 20000 random accounts were accepted: the test proves little", accepted)
	}
}

// The examples from the security review, each with the statements it must
// produce.
func TestSetupNamesWithDotsAndQuotes(t *testing.T) {
	s := Setup{Integration: "i", Role: "R", Tools: []Tool{{Type: ToolSQL}},
		MCPServer: `D." TO ROLE R; DROP DATABASE PROD; --.".M`}
	stmts, err := s.Statements()
	if err != nil {
		t.Fatal(err)
	}
	script := Script(stmts)
	for _, want := range []string{
		"GRANT USAGE ON DATABASE D TO ROLE R",
		`GRANT USAGE ON SCHEMA D." TO ROLE R; DROP DATABASE PROD; --." TO ROLE R`,
		`GRANT USAGE ON MCP SERVER D." TO ROLE R; DROP DATABASE PROD; --.".M TO ROLE R`,
	} {
		if !slices.Contains(sqlOf(stmts), want) {
			t.Errorf("no statement %q in:\n%s", want, script)
		}
	}
	splitsInto(t, script, sqlOf(stmts), s)

	s.MCPServer = `"my.db".PUBLIC.X`
	stmts, err = s.Statements()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`GRANT USAGE ON DATABASE "my.db" TO ROLE R`, `GRANT USAGE ON SCHEMA "my.db".PUBLIC TO ROLE R`} {
		if !slices.Contains(sqlOf(stmts), want) {
			t.Errorf("no statement %q in:\n%s", want, Script(stmts))
		}
	}
}

func TestPATCommentsAreLiterals(t *testing.T) {
	a := ServiceAccount{User: "x' ; DROP DATABASE PROD; --", Role: "R", Database: "D", AllowIPs: []string{"10.0.0.1"}}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	stmts := StepStatements(a.Steps(), false)
	rule := stmts[1].SQL
	if !strings.HasSuffix(rule, `COMMENT = 'sfmcp: where x'' ; DROP DATABASE PROD; -- may connect from'`) {
		t.Fatalf("network rule: %s", rule)
	}
	splitsInto(t, Script(stmts), sqlOf(stmts), a)
	if got := ident.Quote(a.UserName()); got != `"x' ; DROP DATABASE PROD; --"` {
		t.Fatalf("user quoted as %s", got)
	}
}
