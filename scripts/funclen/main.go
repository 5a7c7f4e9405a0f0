// Command funclen checks that no function of the project's code is longer
// than 80 lines, from its func line to its closing brace: a longer one does
// more than one thing. Tests are exempt. CI runs it on every tracked file:
// go run ./scripts/funclen $(git ls-files '*.go').
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

const maxLines = 80

func main() {
	fset := token.NewFileSet()
	bad := 0
	for _, path := range os.Args[1:] {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.Body.End())
			if n := end.Line - start.Line + 1; n > maxLines {
				fmt.Fprintf(os.Stderr, "%s:%d: %s is %d lines (at most %d)\n", path, start.Line, fn.Name.Name, n, maxLines)
				bad++
			}
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
