package mcpclients

import (
	"path/filepath"
	"slices"
	"strings"
)

// Use is one of sfmcp's entries and the file it is in.
type Use struct {
	Config *Config
	Name   string
	Ours   Ours
}

// Uses lists sfmcp's entries in every client's files, the user's and
// the project's, walked as List walks them without a target; keep
// chooses which (nil: all). Another program's entry is never listed.
func Uses(e Env, project string, keep func(Ours) bool) []Use {
	var out []Use
	for _, cfg := range OpenAll(e, project, func(Scope) bool { return true }) {
		names, entries, err := cfg.Entries()
		if err != nil {
			continue
		}
		for _, n := range names {
			if o, ok := ParseEntry(entries[n]).Ours(); ok && (keep == nil || keep(o)) {
				out = append(out, Use{Config: cfg, Name: n, Ours: o})
			}
		}
	}
	return out
}

// Where names u's file for people: its path (home as ~), its client and
// its scope, e.g. "~/.claude.json, Claude Code user scope". A project's
// file is anyone's, so the path is made printable.
func (u Use) Where(home string) string {
	path := u.Config.Path
	if rel, err := filepath.Rel(home, path); home != "" && err == nil && filepath.IsAbs(path) && !strings.HasPrefix(rel, "..") {
		path = filepath.Join("~", rel)
	}
	where := Printable(path) + ", " + u.Config.Client.Name
	if u.Config.Scope != "" {
		where += " " + string(u.Config.Scope) + " scope"
	}
	return where
}

// RemoveUses deletes uses' entries from their files, in memory and all or
// none as Remove does (an *EditError), and returns the files to save,
// each once. An entry that is no longer sfmcp's is refused, never
// removed.
func RemoveUses(uses []Use) ([]*Config, error) {
	var changed []*Config
	for _, u := range uses {
		u.Config.Force = false
		if _, err := u.Config.Remove(u.Name); err != nil {
			return nil, &EditError{Config: u.Config, Err: err}
		}
		if !slices.Contains(changed, u.Config) {
			changed = append(changed, u.Config)
		}
	}
	return changed, nil
}
