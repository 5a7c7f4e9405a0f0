// Command sfmcp-token-full has every sfmcp-token command; sfmcp-token hands
// it everything but the hot path (headers, token). All behaviour lives in
// package cli.
package main

import (
	"context"
	"os"

	"github.com/sfmcp/sfmcp/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), cli.OSEnv()))
}
