// Package snowflake owns what sfmcp says to Snowflake in SQL: identifiers
// and literals quoted safely, the administrator's setup statements, and the
// SQL API v2 client that runs them. Nothing user-supplied reaches SQL
// without passing through Ident, Name or Literal.
package snowflake

import (
	"fmt"
	"strings"

	"github.com/sfmcp/sfmcp/config"
)

// Ident quotes one identifier part. A plain identifier (letters, digits,
// _ and $, not starting with a digit or $) is upper-cased and left
// unquoted, as Snowflake would resolve it; anything else is double-quoted
// with embedded quotes doubled. "Already quoted" input keeps its case.
func Ident(s string) (string, error) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		inner := s[1 : len(s)-1]
		if strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) {
			return "", fmt.Errorf("identifier %s: a quote inside must be doubled", s)
		}
		s = strings.ReplaceAll(inner, `""`, `"`)
		return quoteIdent(s)
	}
	if config.PlainIdentifier(s) {
		if len(s) > 255 {
			return "", fmt.Errorf("identifier %q is longer than 255 characters", s)
		}
		return strings.ToUpper(s), nil
	}
	return quoteIdent(s)
}

func quoteIdent(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty identifier")
	}
	if len(s) > 255 {
		return "", fmt.Errorf("identifier %q is longer than 255 characters", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("identifier %q contains a control character", s)
		}
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`, nil
}

// Name quotes a dotted name with exactly parts parts, e.g. DB.SCHEMA.OBJ
// (parts may be "quoted" and contain dots).
func Name(s string, parts int) (string, error) {
	split, err := splitName(s)
	if err != nil {
		return "", fmt.Errorf("name %q: %w", s, err)
	}
	if len(split) != parts {
		want := map[int]string{1: "NAME", 2: "DATABASE.SCHEMA", 3: "DATABASE.SCHEMA.NAME"}[parts]
		return "", fmt.Errorf("name %q: give it as %s", s, want)
	}
	out := make([]string, len(split))
	for i, p := range split {
		q, err := Ident(p)
		if err != nil {
			return "", err
		}
		out[i] = q
	}
	return strings.Join(out, "."), nil
}

// splitName splits on dots outside double quotes, keeping the quotes.
func splitName(s string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			cur.WriteByte(c)
		case c == '.' && !inQuote:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote")
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("empty part")
		}
	}
	return parts, nil
}

// Literal quotes a string literal: single quotes doubled and backslashes
// escaped (Snowflake treats backslash as an escape in '…' literals).
func Literal(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Unquoted returns the object's name as Snowflake stores it (for functions
// such as SYSTEM$SHOW_OAUTH_CLIENT_SECRETS that take the name as a string).
func Unquoted(quoted string) string {
	if strings.HasPrefix(quoted, `"`) {
		return strings.ReplaceAll(quoted[1:len(quoted)-1], `""`, `"`)
	}
	return quoted
}
