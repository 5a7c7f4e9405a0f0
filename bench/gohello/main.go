// Command gohello is the least a Go program can do: print a line. Through
// `sh -c` it shows what the Go runtime's start alone costs, next to git's
// C credential helper (bench/hotpath).
package main

import "os"

func main() { os.Stdout.WriteString(`{"Authorization":"Bearer x"}` + "\n") }
