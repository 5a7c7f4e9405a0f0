// Command sfmcp-token signs in to Snowflake and hands out short-lived tokens
// to MCP clients. All behaviour lives in package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sfmcp/sfmcp/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.OSEnv())
	stop()
	os.Exit(code)
}
