// Command floor is the smallest Go program that prints a line: the
// start-up floor sfmcp-token's own start-up is compared against.
package main

import "os"

func main() { os.Stdout.WriteString("floor\n") }
