package mcpclients

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Target chooses the files a command edits or lists.
type Target struct {
	Clients []string // client IDs; none means Claude Code
	// Scope "" is User, for every client: a user-scope entry needs no
	// approval and works in every directory (a project's is approved per
	// project), so the README and setup recommend it.
	Scope Scope
	File  string // a file the user named, for one client
}

// ErrOneClientFile: a named file is one client's, so a Target with File
// names one client.
var ErrOneClientFile = errors.New("a named file is one client's")

// UnknownClientError: no client has that ID.
type UnknownClientError struct{ ID string }

func (e *UnknownClientError) Error() string { return fmt.Sprintf("unknown MCP client %q", e.ID) }

// Open reads the chosen files; project is the project directory.
func (t Target) Open(e Env, project string) ([]*Config, error) {
	ids := t.Clients
	if len(ids) == 0 {
		ids = []string{"claude-code"}
	}
	if t.File != "" && len(ids) > 1 {
		return nil, ErrOneClientFile
	}
	var out []*Config
	for _, id := range ids {
		c, ok := Lookup(id)
		if !ok {
			return nil, &UnknownClientError{ID: id}
		}
		var cfg *Config
		var err error
		switch {
		case t.File != "":
			cfg, err = c.OpenFile(t.File)
		case t.Scope != "":
			cfg, err = c.Open(e, t.Scope, project)
		default:
			cfg, err = c.Open(e, User, project)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cfg)
	}
	return out, nil
}

// OpenAll opens every client's file in each scope keep allows, each file
// once (a project directory that is HOME holds user files). A file that
// cannot be read is left out: most belong to clients not in use.
func OpenAll(e Env, project string, keep func(Scope) bool) []*Config {
	var out []*Config
	seen := map[string]bool{}
	for _, c := range clients {
		for _, s := range c.Scopes(e) {
			if !keep(s) {
				continue
			}
			cfg, err := c.Open(e, s, project)
			if err != nil {
				continue
			}
			if abs, _ := filepath.Abs(cfg.Path); seen[abs] {
				continue
			} else {
				seen[abs] = true
			}
			out = append(out, cfg)
		}
	}
	return out
}
