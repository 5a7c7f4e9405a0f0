package snowflaketest

import (
	"fmt"
	"strings"
)

// SplitSQL splits a script into statements as Snowflake's parser sees
// them: ';' ends a statement except inside a '…' string (with doubled
// quotes and backslash escapes), a "…" identifier (with ""), a $$…$$
// string, a line comment (-- or //) or a /* */ comment. Comments are
// dropped, each statement is trimmed, and empty statements are left out.
// An unterminated string, identifier or comment is an error: Snowflake
// would refuse the script.
//
// Tests use it to prove that printed and sent SQL holds exactly the
// statements intended, whatever the names in it; the stand-in uses it to
// refuse a request that carries more than one statement, as the SQL API
// does.
func SplitSQL(script string) ([]string, error) {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(script); {
		rest := script[i:]
		switch {
		case rest[0] == ';':
			flush()
			i++
		case strings.HasPrefix(rest, "--"), strings.HasPrefix(rest, "//"):
			end := strings.IndexByte(rest, '\n')
			if end < 0 {
				end = len(rest)
			}
			i += end
		case strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated /* comment at byte %d", i)
			}
			cur.WriteByte(' ')
			i += 2 + end + 2
		case strings.HasPrefix(rest, "$$"):
			end := strings.Index(rest[2:], "$$")
			if end < 0 {
				return nil, fmt.Errorf("unterminated $$ string at byte %d", i)
			}
			cur.WriteString(rest[:2+end+2])
			i += 2 + end + 2
		case rest[0] == '\'':
			n, err := scanQuoted(rest, '\'', true)
			if err != nil {
				return nil, fmt.Errorf("at byte %d: %w", i, err)
			}
			cur.WriteString(rest[:n])
			i += n
		case rest[0] == '"':
			n, err := scanQuoted(rest, '"', false)
			if err != nil {
				return nil, fmt.Errorf("at byte %d: %w", i, err)
			}
			cur.WriteString(rest[:n])
			i += n
		default:
			cur.WriteByte(rest[0])
			i++
		}
	}
	flush()
	return out, nil
}

// scanQuoted returns the length of the quoted token at the start of s:
// q…q with qq for one q, and with backslash escapes when backslash is set.
func scanQuoted(s string, q byte, backslash bool) (int, error) {
	for i := 1; i < len(s); i++ {
		switch {
		case backslash && s[i] == '\\':
			i++
		case s[i] == q && i+1 < len(s) && s[i+1] == q:
			i++
		case s[i] == q:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated %c…%c", q, q)
}
