package mcpclients

import "testing"

// What a project's file names reaches the terminal as text: anything a
// terminal acts on (escapes, a carriage return, a bidirectional override
// that reorders what is shown) is quoted; plain names, spaces and other
// scripts are not.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"snowflake":            "snowflake",
		"my server":            "my server",
		"データ":                  "データ",
		"/home/u/.mcp.json":    "/home/u/.mcp.json",
		"evil\x1b]0;owned\x07": `"evil\x1b]0;owned\a"`,
		"ok\rfake":             `"ok\rfake"`,
		"abc\u202edcba":        `"abc\u202edcba"`,
		"tab\there":            `"tab\there"`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %s, want %s", in, got, want)
		}
	}
}
