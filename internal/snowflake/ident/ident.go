// Package ident owns Snowflake identifier syntax: reading a name the way
// Snowflake reads it (dotted parts; "quoted" parts that may hold dots and
// doubled quotes; unquoted parts upper-cased) and writing a part back so
// that it names exactly that object. It is the only parser of Snowflake
// names in sfmcp. It knows nothing of string literals (snowflake.Literal
// quotes those) and imports nothing of sfmcp, so config can use it too.
package ident

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is Snowflake's limit on an identifier, in characters.
const MaxLen = 255

// Plain reports whether s is an identifier that needs no quotes: ASCII
// letters, digits, _ and $, not starting with a digit or $.
func Plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '$')) {
			return false
		}
	}
	return true
}

// Check reports whether part, as Snowflake stores it, can name an object:
// 1 to 255 characters of valid UTF-8, no control characters and no
// bidirectional overrides (no one types them on purpose; terminals, logs
// and a printed plan would act on them or show something else).
func Check(part string) error {
	switch {
	case part == "":
		return errors.New("empty name")
	case !utf8.ValidString(part):
		return fmt.Errorf("%q is not valid UTF-8", part)
	case utf8.RuneCountInString(part) > MaxLen:
		return fmt.Errorf("%.40q… is longer than %d characters", part, MaxLen)
	}
	for _, r := range part {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r == '\u2028' || r == '\u2029' ||
			r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' {
			return fmt.Errorf("%q contains a control character", part)
		}
	}
	return nil
}

// Parse reads a dotted name (DB.SCHEMA.NAME, or fewer parts) into its parts
// as Snowflake stores them: an unquoted part must be plain and is
// upper-cased; a "quoted" part keeps its case and may hold dots, spaces and
// "" (one quote).
func Parse(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("empty name")
	}
	var parts []string
	for {
		var part string
		if s[0] == '"' {
			end, raw := 1, strings.Builder{}
			for {
				if end >= len(s) {
					return nil, errors.New(`unterminated quote: close it with " (and write a quote inside a name as "")`)
				}
				if s[end] == '"' {
					if end+1 < len(s) && s[end+1] == '"' {
						raw.WriteByte('"')
						end += 2
						continue
					}
					break
				}
				raw.WriteByte(s[end])
				end++
			}
			part, s = raw.String(), s[end+1:]
		} else {
			end := strings.IndexByte(s, '.')
			if end < 0 {
				end = len(s)
			}
			part, s = s[:end], s[end:]
			if strings.Contains(part, `"`) {
				return nil, fmt.Errorf("%q: a quote may only open or close a part; write a quote inside a name as \"\" within double quotes", part)
			}
			if !Plain(part) {
				if part == "" {
					return nil, errors.New("empty part between dots")
				}
				return nil, fmt.Errorf("%q is not a plain identifier (letters, digits, _ and $): put it in double quotes", part)
			}
			part = strings.ToUpper(part)
		}
		if err := Check(part); err != nil {
			return nil, err
		}
		parts = append(parts, part)
		if s == "" {
			return parts, nil
		}
		if s[0] != '.' {
			return nil, fmt.Errorf("unexpected %q after a quoted part: parts are separated by dots", s)
		}
		if s = s[1:]; s == "" {
			return nil, errors.New("trailing dot")
		}
	}
}

// ParseOne reads the name of one object given on its own (the value of
// --user or --role). Besides Parse's syntax it accepts a name that is
// neither plain nor quoted when it holds no dot and no double quote
// (jane@example.com, has space, it's): nothing else can be meant, so it is
// taken as written.
func ParseOne(s string) (string, error) {
	if s != "" && !Plain(s) && !strings.ContainsAny(s, `."`) {
		if err := Check(s); err != nil {
			return "", err
		}
		return s, nil
	}
	parts, err := Parse(s)
	if (err != nil || len(parts) != 1) && strings.Contains(s, ".") && !strings.Contains(s, `"`) {
		return "", fmt.Errorf("%q: give one name; if the dot is part of it, put the name in double quotes: %s", s, Quote(s))
	}
	if err != nil {
		return "", err
	}
	if len(parts) != 1 {
		return "", fmt.Errorf("%q has %d parts: give one name", s, len(parts))
	}
	return parts[0], nil
}

// Quote writes one part, as stored, for SQL: bare when Snowflake reads it
// back unchanged (plain and upper case, and no $$, which could open a
// dollar-quoted string), otherwise in double quotes with quotes inside
// doubled. Any string is safe to pass: the result is always exactly one
// identifier token.
func Quote(part string) string {
	if Plain(part) && part == strings.ToUpper(part) && !strings.Contains(part, "$$") {
		return part
	}
	return `"` + strings.ReplaceAll(part, `"`, `""`) + `"`
}

// Join writes a qualified name: each part quoted, joined with dots.
func Join(parts ...string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = Quote(p)
	}
	return strings.Join(q, ".")
}
