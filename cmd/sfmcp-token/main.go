// Command sfmcp-token signs in to Snowflake and hands out short-lived tokens
// to MCP clients. All behaviour lives in package cli.
package main

import (
	"context"
	"os"

	"github.com/sfmcp/sfmcp/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), cli.OSEnv()))
}
