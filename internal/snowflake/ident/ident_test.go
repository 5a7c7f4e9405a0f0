package ident

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string][]string{
		"db.public.gong_mcp":         {"DB", "PUBLIC", "GONG_MCP"},
		`"my.db".PUBLIC.X`:           {"my.db", "PUBLIC", "X"},
		`"My DB".PUBLIC."x.y"`:       {"My DB", "PUBLIC", "x.y"},
		`"a""b"`:                     {`a"b`},
		`R$1`:                        {"R$1"},
		`D." TO ROLE R; DROP --.".M`: {"D", " TO ROLE R; DROP --.", "M"},
	} {
		got, err := Parse(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "DB..X", "DB.", ".X", `"open.b.c`, `a"b`, `"a"b`, `"a".`, "DB.PUB LIC.X", `x"; DROP`, `""`, "a\nb", `"a` + "\x00" + `"`, `"` + strings.Repeat("a", 256) + `"`, "\"\u202e\""} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseOne(t *testing.T) {
	for in, want := range map[string]string{
		"mcp_users":                   "MCP_USERS",
		`"Mixed Case"`:                "Mixed Case",
		"has space":                   "has space",
		"jane@example":                "jane@example",
		`"jane.doe@example.com"`:      "jane.doe@example.com",
		"x' ; DROP DATABASE PROD; --": "x' ; DROP DATABASE PROD; --",
		"1abc":                        "1abc",
	} {
		got, err := ParseOne(in)
		if err != nil || got != want {
			t.Errorf("ParseOne(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a.b", "jane@example.com", `x"; DROP TABLE y; --`, `"a"b"`, "a\tb", strings.Repeat("é", 256)} {
		if got, err := ParseOne(bad); err == nil {
			t.Errorf("ParseOne(%q) = %q, want an error", bad, got)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"MCP_USERS": "MCP_USERS",
		"mcp_users": `"mcp_users"`,
		`a"b`:       `"a""b"`,
		"my.db":     `"my.db"`,
		"1ABC":      `"1ABC"`,
		"R$1":       "R$1",
		"R$$1":      `"R$$1"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := Join("my.db", "PUBLIC", `x"y`); got != `"my.db".PUBLIC."x""y"` {
		t.Errorf("Join = %s", got)
	}
}

// TestRoundTrip: whatever a part holds, Quote writes something Parse reads
// back as that very part, and Join keeps the part count.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "_", "$", "1", ".", `"`, `""`, "'", ";", " ", "--", "/*", `\`, "é", "名"}
	for range 5000 {
		n := 1 + r.IntN(3)
		parts := make([]string, n)
		for i := range parts {
			var b strings.Builder
			for range 1 + r.IntN(8) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			parts[i] = b.String()
		}
		got, err := Parse(Join(parts...))
		want := slices.Clone(parts)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Parse(Join(%q)) = %q, %v", parts, got, err)
		}
	}
}
