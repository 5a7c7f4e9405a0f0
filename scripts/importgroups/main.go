// Command importgroups checks that every Go file given groups its imports
// as the project does: the standard library, then other modules, then
// this module, each group once, separated by a blank line. CI runs it on
// every tracked file: go run ./scripts/importgroups $(git ls-files '*.go').
package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

const module = "github.com/sfmcp/sfmcp"

func main() {
	bad := 0
	for _, path := range os.Args[1:] {
		for _, problem := range check(path) {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, problem)
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintln(os.Stderr, "group imports as: standard library, other modules, "+module+" (a blank line between groups)")
		os.Exit(1)
	}
}

// kind orders the groups: 0 standard library, 1 other modules, 2 ours.
func kind(importPath string) int {
	switch {
	case importPath == module || strings.HasPrefix(importPath, module+"/"):
		return 2
	case strings.Contains(strings.Split(importPath, "/")[0], "."):
		return 1
	}
	return 0
}

func check(path string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	lastLine, lastKind, seen := -1, -1, map[int]bool{}
	for _, imp := range f.Imports {
		line := fset.Position(imp.Pos()).Line
		k := kind(strings.Trim(imp.Path.Value, `"`))
		newGroup := lastLine >= 0 && line > lastLine+1
		switch {
		case lastLine < 0:
		case !newGroup && k != lastKind:
			problems = append(problems, fmt.Sprintf("line %d: %s is in the same group as imports of another kind", line, imp.Path.Value))
		case newGroup && (k <= lastKind || seen[k]):
			problems = append(problems, fmt.Sprintf("line %d: %s starts a group out of order (or a second group of its kind)", line, imp.Path.Value))
		}
		if lastLine < 0 || newGroup {
			seen[k] = true
		}
		lastLine, lastKind = line, k
	}
	return problems
}
