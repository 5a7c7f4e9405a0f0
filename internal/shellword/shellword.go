// Package shellword owns POSIX shell word syntax as sfmcp writes it:
// Quote makes one word of any string for /bin/sh (a headersHelper is run
// through sh -c; commands sfmcp prints are pasted into a shell), and Split
// reads back a line of such words. Split refuses everything else a shell
// would act on (expansions, operators, double quotes), so what it accepts
// is exactly what sh would run. Other languages are quoted beside what
// they quote (SQL in internal/snowflake, TOML in internal/mcpclients,
// systemd in internal/service). It imports nothing of sfmcp.
package shellword

import "strings"

// safe are the bytes a word may hold unquoted: none is special to sh.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,"

// Quote quotes s for a POSIX shell when it needs it.
func Quote(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join is a command line that runs words: each one quoted when it needs it.
func Join(words ...string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = Quote(w)
	}
	return strings.Join(quoted, " ")
}

// Split splits a command line as /bin/sh would for the quoting Quote
// writes: single quotes and backslashes. ok is false for anything else a
// shell would treat specially (expansions, operators, double quotes),
// which sfmcp never writes.
func Split(line string) (words []string, ok bool) {
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			if c == '\'' {
				quoted = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(line) && line[i+1] != '\n':
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case strings.IndexByte("\"$`;&|<>()*?[]{}~#\n", c) >= 0:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, false
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}
