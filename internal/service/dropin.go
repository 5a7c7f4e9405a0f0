package service

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// dropInPath is the drop-in that gives the unit, the packaged one or the
// user's own, this user's sfmcp environment.
func (s *Service) dropInPath() string {
	return filepath.Join(s.home, ".config", "systemd", "user", Name+".service.d", "sfmcp-environment.conf")
}

// writeDropIn writes the environment drop-in, or removes it (when !write,
// or when there is nothing to set).
func (s *Service) writeDropIn(write bool) error {
	dropIn := s.dropInPath()
	env := Environment(s.getenv)
	if !write || len(env) == 0 {
		if err := os.Remove(dropIn); err != nil && !errors.Is(err, os.ErrNotExist) {
			return &Error{Kind: Files, Err: fmt.Errorf("remove %s: %w", dropIn, err), Advice: "remove it by hand"}
		}
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		// systemd drops an assignment that is not UTF-8, with only a
		// journal line: the service would run without it.
		if !utf8.ValidString(env[k]) {
			return &Error{Kind: BadEnvironment, Err: fmt.Errorf("%s is not UTF-8 text, which systemd would drop from the service", k), Advice: "set " + k + " to a UTF-8 value, then run this again"}
		}
	}
	if err := atomicfile.Write(dropIn, []byte(DropIn(env)), 0o600); err != nil {
		return &Error{Kind: Files, Err: fmt.Errorf("write %s: %w", dropIn, err), Advice: "check that you can write " + filepath.Dir(dropIn)}
	}
	return nil
}

// DropIn is a unit drop-in that sets env for the service.
func DropIn(env map[string]string) string {
	var b strings.Builder
	b.WriteString("# Written by sfmcp-token service install: this user's sfmcp settings for\n# the sfmcp unit. sfmcp-token service uninstall removes it.\n[Service]\n")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		b.WriteString(environmentLine(k, env[k]) + "\n")
	}
	return b.String()
}

// environmentLine is a unit's Environment= line setting k to v, quoted as
// systemd unquotes it: a newline cannot start another directive, and %
// is doubled so systemd expands no specifier (%h, %u) in the value.
func environmentLine(k, v string) string {
	var b strings.Builder
	b.WriteString(`Environment="`)
	for _, c := range []byte(k + "=" + v) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '%':
			b.WriteString("%%")
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
