package mcpclients

import (
	"path/filepath"
	"slices"
	"testing"
)

// Search says which files it read, so that an empty listing can say
// where it looked: the named client's file of the scope asked, or every
// client's files of that scope.
func TestSearchNamesTheFilesRead(t *testing.T) {
	home, project := t.TempDir(), t.TempDir()
	e := Env{Home: home, GOOS: "linux", Getenv: func(string) string { return "" }}
	for _, tc := range []struct {
		name   string
		target Target
		want   Searched // one of the files searched
		scopes []Scope  // every scope searched
	}{
		{"one client, project scope", Target{Clients: []string{"claude-code"}, Scope: Project},
			Searched{Client: "Claude Code", Scope: Project, File: filepath.Join(project, ".mcp.json")}, []Scope{Project}},
		{"every client, user scope", Target{Scope: User},
			Searched{Client: "Claude Code", Scope: User, File: filepath.Join(home, ".claude.json")}, []Scope{User}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listed, searched, err := Search(e, project, tc.target, "")
			if err != nil || len(listed) != 0 {
				t.Fatalf("listed %v, %v", listed, err)
			}
			if !slices.Contains(searched, tc.want) {
				t.Errorf("searched %v, want %v among them", searched, tc.want)
			}
			for _, s := range searched {
				if !slices.Contains(tc.scopes, s.Scope) {
					t.Errorf("searched %v, of a scope not asked for", s)
				}
			}
		})
	}
}
