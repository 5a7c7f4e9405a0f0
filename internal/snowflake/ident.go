// Package snowflake owns what sfmcp says to Snowflake in SQL: the
// administrator's setup statements, the service-account plan and its
// manifest, and the SQL API v2 client that runs them. Every statement is
// generated here from validated data: names are read by package ident and
// written back with ident.Quote, strings with Literal. Nothing read from a
// file or a flag is ever executed as SQL.
package snowflake

import (
	"fmt"
	"strings"

	"github.com/sfmcp/sfmcp/internal/snowflake/ident"
)

// Ident quotes the name of one object given on its own (see
// ident.ParseOne): plain names are upper-cased and left bare, "quoted"
// names keep their case, and anything else is quoted as written.
func Ident(s string) (string, error) {
	p, err := ident.ParseOne(s)
	if err != nil {
		return "", err
	}
	return ident.Quote(p), nil
}

// Name quotes a dotted name with exactly parts parts, e.g. DB.SCHEMA.OBJ
// (parts may be "quoted" and contain dots).
func Name(s string, parts int) (string, error) {
	p, err := nameParts(s, parts)
	if err != nil {
		return "", err
	}
	return ident.Join(p...), nil
}

// nameParts reads a name of exactly n parts, as Snowflake stores them.
func nameParts(s string, n int) ([]string, error) {
	if n == 1 {
		p, err := ident.ParseOne(s)
		if err != nil {
			return nil, fmt.Errorf("name %q: %w", s, err)
		}
		return []string{p}, nil
	}
	p, err := ident.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("name %q: %w", s, err)
	}
	if len(p) != n {
		want := map[int]string{2: "DATABASE.SCHEMA", 3: "DATABASE.SCHEMA.NAME"}[n]
		return nil, fmt.Errorf("name %q: give it as %s", s, want)
	}
	return p, nil
}

// Literal quotes a string literal: single quotes doubled and backslashes
// escaped (Snowflake treats backslash as an escape in '…' literals).
func Literal(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
